// The gate's switch through the instance agent (issue 19): `set_gate_config {enabled, packs}` writes
// plugins.entries.tropic-gate.config of openclaw.json, and
//  - a REAL OpenClaw gateway with the gate plugin (plugin/test/harness.ts, scripted model) stops gating
//    when it is off (an `rm -rf` the base pack denies runs) and gates again at once when it is on (the
//    next turn's `rm -rf` is blocked); the agent's report of the gate is what that gateway runs;
//  - the hardening audit of the same kind of state directory reports the gate off (CRIT gate.enabled),
//    and Tropic's own writes of the switch are not integrity incidents.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Instance } from "../../plugin/test/harness.ts";
import { type CommandContext, ensureBaseConfig, runCommand } from "../src/commands.ts";
import { loadedState } from "../src/gateway-rpc.ts";
import { runHardeningOp } from "../src/hardening.ts";
import type { AuditResult, IntegrityResult } from "../src/protocol.ts";

const DEFAULT_PACKS = { base: true, system: false, owasp: false };

describe("the gate's switch in a real OpenClaw gateway, through the agent's set_gate_config", { timeout: 600_000 }, () => {
  const inst = new Instance();
  const victims = ["off", "on"].map((n) => join(inst.root, `victim-${n}`));
  let ctx: CommandContext;

  before(async () => {
    for (const v of victims) {
      mkdirSync(join(v, "keep"), { recursive: true });
      writeFileSync(join(v, "keep", "file.txt"), "precious\n");
    }
    inst.model.script("rmoff", [{ name: "exec", arguments: { command: `rm -rf ${victims[0]}` } }]);
    inst.model.script("rmon", [{ name: "exec", arguments: { command: `rm -rf ${victims[1]}` } }]);
    await inst.start();
    const gateway = { url: `ws://127.0.0.1:${inst.port}`, token: inst.token };
    ctx = {
      stateDir: inst.stateDir,
      configPath: inst.configPath,
      gatewayLog: inst.logPath,
      owner: null,
      restartGateway: async () => true,
      gatewayRunning: () => true,
      status: async () => ({}) as never,
      gateway,
      gatewayReady: () =>
        fetch(`http://127.0.0.1:${inst.port}/readyz`).then(
          (r) => r.ok,
          () => false,
        ),
    };
  });
  after(async () => {
    await inst.stop();
  });

  test("off: the gateway runs without the gate (a denied rm -rf runs) and says so; on again: the very next call is blocked", async () => {
    // on: what the running gateway has
    assert.deepEqual((await loadedState(ctx.gateway!)).gate, { enabled: true, packs: DEFAULT_PACKS });

    let t0 = Date.now();
    await runCommand(ctx, "set_gate_config", { gateSwitch: true, config: { enabled: false, packs: DEFAULT_PACKS } });
    const offMs = Date.now() - t0;
    assert.deepEqual(inst.readConfig().plugins.entries["tropic-gate"].config.enabled, false, "openclaw.json has it");
    assert.deepEqual((await loadedState(ctx.gateway!)).gate, { enabled: false, packs: DEFAULT_PACKS }, "the gateway runs it");
    const off = await inst.turn("rmoff");
    assert.equal(off.result.status, "ok");
    assert.equal(existsSync(victims[0]!), false, "with the gate off, the rm -rf the base pack denies ran");
    assert.match(inst.log(), /disabled by config \(enabled: false\): tool calls are not gated/);

    t0 = Date.now();
    await runCommand(ctx, "set_gate_config", { gateSwitch: true, config: { enabled: true, packs: DEFAULT_PACKS } });
    const onMs = Date.now() - t0;
    assert.deepEqual((await loadedState(ctx.gateway!)).gate, { enabled: true, packs: DEFAULT_PACKS });
    // at once: the first turn after the command returned is gated
    const on = await inst.turn("rmon");
    assert.equal(on.result.status, "ok");
    assert.ok(existsSync(join(victims[1]!, "keep", "file.txt")), "with the gate on again, the rm -rf is blocked");
    await inst.auditLine((e) => e.tool === "exec" && e.decision === "DENY" && e.paramsDigest?.includes(victims[1]!));
    process.stderr.write(`# gate switch applied by the running gateway: off in ${offMs} ms, on in ${onMs} ms\n`);
  });
});

