// Host mode: the gateway is a service of the service manager; the agent's ServiceSupervisor drives it
// (start/stop/restart through the manager), reads liveness from the manager's state and readiness from
// the gateway's own /readyz on loopback, and reports the same phases as the local Supervisor. A fake
// manager (what systemctl would say) and a real HTTP server standing in for the gateway.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseLaunchctlPrint, parseSystemdShow, type ServiceManager, type ServiceState, ServiceSupervisor } from "../src/service.ts";

test("systemctl show → state: running, restarting after an exit, failed, stopped", () => {
  const up = parseSystemdShow(
    "ActiveState=active\nSubState=running\nMainPID=123\nNRestarts=2\nExecMainStartTimestampMonotonic=5000000\n",
    10,
    100_000,
  );
  assert.deepEqual(up, { state: "running", pid: 123, restarts: 2, startedAtMs: 95_000 });
  assert.equal(parseSystemdShow("ActiveState=activating\nSubState=auto-restart\nMainPID=0\nNRestarts=3\n", 10).state, "starting");
  assert.equal(parseSystemdShow("ActiveState=failed\nSubState=failed\nMainPID=0\nNRestarts=10\n", 10).state, "failed");
  assert.equal(parseSystemdShow("ActiveState=inactive\nSubState=dead\nMainPID=0\nNRestarts=0\n", 10).state, "stopped");
  assert.deepEqual(parseLaunchctlPrint("state = running\n\tpid = 77\n\truns = 3\n", true), {
    state: "running",
    pid: 77,
    restarts: 2,
    startedAtMs: null,
  });
  assert.equal(parseLaunchctlPrint("", false).state, "stopped");
});

class FakeService implements ServiceManager {
  s: ServiceState = { state: "stopped", pid: null, restarts: 0, startedAtMs: null };
  calls: string[] = [];
  async start() {
    this.calls.push("start");
    this.s = { state: "running", pid: 4242, restarts: this.s.restarts, startedAtMs: Date.now() };
  }
  async stop() {
    this.calls.push("stop");
    this.s = { state: "stopped", pid: null, restarts: this.s.restarts, startedAtMs: null };
  }
  async restart() {
    this.calls.push("restart");
    this.s = { state: "running", pid: 4343, restarts: this.s.restarts, startedAtMs: Date.now() };
  }
  async state() {
    return this.s;
  }
}

test("ServiceSupervisor: drives the service, reads readiness from the gateway, reports crash loops and failures with the log's error line", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tropic-svc-"));
  let ready = false;
  const gw = createServer((req, res) => {
    res.statusCode = req.url === "/readyz" && ready ? 200 : 503;
    res.end();
  });
  await new Promise<void>((r) => gw.listen(0, "127.0.0.1", r));
  const port = (gw.address() as { port: number }).port;
  const log = join(dir, "gateway.log");
  writeFileSync(log, "");
  const svc = new FakeService();
  const sup = new ServiceSupervisor(
    { argv: [], env: {}, cwd: dir, readyUrl: `http://127.0.0.1:${port}/readyz`, uid: null, gid: null, gatewayLog: log },
    svc,
    60_000,
  );
  try {
    await sup.poll();
    assert.equal(sup.phase(false), "starting", "not stopped by anyone: on its way");
    sup.start();
    await sup.poll();
    assert.deepEqual(svc.calls, ["start"]);
    assert.equal(sup.pid(), 4242);
    assert.equal(await sup.ready(), false, "running is not ready: the gateway says so");
    assert.equal(sup.phase(false), "starting");
    ready = true;
    assert.equal(await sup.ready(), true);
    assert.equal(sup.phase(true), "ready");
    assert.ok((sup.uptimeSec() ?? -1) >= 0);
    // a restart someone asked for
    await sup.restart();
    assert.equal(sup.phase(true), "restarting");
    sup.restartDone();
    assert.equal(sup.pid(), 4343);
    // the gateway keeps exiting: the manager restarts it (NRestarts grows)
    appendFileSync(log, "booting\nError: gateway.auth.token is invalid\nbye\n");
    svc.s = { state: "starting", pid: null, restarts: 3, startedAtMs: null };
    await sup.poll();
    assert.equal(sup.restarts, 3);
    assert.equal(sup.phase(false), "crash-looping");
    assert.equal(sup.lastError, "Error: gateway.auth.token is invalid");
    svc.s = { state: "failed", pid: null, restarts: 10, startedAtMs: null };
    await sup.poll();
    assert.equal(sup.phase(false), "failed");
    // stop (a stop command, a gate that did not load)
    await sup.stop();
    assert.equal(sup.phase(false), "stopped");
    assert.equal(await sup.ready(), false);
    assert.deepEqual(svc.calls, ["start", "restart", "stop"]);
  } finally {
    sup.detach();
    gw.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
