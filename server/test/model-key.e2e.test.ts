// The Claude API key reaches the instance the way the seed says: written into OpenClaw's .env at
// provisioning and on every start; changed while the instance is stopped, it is synced at the next
// start (and the gateway restarted only when the value changed). Real control plane, real sandboxed
// gateway, real instance agent.
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Api, destroyAll, freshDataDir, gatewayNodePid, inProcessServer, instanceFiles, removeDir, sleep } from "./instances-harness.ts";

const KEY_1 = `sk-ant-api03-${"a1".repeat(20)}`;
const KEY_2 = `sk-ant-api03-${"b2".repeat(20)}`;

test("the Claude API key: into .env at provisioning, re-synced at the next start after a change while stopped", { timeout: 600_000 }, async (t) => {
  const dataDir = freshDataDir();
  const server = await inProcessServer(dataDir);
  t.after(async () => {
    await Promise.race([server.close().catch(() => {}), sleep(20_000)]);
    await destroyAll(dataDir);
    removeDir(dataDir);
  });
  const a = await new Api(server.url).as(`mk-${Date.now()}@example.com`);
  assert.equal((await a.call("PUT", "/api/v1/credentials/ANTHROPIC_API_KEY", { value: KEY_1 })).status, 200);
  const inst = (await a.call("POST", "/api/v1/instances", { name: "keyed" })).json;
  const f = instanceFiles(dataDir, inst.id);
  const envPath = join(f.state, ".env");
  const envHas = (key: string) => existsSync(envPath) && readFileSync(envPath, "utf8").includes(`ANTHROPIC_API_KEY=${key}`);
  const waitFor = async (what: string, pred: () => boolean, ms = 120_000) => {
    const t0 = Date.now();
    while (!pred()) {
      assert.ok(Date.now() - t0 < ms, `timed out waiting for ${what}`);
      await sleep(250);
    }
  };
  await a.until(`/api/v1/instances/${inst.id}`, (j) => j.state === "running", 240_000, "running");
  await waitFor("the key in .env", () => envHas(KEY_1));
  assert.equal(statSync(envPath).mode & 0o777, 0o640, "the agent user's, readable by the gateway's group");
  assert.equal((await a.call("GET", `/api/v1/instances/${inst.id}`)).json.usesPlatformKey ?? false, false, "own key: no model charge");

  // Stopped: a changed key waits; the running gateway of nobody sees it.
  await a.call("POST", `/api/v1/instances/${inst.id}/stop`);
  await a.until(`/api/v1/instances/${inst.id}`, (j) => j.state === "stopped", 60_000, "stopped");
  assert.equal((await a.call("PUT", "/api/v1/credentials/ANTHROPIC_API_KEY", { value: KEY_2 })).status, 200);
  await sleep(1500);
  assert.ok(envHas(KEY_1) && !envHas(KEY_2), "nothing written while stopped");

  // Started: synced, and the gateway restarted once to read it.
  await a.call("POST", `/api/v1/instances/${inst.id}/start`);
  await a.until(`/api/v1/instances/${inst.id}`, (j) => j.state === "running", 240_000, "running again");
  await waitFor("the new key in .env", () => envHas(KEY_2));
  assert.ok(!envHas(KEY_1));
  await a.until(`/api/v1/instances/${inst.id}`, (j) => j.state === "running", 120_000, "running after the key restart");
  const gw = gatewayNodePid(f.agentPid());
  assert.ok(gw > 0);

  // The same value again (a plain start of a running instance): written, no restart.
  await a.call("POST", `/api/v1/instances/${inst.id}/start`);
  await sleep(3000);
  assert.equal(gatewayNodePid(f.agentPid()), gw, "an unchanged key does not restart the gateway");

  // Removed: the key leaves .env too.
  assert.equal((await a.call("DELETE", "/api/v1/credentials/ANTHROPIC_API_KEY")).status, 204);
  await waitFor("the key removed from .env", () => !readFileSync(envPath, "utf8").includes("ANTHROPIC_API_KEY="));
});
