// The health rule, told apart by what the instance agent reports about its gateway: a restart
// someone asked for is `restarting` (never "stopped — HTTP 502"), a crash loop is `failed` with the
// gateway's last error and restart count, the 3 minutes count from the gateway's own (re)start, and
// an old report is not believed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { healthVerdict } from "../src/instances/reconciler.ts";

const now = Date.parse("2026-12-05T10:00:00Z");
const started = new Date(now - 10 * 60_000); // the instance started 10 minutes ago
const at = new Date(now - 2000).toISOString();

test("200 is running, whatever was reported", () => {
  assert.deepEqual(healthVerdict(200, { at, gatewayPhase: "crash-looping" }, started, now), { state: "running", reason: null });
});

test("a restart someone asked for is restarting, not stopped", () => {
  const v = healthVerdict(502, { at, gatewayPhase: "restarting", gatewayRestarts: 0 }, started, now);
  assert.equal(v.state, "restarting");
});

test("a gateway that keeps exiting is failed, with its last error and the restart count", () => {
  const v = healthVerdict(
    502,
    { at, gatewayPhase: "crash-looping", gatewayRestarts: 3, gatewayLastError: "openclaw: package lifecycle is incomplete (EROFS)" },
    started,
    now,
  );
  assert.equal(v.state, "failed");
  assert.match(v.reason!, /keeps exiting \(3 restarts\); last error: openclaw: package lifecycle is incomplete \(EROFS\)/);
});

test("the 3 minutes count from the gateway's own start: a gateway restarted a minute ago is initializing", () => {
  const v = healthVerdict(502, { at, gatewayPhase: "starting", gatewayStartedAt: new Date(now - 60_000).toISOString() }, started, now);
  assert.equal(v.state, "initializing");
  assert.equal(v.reason, "starting the gateway");
  const late = healthVerdict(502, { at, gatewayPhase: "starting", gatewayStartedAt: new Date(now - 4 * 60_000).toISOString() }, started, now);
  assert.equal(late.state, "stopped");
  assert.match(late.reason!, /health check: HTTP 502 240 s after start/);
});

test("a stale report is not believed: the seed's rule on the instance's start alone", () => {
  const old = new Date(now - 5 * 60_000).toISOString();
  const v = healthVerdict(502, { at: old, gatewayPhase: "restarting" }, started, now);
  assert.equal(v.state, "stopped");
  const fresh = healthVerdict(503, {}, new Date(now - 30_000), now);
  assert.equal(fresh.state, "initializing");
});

test("the gate watch's verdict wins: failed with its reason", () => {
  const v = healthVerdict(502, { at, gateFailure: "the tool-call gate did not load", gatewayPhase: "failed" }, started, now);
  assert.deepEqual(v, { state: "failed", reason: "the tool-call gate did not load" });
});
