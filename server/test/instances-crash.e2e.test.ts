// Crash safety of the reconciler: `tropic serve` killed with SIGKILL in the middle of provisioning an
// instance, then started again on the same data directory, finishes the job — one agent, one gateway,
// the instance running — and re-adopts it again after a second restart without starting another.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { freePort } from "../../plugin/test/harness.ts";
import {
  Api,
  destroyAll,
  freshDataDir,
  gatewayInNamespace,
  gatewayNodePid,
  instanceFiles,
  removeDir,
  serveProcess,
  sleep,
} from "./instances-harness.ts";

test("killing the control plane mid-provision and starting it again finishes the job", { timeout: 600_000 }, async (t) => {
  const dataDir = freshDataDir();
  const port = await freePort();
  let serve = await serveProcess(dataDir, port);
  t.after(async () => {
    if (process.env.TROPIC_TEST_VERBOSE) process.stderr.write(serve.output().slice(-6000));
    await serve.stop().catch(() => {});
    await destroyAll(dataDir);
    removeDir(dataDir);
  });
  const u = await new Api(serve.url).as(`crash-${Date.now()}@example.com`);
  const inst = (await u.call("POST", "/api/v1/instances", { name: "crashy" })).json;
  const f = instanceFiles(dataDir, inst.id);
  // Kill as soon as the provider has created the instance (mid-provision: the gateway is not up yet).
  const t0 = Date.now();
  while (!existsSync(join(f.dir, "instance.json"))) {
    assert.ok(Date.now() - t0 < 60_000, "the reconciler started provisioning");
    await sleep(20);
  }
  await serve.kill9();
  const mid = (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status;
  assert.equal(mid, undefined, "the control plane is dead");

  serve = await serveProcess(dataDir, port);
  const api = new Api(serve.url, u.auth);
  const done = await api.until(`/api/v1/instances/${inst.id}`, (j) => j.state === "running", 180_000, "running after restart");
  assert.equal(done.state, "running");
  const agentPid = f.agentPid();
  const gw = gatewayNodePid(agentPid);
  assert.ok(gw > 0, "one gateway under the agent");

  // A second restart re-adopts the running instance: same agent, same gateway.
  await serve.stop();
  const inside = await gatewayInNamespace(dataDir, inst.id);
  t.after(() => inside.close());
  assert.equal(await fetch(`${inside.url}/readyz`).then((r) => r.status), 200, "the instance keeps running without the control plane");
  serve = await serveProcess(dataDir, port);
  const again = new Api(serve.url, u.auth);
  await sleep(3000);
  const after = await again.until(`/api/v1/instances/${inst.id}`, (j) => j.state === "running", 60_000, "still running");
  assert.equal(after.state, "running");
  assert.equal(f.agentPid(), agentPid, "the same agent was adopted");
  assert.equal(gatewayNodePid(agentPid), gw, "the same gateway");
  // …and its agent reconnected: a deploy reaches it.
  const dep = (await again.call("POST", "/api/v1/agents", { instanceId: inst.id, templateId: "personal-assistant" })).json;
  await again.until(`/api/v1/agents/${dep.id}`, (j) => j.state === "ready", 60_000, "agent ready after re-adoption");
});
