// The instance agent's commands against a temp state directory (no gateway): idempotent, 0600 secrets,
// no writes through symlinks or outside the state directory.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type CommandContext, runCommand } from "../src/commands.ts";

function ctx(): CommandContext & { root: string; restarts: number } {
  const root = mkdtempSync(join(tmpdir(), "tropic-agent-"));
  const stateDir = join(root, ".openclaw");
  mkdirSync(stateDir);
  const c = {
    root,
    restarts: 0,
    stateDir,
    configPath: join(stateDir, "openclaw.json"),
    gatewayLog: join(root, "gateway.log"),
    owner: null,
    async restartGateway() {
      c.restarts++;
      return true;
    },
    gatewayRunning: () => false,
    async status() {
      return {
        agentPid: process.pid,
        agentRssBytes: 1,
        agentUptimeSec: 1,
        gatewayPid: null,
        gatewayRssBytes: null,
        gatewayUptimeSec: null,
        gatewayRestarts: 0,
        gatewayReady: false,
      };
    },
  };
  return c;
}

test("deploy commands write the workspace and register the agent with its policy, idempotently", async (t) => {
  const c = ctx();
  t.after(() => rmSync(c.root, { recursive: true, force: true }));
  const files = { "AGENTS.md": "# hi\n", "skills/x/SKILL.md": "skill" };
  for (let i = 0; i < 2; i++) {
    await runCommand(c, "write_workspace", { slug: "helper", files });
    await runCommand(c, "register_agent", {
      id: "helper",
      slug: "helper",
      model: "scripted/scripted",
      policy: "DENY: run sudo or elevated commands",
    });
  }
  assert.equal(readFileSync(join(c.stateDir, "workspace/helper/AGENTS.md"), "utf8"), "# hi\n");
  assert.equal(readFileSync(join(c.stateDir, "workspace/helper/skills/x/SKILL.md"), "utf8"), "skill");
  const cfg = JSON.parse(readFileSync(c.configPath, "utf8"));
  assert.deepEqual(cfg.agents.entries.helper, { workspace: join(c.stateDir, "workspace/helper"), model: "scripted/scripted" });
  assert.equal(cfg.plugins.entries["tropic-gate"].config.policies.helper, "DENY: run sudo or elevated commands");
  await runCommand(c, "remove_agent", { id: "helper", slug: "helper" });
  const after = JSON.parse(readFileSync(c.configPath, "utf8"));
  assert.equal(after.agents.entries.helper, undefined);
  assert.equal(after.plugins.entries["tropic-gate"].config.policies.helper, undefined);
});

test("API keys go to .env with mode 0600 and are not echoed back; a removed key is gone", async (t) => {
  const c = ctx();
  t.after(() => rmSync(c.root, { recursive: true, force: true }));
  const r = await runCommand(c, "write_env", { vars: { OPENAI_API_KEY: "sk-secret value", OTHER: "x" } });
  assert.deepEqual(r, { names: ["OPENAI_API_KEY", "OTHER"], changed: true, restarted: false });
  assert.doesNotMatch(JSON.stringify(r), /secret/);
  const env = join(c.stateDir, ".env");
  assert.equal(statSync(env).mode & 0o777, 0o640, "the agent's file, readable by the gateway's group");
  assert.equal(readFileSync(env, "utf8"), 'OPENAI_API_KEY="sk-secret value"\nOTHER=x\n');
  await runCommand(c, "write_env", { vars: { OTHER: null } });
  assert.equal(readFileSync(env, "utf8"), 'OPENAI_API_KEY="sk-secret value"\n');
  // restartIfChanged: the gateway restarts only when a value really changed.
  const before = c.restarts;
  assert.equal(
    ((await runCommand(c, "write_env", { vars: { OPENAI_API_KEY: "sk-secret value" }, restartIfChanged: true })) as { restarted: boolean }).restarted,
    false,
  );
  assert.equal(c.restarts, before);
  const changed = (await runCommand(c, "write_env", { vars: { OPENAI_API_KEY: "sk-other" }, restartIfChanged: true })) as {
    changed: boolean;
    restarted: boolean;
  };
  assert.deepEqual([changed.changed, changed.restarted], [true, true]);
  assert.equal(c.restarts, before + 1);
  await assert.rejects(runCommand(c, "write_env", { vars: { "BAD NAME": "x" } }), /bad environment variable name/);
  await assert.rejects(runCommand(c, "write_env", { vars: { A: "x\nB=y" } }), /line break/);
});

