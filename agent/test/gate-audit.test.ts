// read_gate_audit against a temp state directory: the gate's JSON-lines log and its rotations read
// newest first, filters applied before the limit, the limit and the bytes read capped, the path from
// the gate's config, and never a symlinked log or one outside the instance's directories.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { AUDIT_MAX_BYTES, type CommandContext, runCommand } from "../src/commands.ts";

type Result = { entries: Record<string, unknown>[]; files: number; scannedBytes: number; truncated: boolean };

function ctx(): CommandContext & { root: string } {
  const root = mkdtempSync(join(tmpdir(), "tropic-agent-audit-"));
  const stateDir = join(root, "home", ".openclaw");
  mkdirSync(join(stateDir, ".sondera"), { recursive: true });
  return {
    root,
    stateDir,
    homeDir: join(root, "home"),
    configPath: join(stateDir, "openclaw.json"),
    gatewayLog: join(root, "gateway.log"),
    owner: null,
    restartGateway: async () => true,
    gatewayRunning: () => false,
    status: async () => {
      throw new Error("not used");
    },
  };
}

const line = (i: number, o: Record<string, unknown> = {}) =>
  `${JSON.stringify({ ts: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), phase: "call", agentId: "main", tool: i % 2 ? "exec" : "read", decision: i % 3 ? "ALLOW" : "DENY", rules: i % 3 ? [] : ["base-deny-rm-rf"], durationMs: 0.5, ...o })}\n`;
const read = (c: CommandContext, payload: Record<string, unknown>) => runCommand(c, "read_gate_audit", payload) as Promise<Result>;

test("the last entries newest first across rotations; filters before the limit; bad lines skipped", async (t) => {
  const c = ctx();
  t.after(() => rmSync(c.root, { recursive: true, force: true }));
  const log = join(c.stateDir, ".sondera", "audit.log");
  // audit.log.1 is older than audit.log
  writeFileSync(`${log}.1`, Array.from({ length: 10 }, (_, i) => line(i)).join(""));
  writeFileSync(log, `${Array.from({ length: 10 }, (_, i) => line(i + 10)).join("")}not json\n{"half":`);
  const all = await read(c, { limit: 500 });
  assert.equal(all.entries.length, 20);
  assert.equal(all.files, 2);
  assert.deepEqual(
    all.entries.map((e) => e.ts),
    Array.from({ length: 20 }, (_, i) => new Date(Date.UTC(2026, 0, 1, 0, 0, 19 - i)).toISOString()),
    "newest first",
  );
  const three = await read(c, { limit: 3 });
  assert.equal(three.entries.length, 3);
  assert.equal(three.files, 1, "stops reading once it has enough");
  const denies = await read(c, { limit: 100, decision: "DENY", tool: "read" });
  assert.ok(denies.entries.length > 0);
  assert.ok(denies.entries.every((e) => e.decision === "DENY" && e.tool === "read"));
  assert.deepEqual(denies.entries[0]!.rules, ["base-deny-rm-rf"]);
  assert.equal((await read(c, { limit: 100, agentId: "someone-else" })).entries.length, 0);
  // The limit is capped at 500.
  writeFileSync(log, Array.from({ length: 700 }, (_, i) => line(i)).join(""));
  assert.equal((await read(c, { limit: 10_000 })).entries.length, 500);
});

test("no log yet: no entries; the path follows the gate's config; bytes read are capped", async (t) => {
  const c = ctx();
  t.after(() => rmSync(c.root, { recursive: true, force: true }));
  assert.deepEqual(await read(c, { limit: 10 }), { entries: [], files: 0, scannedBytes: 0, truncated: false });
  writeFileSync(
    c.configPath,
    JSON.stringify({ plugins: { entries: { "tropic-gate": { config: { audit: { path: "~/.openclaw/logs/gate.log" } } } } } }),
  );
  mkdirSync(join(c.stateDir, "logs"));
  writeFileSync(join(c.stateDir, "logs", "gate.log"), line(1));
  assert.equal((await read(c, { limit: 10 })).entries.length, 1);
  // A log larger than the read cap: only its tail is read, the cut first line dropped.
  const big = line(3, { paramsDigest: "x".repeat(1000) });
  const n = Math.ceil((AUDIT_MAX_BYTES + 10_000) / big.length);
  writeFileSync(join(c.stateDir, "logs", "gate.log"), big.repeat(n));
  const r = await read(c, { limit: 500 });
  assert.equal(r.scannedBytes, AUDIT_MAX_BYTES);
  assert.equal(r.entries.length, 500);
});

test("never through a symlink, never outside the instance's directories", async (t) => {
  const c = ctx();
  t.after(() => rmSync(c.root, { recursive: true, force: true }));
  const outside = join(c.root, "other-instance-audit.log");
  writeFileSync(outside, line(1));
  symlinkSync(outside, join(c.stateDir, ".sondera", "audit.log"));
  await assert.rejects(read(c, { limit: 10 }), /symlink/);
  rmSync(join(c.stateDir, ".sondera", "audit.log"));
  // A symlinked directory on the way is caught by the real path check.
  rmSync(join(c.stateDir, ".sondera"), { recursive: true });
  mkdirSync(join(c.root, "elsewhere"));
  writeFileSync(join(c.root, "elsewhere", "audit.log"), line(1));
  symlinkSync(join(c.root, "elsewhere"), join(c.stateDir, ".sondera"));
  await assert.rejects(read(c, { limit: 10 }), /outside the instance's directories/);
  // An absolute path elsewhere in the config is refused the same way.
  writeFileSync(c.configPath, JSON.stringify({ plugins: { entries: { "tropic-gate": { config: { audit: { path: outside } } } } } }));
  await assert.rejects(read(c, { limit: 10 }), /outside the instance's directories/);
});
