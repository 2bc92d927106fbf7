// The gate watch: a gateway that is ready without the tool-call gate is stopped (fail closed).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { GATE_GRACE_MS, gateExpected, gateMarkedAt, gateProblem } from "../src/gate-watch.ts";

test("a ready gateway without a fresh gate mark is a problem after the grace period; with one, or with the gate switched off, it is not", (t) => {
  const root = mkdtempSync(join(tmpdir(), "tropic-gate-watch-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const stateDir = join(root, ".openclaw");
  const configPath = join(stateDir, "openclaw.json");
  mkdirSync(join(stateDir, ".sondera"), { recursive: true });
  writeFileSync(configPath, JSON.stringify({ plugins: { entries: { "tropic-gate": { enabled: true } } } }));
  const started = 1_000_000;
  // What the worker reads (gateExpected, gateMarkedAt), as the agent gets it.
  const at = (readyFor: number) => ({
    expected: gateExpected(configPath),
    markedAt: gateMarkedAt(stateDir),
    gatewayStartedAt: started,
    readySince: started + 5000,
    now: started + 5000 + readyFor,
  });

  assert.equal(gateProblem(at(GATE_GRACE_MS - 1)), null, "too early to tell");
  assert.equal(gateProblem({ ...at(GATE_GRACE_MS), readySince: null }), null, "not ready: nothing to judge");
  assert.equal(gateProblem({ ...at(GATE_GRACE_MS), gatewayStartedAt: null }), null, "no gateway runs");
  assert.match(gateProblem(at(GATE_GRACE_MS)) ?? "", /gate did not load.*fail closed/, "no mark at all");

  writeFileSync(join(stateDir, ".sondera", "gate.json"), JSON.stringify({ plugin: "tropic-gate", at: started - 60_000 }));
  assert.match(gateProblem(at(GATE_GRACE_MS)) ?? "", /gate did not load/, "a mark from an earlier gateway does not count");
  writeFileSync(join(stateDir, ".sondera", "gate.json"), JSON.stringify({ plugin: "tropic-gate", at: started + 3000 }));
  assert.equal(gateProblem(at(GATE_GRACE_MS)), null, "marked by this gateway");

  rmSync(join(stateDir, ".sondera", "gate.json"));
  writeFileSync(configPath, JSON.stringify({ plugins: { entries: { "tropic-gate": { enabled: false } } } }));
  assert.equal(gateProblem(at(GATE_GRACE_MS)), null, "the user switched the gate off");
  writeFileSync(configPath, "{ not json");
  assert.match(gateProblem(at(GATE_GRACE_MS)) ?? "", /gate did not load/, "an unreadable config expects the gate");
});