test("the hardening audit reports the gate off (CRIT gate.enabled) and clean again when it is on; the switch is no integrity incident", async (t) => {
  const root = mkdtempSync(join(tmpdir(), "tropic-gate-switch-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const stateDir = join(root, "home", ".openclaw");
  const pluginDir = join(root, "plugin");
  mkdirSync(pluginDir);
  writeFileSync(join(pluginDir, "openclaw.plugin.json"), JSON.stringify({ id: "tropic-gate", configSchema: {} }));
  writeFileSync(join(pluginDir, "index.js"), "export default { id: 'tropic-gate' };\n");
  for (const d of ["workspace", "skills", ".sondera"]) mkdirSync(join(stateDir, d), { recursive: true, mode: 0o2770 });
  writeFileSync(join(stateDir, ".sondera", "audit.log"), "");
  const ctx: CommandContext = {
    stateDir,
    homeDir: join(root, "home"),
    configPath: join(stateDir, "openclaw.json"),
    gatewayLog: join(root, "gateway.log"),
    owner: null,
    restartGateway: async () => true,
    gatewayRunning: () => false,
    status: async () => ({}) as never,
    hardening: runHardeningOp,
    hostFacts: { kind: "local", isolation: { kind: "bubblewrap", detail: "test" } },
  };
  ensureBaseConfig(ctx, { gatewayToken: "a".repeat(48), basePath: "/i/x", pluginDir, workspace: join(stateDir, "workspace") });
  const gateFinding = async () =>
    ((await runCommand(ctx, "audit", { kind: "deploy" })) as AuditResult).report.findings.find((f) => f.id === "gate.enabled");
  await runCommand(ctx, "integrity", {}); // the baseline
  assert.equal(await gateFinding(), undefined, "on: no finding");

  await runCommand(ctx, "set_gate_config", { gateSwitch: true, config: { enabled: false, packs: DEFAULT_PACKS } });
  const off = await gateFinding();
  assert.ok(off, "off: a finding");
  assert.equal(off.severity, "CRIT");
  assert.match(off.evidence, /plugins\.entries\.tropic-gate\.config\.enabled is false/);
  assert.deepEqual(((await runCommand(ctx, "integrity", {})) as IntegrityResult).incidents, [], "Tropic's own write is no incident");
  // the agent's periodic restore of the base config keeps the user's switch (it restores only what decides the gate is loaded)
  assert.deepEqual(
    ensureBaseConfig(ctx, { gatewayToken: "a".repeat(48), basePath: "/i/x", pluginDir, workspace: join(stateDir, "workspace") }).changed,
    [],
  );
  assert.equal(JSON.parse(readFileSync(ctx.configPath, "utf8")).plugins.entries["tropic-gate"].config.enabled, false);

  await runCommand(ctx, "set_gate_config", { gateSwitch: true, config: { enabled: true, packs: { base: true, system: true, owasp: false } } });
  assert.equal(await gateFinding(), undefined, "on again: no finding");
  const packs = ((await runCommand(ctx, "audit", { kind: "deploy", packs: ["base", "system"] })) as AuditResult).report.findings.find(
    (f) => f.id === "gate.packs",
  );
  assert.equal(packs, undefined, "the packs the user chose are the ones loaded");
  const missing = ((await runCommand(ctx, "audit", { kind: "deploy", packs: ["base", "owasp"] })) as AuditResult).report.findings.find(
    (f) => f.id === "gate.packs",
  );
  assert.match(missing?.evidence ?? "", /owasp/, "a pack the user chose but the config lacks is a finding");
});
