// Fail closed when the gate is missing from a real gateway: OpenClaw starts a gateway even when the
// gate plugin cannot be loaded (here: its code throws), and its tools would then run unchecked. The
// instance agent sees no gate mark and stops the gateway; the instance shows `failed` with the reason.
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Api, destroyAll, freshDataDir, gatewayNodePid, inProcessServer, instanceFiles, removeDir, sleep } from "./instances-harness.ts";

test("a gateway without its gate is stopped by the instance agent, and the instance says why", { timeout: 600_000 }, async (t) => {
  const dataDir = freshDataDir();
  const server = await inProcessServer(dataDir);
  t.after(async () => {
    await Promise.race([server.close().catch(() => {}), sleep(20_000)]);
    await destroyAll(dataDir);
    removeDir(dataDir);
  });
  const a = await new Api(server.url).as(`gw-${Date.now()}@example.com`);
  const inst = (await a.call("POST", "/api/v1/instances", { name: "gated" })).json;
  await a.until(`/api/v1/instances/${inst.id}`, (j) => j.state === "running", 240_000, "running");
  const f = instanceFiles(dataDir, inst.id);
  const mark = join(f.state, ".sondera", "gate.json");
  assert.ok(existsSync(mark), "the gate marked the gateway it loaded into");
  assert.equal(JSON.parse(readFileSync(mark, "utf8")).plugin, "tropic-gate");

  // The gate's code cannot load any more (the config still names it: the agent restores any change to
  // that); the gateway restarts without it. The plugin's own file is put back afterwards.
  const pluginDir = f.config().plugins.load.paths[0] as string;
  const entry = join(pluginDir, "index.mjs");
  const original = readFileSync(entry);
  t.after(() => writeFileSync(entry, original));
  writeFileSync(entry, "throw new Error('tropic test: the gate cannot load');\n");
  // The gateway process dies (as after a crash); the agent's supervisor starts it again with this config.
  const gw = gatewayNodePid(f.agentPid());
  assert.ok(gw > 0, "the gateway process");
  process.kill(gw, "SIGKILL");
  const failed = await a.until(`/api/v1/instances/${inst.id}`, (j) => j.state === "failed", 180_000, "failed");
  assert.match(failed.stateReason, /gate did not load.*fail closed/);
  assert.equal((await fetch(`${failed.addresses.gateway}/readyz`).catch(() => null))?.status ?? 0, 0, "the gateway is not running");
});