test("skills: SKILL.md and credentials written, config entry set, gateway restarted; uninstall removes them", async (t) => {
  const c = ctx();
  t.after(() => rmSync(c.root, { recursive: true, force: true }));
  const r = (await runCommand(c, "install_skill", {
    slug: "notion",
    files: { "SKILL.md": "---\nname: notion\n---\n" },
    env: { NOTION_API_KEY: "ntn_x" },
  })) as {
    restarted: boolean;
  };
  assert.equal(r.restarted, true);
  assert.equal(c.restarts, 1);
  assert.match(readFileSync(join(c.stateDir, "skills/notion/SKILL.md"), "utf8"), /name: notion/);
  assert.equal(statSync(join(c.stateDir, "skills/notion/SKILL.md")).mode & 0o777, 0o640);
  assert.match(readFileSync(join(c.stateDir, ".env"), "utf8"), /NOTION_API_KEY=ntn_x/);
  assert.equal(JSON.parse(readFileSync(c.configPath, "utf8")).skills.entries.notion.enabled, true);
  await runCommand(c, "remove_skill", { slug: "notion", envNames: ["NOTION_API_KEY"] });
  assert.doesNotMatch(readFileSync(join(c.stateDir, ".env"), "utf8"), /NOTION/);
  assert.equal(JSON.parse(readFileSync(c.configPath, "utf8")).skills.entries.notion, undefined);
});

test("gate config is merged key by key; the gateway token is read from openclaw.json", async (t) => {
  const c = ctx();
  t.after(() => rmSync(c.root, { recursive: true, force: true }));
  await runCommand(c, "set_gate_config", { config: { settings: { blockBrowser: true } } });
  await runCommand(c, "set_gate_config", { config: { packs: { base: true, owasp: true } } });
  const gate = JSON.parse(readFileSync(c.configPath, "utf8")).plugins.entries["tropic-gate"];
  assert.deepEqual(gate.config, { settings: { blockBrowser: true }, packs: { base: true, owasp: true } });
  await assert.rejects(runCommand(c, "read_gateway_token", {}), /no gateway.auth.token/);
  const cfg = JSON.parse(readFileSync(c.configPath, "utf8"));
  cfg.gateway = { auth: { mode: "token", token: "ab".repeat(24) } };
  (await import("node:fs")).writeFileSync(c.configPath, JSON.stringify(cfg));
  assert.deepEqual(await runCommand(c, "read_gateway_token", {}), { token: "ab".repeat(24) });
});

test("no writes outside the state directory or through a symlink", async (t) => {
  const c = ctx();
  t.after(() => rmSync(c.root, { recursive: true, force: true }));
  await assert.rejects(runCommand(c, "write_workspace", { slug: "a", files: { "../../escape": "x" } }), /bad file path/);
  await assert.rejects(runCommand(c, "write_workspace", { slug: "a", files: { "/etc/x": "x" } }), /bad file path/);
  await assert.rejects(runCommand(c, "write_workspace", { slug: "../a", files: {} }), /bad slug/);
  mkdirSync(join(c.stateDir, "workspace"));
  symlinkSync(c.root, join(c.stateDir, "workspace", "evil"));
  await assert.rejects(runCommand(c, "write_workspace", { slug: "evil", files: { "x.md": "x" } }), /symlink/);
  await assert.rejects(runCommand(c, "frobnicate" as never, {}), /unknown command/);
});
