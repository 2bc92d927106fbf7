// The gate watch: a gateway that is ready while it says the tool-call gate is not active is stopped (fail closed).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { GATE_GRACE_MS, gateExpected, gateLoadedIn, gateProblem } from "../src/gate-watch.ts";

test("a ready gateway whose plugins.list does not show the gate active is a problem after the grace period; one that could not be asked, or with the gate switched off, is not", (t) => {
  const root = mkdtempSync(join(tmpdir(), "tropic-gate-watch-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const stateDir = join(root, ".openclaw");
  const configPath = join(stateDir, "openclaw.json");
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(configPath, JSON.stringify({ plugins: { entries: { "tropic-gate": { enabled: true } } } }));
  const started = 1_000_000;
  // What the worker reads (gateExpected) and asks the gateway (plugins.list), as the agent gets it.
  const at = (readyFor: number, list: unknown) => ({
    expected: gateExpected(configPath),
    loaded: gateLoadedIn(list),
    gatewayStartedAt: started,
    readySince: started + 5000,
    now: started + 5000 + readyFor,
  });
  const active = {
    plugins: [
      { id: "memory-wiki", runtime: { state: "unloaded" } },
      { id: "tropic-gate", enabled: true, runtime: { state: "active" } },
    ],
  };
  const failedToLoad = { plugins: [{ id: "tropic-gate", enabled: true, state: "enabled", runtime: { state: "error" } }] };
  const absent = { plugins: [{ id: "memory-wiki", runtime: { state: "unloaded" } }] };

  assert.equal(gateProblem(at(GATE_GRACE_MS - 1, absent)), null, "too early to tell");
  assert.equal(gateProblem({ ...at(GATE_GRACE_MS, absent), readySince: null }), null, "not ready: nothing to judge");
  assert.equal(gateProblem({ ...at(GATE_GRACE_MS, absent), gatewayStartedAt: null }), null, "no gateway runs");
  assert.equal(gateProblem(at(GATE_GRACE_MS, active)), null, "the gateway runs the gate");
  assert.match(gateProblem(at(GATE_GRACE_MS, absent)) ?? "", /gate did not load.*fail closed/, "not among its plugins");
  assert.match(gateProblem(at(GATE_GRACE_MS, failedToLoad)) ?? "", /gate did not load/, "configured but not active");
  // An answer that is not a plugin list (or no answer) decides nothing: the gateway is asked again.
  for (const bad of [null, {}, { plugins: "x" }, "nonsense"]) assert.equal(gateProblem(at(GATE_GRACE_MS, bad)), null, JSON.stringify(bad));

  writeFileSync(configPath, JSON.stringify({ plugins: { entries: { "tropic-gate": { enabled: false } } } }));
  assert.equal(gateProblem(at(GATE_GRACE_MS, absent)), null, "the user switched the gate off");
  writeFileSync(configPath, "{ not json");
  assert.match(gateProblem(at(GATE_GRACE_MS, absent)) ?? "", /gate did not load/, "an unreadable config expects the gate");
});
