// Fail closed when the gate is missing from a real gateway: OpenClaw starts a gateway even when the
// gate plugin cannot be loaded (here: its code throws), and its tools would then run unchecked. The
// instance agent asks the gateway (plugins.list), does not find the gate active, and stops it; the instance shows `failed` with the reason.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gateLoaded } from "../../agent/src/gateway-rpc.ts";
import {
  Api,
  destroyAll,
  freshDataDir,
  gatewayInNamespace,
  gatewayNodePid,
  inProcessServer,
  instanceFiles,
  removeDir,
  sleep,
} from "./instances-harness.ts";

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
  // The gateway itself says the gate is active (what the agent's watch asks it).
  const inside = await gatewayInNamespace(dataDir, inst.id);
  t.after(() => inside.close());
  const token = JSON.parse(readFileSync(join(f.dir, "instance.json"), "utf8")).gatewayToken;
  assert.equal(await gateLoaded({ url: `ws://127.0.0.1:${inside.port}`, token }), true, "plugins.list: tropic-gate active");

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
  assert.equal((await fetch(`${inside.url}/readyz`).catch(() => null))?.status ?? 0, 0, "the gateway is not running");
});
