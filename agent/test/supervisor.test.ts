// The supervisor's honesty: a gateway that exits again and again is crash-looping, then failed, with
// its last error line and the restart count; one that cannot even be spawned (EACCES, no such program)
// is retried the same way instead of wedging, and stop() still stops it; a restart someone asked for
// is `restarting`. Real child processes (small shell scripts), no gateway needed.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CRASH_LOOP_AFTER, FAILED_AFTER, lastErrorLine, Supervisor } from "../src/supervisor.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function launch(dir: string, argv: string[]) {
  return {
    argv,
    env: { PATH: "/usr/bin:/bin" },
    cwd: dir,
    readyUrl: "http://127.0.0.1:1/readyz",
    uid: null,
    gid: null,
    gatewayLog: join(dir, "gateway.log"),
  };
}

async function until(pred: () => boolean, ms: number, what: string) {
  const t0 = Date.now();
  while (!pred()) {
    assert.ok(Date.now() - t0 < ms, `timed out waiting for ${what}`);
    await sleep(50);
  }
}

test("a gateway that keeps exiting: starting → crash-looping → failed, with its last error line and restarts", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "tropic-sup-"));
  const script = join(dir, "gw.sh");
  writeFileSync(
    script,
    "#!/bin/sh\necho 'booting'\necho 'openclaw: package lifecycle is incomplete. read-only filesystem (EROFS)' >&2\necho 'bye'\nexit 1\n",
  );
  chmodSync(script, 0o755);
  const sup = new Supervisor(launch(dir, [script]));
  try {
    sup.start();
    assert.equal(sup.phase(false), "starting");
    await until(() => sup.restarts >= CRASH_LOOP_AFTER, 30_000, "the crash loop");
    assert.equal(sup.phase(false), "crash-looping");
    assert.match(sup.lastError ?? "", /lifecycle is incomplete.*EROFS/, "the error line, not the last line");
    await until(() => sup.restarts >= FAILED_AFTER, 60_000, "failed");
    assert.equal(sup.phase(false), "failed");
  } finally {
    await sup.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a gateway that cannot be spawned (EACCES) is retried and reported, and stop() still stops", { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "tropic-sup-"));
  const script = join(dir, "not-executable.sh");
  writeFileSync(script, "#!/bin/sh\nsleep 100\n");
  chmodSync(script, 0o644);
  const sup = new Supervisor(launch(dir, [script]));
  sup.start();
  await until(() => sup.restarts >= 2, 20_000, "two failed spawns");
  assert.match(sup.lastError ?? "", /could not start the gateway: .*EACCES/);
  assert.equal(sup.pid(), null);
  const t0 = Date.now();
  await sup.stop();
  assert.ok(Date.now() - t0 < 2000, "stop() returns at once (it used to wait forever for an exit that never came)");
  const n = sup.restarts;
  await sleep(2500);
  assert.equal(sup.restarts, n, "no retry after stop");
  assert.equal(sup.phase(false), "stopped");
  rmSync(dir, { recursive: true, force: true });
});

test("a restart someone asked for is `restarting` until restartDone()", { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "tropic-sup-"));
  const script = join(dir, "gw.sh");
  writeFileSync(script, "#!/bin/sh\nexec sleep 100\n");
  chmodSync(script, 0o755);
  const sup = new Supervisor(launch(dir, [script]));
  try {
    sup.start();
    const first = sup.pid();
    await sup.restart();
    assert.equal(sup.phase(false), "restarting");
    assert.notEqual(sup.pid(), first);
    sup.restartDone();
    assert.equal(sup.phase(false), "starting");
    assert.equal(sup.phase(true), "ready");
  } finally {
    await sup.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("lastErrorLine: the last error-looking line of this run, else its last line", () => {
  const dir = mkdtempSync(join(tmpdir(), "tropic-sup-"));
  const log = join(dir, "gateway.log");
  writeFileSync(log, "old run: Error: something else\n");
  const offset = "old run: Error: something else\n".length;
  writeFileSync(log, "old run: Error: something else\nstarting\nDoctor cannot repair this state: EACCES on openclaw.sqlite\nshutting down\n");
  assert.equal(lastErrorLine(log, offset), "Doctor cannot repair this state: EACCES on openclaw.sqlite");
  writeFileSync(log, "old run: Error: something else\nall quiet\n");
  assert.equal(lastErrorLine(log, offset), "all quiet");
  assert.equal(lastErrorLine(join(dir, "missing.log"), 0), null);
  rmSync(dir, { recursive: true, force: true });
});
