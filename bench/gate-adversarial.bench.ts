// Issue 15: our adversarial suite (gate/test/adversarial-cases.ts), per family — dangerous calls
// stopped and harmless look-alikes allowed, ours (all three packs, default settings) vs the glob-only
// anchor of bench/gate.bench.ts (Sondera-style `like` globs on the raw command / path / URL).
// `npm run bench -- gate-adversarial`.
import { Gate } from "../gate/src/index.ts";
import { CASES, HOME, POLICIES, ROUND2, ROUND3, ROUND4, ROUND5, judge, table } from "../gate/test/adversarial-cases.ts";

const settings = { blockBrowser: false, blockCodeExecution: false, blockOsCommands: false, phoneMode: "unrestricted" as const, phonePatterns: [] };
const gate = await Gate.create({ packs: ["base", "system", "owasp"], home: HOME, settings });
// Families run under a user policy (POLICIES) get a gate with that policy on top of the same packs.
const policyGates = new Map<string, Gate>();
for (const [family, text] of Object.entries(POLICIES))
  policyGates.set(family, await Gate.create({ packs: ["base", "system", "owasp"], home: HOME, settings, policies: { "*": text as string } }));
const t0 = performance.now();
const results = CASES.map((c) => judge(c, (policyGates.get(c.family) ?? gate).decide(c.call)));
const ms = performance.now() - t0;
const bad = results.filter((r) => r.c.expect !== "allow");
const failClosed = bad.filter((r) => r.ours === "ok" && r.via === "fail-closed").length;
const unknown = bad.filter((r) => r.ours === "ok" && r.via === "unknown-program").length;
console.log(
  `adversarial suite: ${bad.length} dangerous, ${results.length - bad.length} harmless calls (decided in ${ms.toFixed(0)} ms, first sight, cache cold)`,
);
console.log(table(results));
if (ROUND2.length) {
  const held = new Set(ROUND2);
  console.log("round 2 alone (held out: written after the engine owners had round 1):");
  console.log(table(results.filter((r) => held.has(r.c))));
}
if (ROUND3.length) {
  const held = new Set(ROUND3);
  console.log("round 3 alone (held out: written before any rule was changed for it):");
  console.log(table(results.filter((r) => held.has(r.c))));
}
if (ROUND4.length) {
  const held = new Set(ROUND4);
  console.log("round 4 alone (held out: written before any rule was changed for it):");
  console.log(table(results.filter((r) => held.has(r.c))));
}
if (ROUND5.length) {
  const held = new Set(ROUND5);
  console.log("round 5 alone (held out: written before any rule was changed for it):");
  console.log(table(results.filter((r) => held.has(r.c))));
}
console.log(`dangerous calls stopped only because the parse failed (tropic-fail-closed): ${failClosed}; by the unknown-program check: ${unknown}`);
