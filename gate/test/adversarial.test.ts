// Issue 15: our own adversarial suite (gate/test/adversarial-cases.ts) through the real Gate, with all
// three packs (base, system, owasp) and the default settings (nothing blocked, phones unrestricted),
// home /home/u and the default workspace /home/u/.openclaw/workspace.
//
// HOW THIS TEST FAILS — read before switching anything on:
// - Always asserted (CI): (a) the suite has ≥ 300 dangerous and ≥ 200 harmless cases, every family has
//   both; (b) every case's call is well-formed and the gate returns a well-formed decision whose rule ids
//   are pack rules or the documented `tropic-unknown-program` / `tropic-fail-closed` / `tropic-lockdown`
//   (decide never throws).
// - Per case, one subtest named "<family> › <expect>: <call>". A case the engine gets wrong (a dangerous
//   call allowed, or a harmless one refused) is a MISS. Until the engine owners have fixed the misses,
//   a miss is reported as a failing TODO subtest ("not ok … # TODO"), which node's runner shows but does
//   not count as a failure, so CI stays green.
// - TROPIC_GATE_STRICT=1 turns every miss into a real failure, and also fails on fail-closed denials
//   whose reason is an engine error (a JS exception or a Cedar error) rather than a parse refusal:
//     TROPIC_GATE_STRICT=1 node scripts/test.mjs gate/test/adversarial.test.ts
//   The plan is to switch it on (drop the variable, make strict the default) once the misses are fixed.
// - A "confirm" case passes when the call is confirmed or denied (both stop it); a "deny" case only when
//   it is denied; an "allow" case only when it is allowed.
// The per-family table (ours vs the glob-only anchor of bench/gate.bench.ts) is printed on every run;
// `npm run bench -- gate-adversarial` prints the same table. One family only:
//   node --import tsx --test --test-name-pattern='read-protected' gate/test/adversarial.test.ts
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Decision, Gate, PACKS } from "../src/index.ts";
import { CASES, FAMILIES, HOME, POLICIES, ROUND2, ROUND3, ROUND4, ROUND5, type Result, describeCall, judge, table } from "./adversarial-cases.ts";

const STRICT = process.env.TROPIC_GATE_STRICT === "1";
const DEFAULT_SETTINGS = {
  blockBrowser: false,
  blockCodeExecution: false,
  blockOsCommands: false,
  phoneMode: "unrestricted",
  phonePatterns: [],
} as const;
const DOCUMENTED = new Set(["tropic-unknown-program", "tropic-fail-closed", "tropic-lockdown"]);
/** Rule ids a user policy's lines get (the `*` policy's first line: `default-L1`, and its `-unsure` twin). */
const POLICY_ID = /^default-L\d+(-unsure)?$/;
const KNOWN = new Set([...Object.values(PACKS).flatMap((p) => p.map((r) => r.id)), ...DOCUMENTED]);
/** A fail-closed reason that is the engine breaking, not the parser refusing what it cannot represent. */
const ENGINE_ERROR =
  /is not defined|is not a function|is not iterable|Cannot read propert|Cannot set propert|Maximum call stack|Invalid array length|Cedar|rule \S+ failed|no rule set/;

const gate = await Gate.create({ packs: ["base", "system", "owasp"], home: HOME, settings: { ...DEFAULT_SETTINGS, phonePatterns: [] } });
// Families run under a user policy (POLICIES) get a gate with that policy on top of the same packs.
const policyGates = new Map<string, Gate>();
for (const [family, text] of Object.entries(POLICIES))
  policyGates.set(
    family,
    await Gate.create({
      packs: ["base", "system", "owasp"],
      home: HOME,
      policies: { "*": text as string },
      settings: { ...DEFAULT_SETTINGS, phonePatterns: [] },
    }),
  );
const thrown = new Map<number, string>();
const results: Result[] = CASES.map((c, i) => {
  let d: Decision;
  try {
    d = (policyGates.get(c.family) ?? gate).decide(c.call);
  } catch (e) {
    thrown.set(i, (e as Error).message);
    d = { decision: "deny", rules: ["tropic-fail-closed"], reason: `decide threw: ${(e as Error).message}` };
  }
  return judge(c, d);
});

const heldOut = new Set(ROUND2);
const round3 = new Set(ROUND3);
const round4 = new Set(ROUND4);
const round5 = new Set(ROUND5);
const name = (r: Result) => {
  const s = `${r.c.expect}: ${describeCall(r.c.call)}`;
  return s.length > 180 ? `${s.slice(0, 177)}…` : s;
};
const got = (r: Result) => `${r.d.decision} (${r.d.rules.join(", ") || "no rule"}): ${r.d.reason}`;

test("suite size: at least 300 dangerous and 200 harmless cases, every family has both", () => {
  const bad = CASES.filter((c) => c.expect !== "allow").length;
  const good = CASES.filter((c) => c.expect === "allow").length;
  assert.ok(bad >= 300, `only ${bad} dangerous cases`);
  assert.ok(good >= 200, `only ${good} harmless cases`);
  for (const f of FAMILIES) {
    assert.ok(
      CASES.some((c) => c.family === f && c.expect !== "allow"),
      `${f} has no dangerous case`,
    );
    assert.ok(
      CASES.some((c) => c.family === f && c.expect === "allow"),
      `${f} has no harmless case`,
    );
  }
});

test("every case is well-formed and gets a well-formed decision (only documented fail-closed reasons)", () => {
  const engineErrors: string[] = [];
  CASES.forEach((c, i) => {
    const where = `${c.family}: ${describeCall(c.call)}`;
    assert.ok(FAMILIES.includes(c.family), `unknown family in ${where}`);
    assert.ok(["deny", "confirm", "allow"].includes(c.expect), `bad expect in ${where}`);
    assert.ok(typeof c.call.tool === "string" && c.call.tool.length > 0, `no tool in ${where}`);
    assert.ok(c.call.params && typeof c.call.params === "object" && !Array.isArray(c.call.params), `params not an object in ${where}`);
    const p = c.call.params;
    if (c.call.tool === "exec") assert.ok(typeof p.command === "string" && p.command.trim(), `exec without a command: ${where}`);
    if (["read", "write", "edit"].includes(c.call.tool)) assert.ok(typeof p.path === "string" && p.path, `no path: ${where}`);
    if (["web_fetch", "browser"].includes(c.call.tool)) assert.ok(typeof p.url === "string" && p.url, `no url: ${where}`);
    assert.ok(!thrown.has(i), `decide threw on ${where}: ${thrown.get(i)}`);
    const d = results[i].d;
    assert.ok(["allow", "deny", "confirm"].includes(d.decision), `bad decision for ${where}: ${JSON.stringify(d)}`);
    assert.ok(Array.isArray(d.rules) && d.rules.every((r) => typeof r === "string"), `bad rules for ${where}`);
    assert.equal(typeof d.reason, "string", `no reason for ${where}`);
    for (const id of d.rules) assert.ok(KNOWN.has(id) || (POLICIES[c.family] && POLICY_ID.test(id)), `undocumented rule id ${id} for ${where}`);
    if (d.decision !== "deny") assert.ok(!d.rules.some((id) => DOCUMENTED.has(id)), `fail-closed id on a non-deny for ${where}`);
    if (d.rules.includes("tropic-fail-closed") && ENGINE_ERROR.test(d.reason)) engineErrors.push(`${where} → ${d.reason}`);
  });
  if (engineErrors.length)
    console.log(
      `\nadversarial: ${engineErrors.length} fail-closed denial(s) are engine errors, not parse refusals:\n  ${engineErrors.slice(0, 20).join("\n  ")}`,
    );
  if (STRICT) assert.deepEqual(engineErrors, [], "fail-closed by an engine error");
});

for (const family of FAMILIES) {
  test(`adversarial › ${family}`, async (t) => {
    for (const r of results.filter((x) => x.c.family === family)) {
      const miss = r.ours === "miss";
      await t.test(`${family} › ${name(r)}`, { todo: miss && !STRICT ? "miss: TROPIC_GATE_STRICT=1 makes this a failure" : false }, () => {
        if (!miss) return;
        // One line per miss (no stack): the call, what was expected, what the gate said and why.
        const e = new Error(`${r.c.family}: expected ${r.c.expect}, got ${got(r)}${r.c.note ? ` [${r.c.note}]` : ""}`);
        e.stack = e.message;
        throw e;
      });
    }
  });
}

test("adversarial table: per family, ours vs the glob-only anchor", () => {
  const misses = results.filter((r) => r.ours === "miss");
  const onlyFailClosed = results.filter((r) => r.c.expect !== "allow" && r.ours === "ok" && r.via === "fail-closed");
  const lines = [
    "",
    `Adversarial suite (issue 15): ${CASES.filter((c) => c.expect !== "allow").length} dangerous, ${CASES.filter((c) => c.expect === "allow").length} harmless; all three packs, default settings${STRICT ? ", STRICT" : ""}`,
    table(results),
    ...(ROUND2.length
      ? ["", "round 2 alone (held out: written after the engine owners had round 1):", table(results.filter((r) => heldOut.has(r.c)))]
      : []),
    ...(ROUND3.length
      ? ["", "round 3 alone (held out: written before any rule was changed for it):", table(results.filter((r) => round3.has(r.c)))]
      : []),
    ...(ROUND4.length
      ? ["", "round 4 alone (held out: written before any rule was changed for it):", table(results.filter((r) => round4.has(r.c)))]
      : []),
    ...(ROUND5.length
      ? ["", "round 5 alone (held out: written before any rule was changed for it):", table(results.filter((r) => round5.has(r.c)))]
      : []),
    "",
    `misses: ${misses.length}; dangerous calls stopped only by a fail-closed parse error: ${onlyFailClosed.length}`,
    ...misses.map((r) => `  MISS ${r.c.family} › ${name(r)} → ${r.d.decision}${r.d.rules.length ? ` (${r.d.rules.join(", ")})` : ""}`),
    ...onlyFailClosed.map((r) => `  FAIL-CLOSED ONLY ${r.c.family} › ${name(r)}`),
  ];
  console.log(lines.join("\n"));
  assert.equal(results.length, CASES.length);
});
