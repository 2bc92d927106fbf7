// Every pack rule: each of its deny examples is caught by that rule, each near-miss passes the pack.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Gate, PACKS, type ToolCall } from "../src/index.ts";

const HOME = "/home/u";
const asCall = (e: string | ToolCall): ToolCall => (typeof e === "string" ? { tool: "exec", params: { command: e } } : e);

test("pack sizes: the seed's 41 / 24 / 38 plus the capability rules of issue 15 (base 53); ids are unique", () => {
  assert.equal(PACKS.base.length, 53);
  assert.equal(PACKS.system.length, 24);
  assert.equal(PACKS.owasp.length, 38);
  const ids = [...PACKS.base, ...PACKS.system, ...PACKS.owasp].map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length);
});

for (const pack of ["base", "system", "owasp"] as const) {
  test(`${pack} pack: every rule denies its examples and allows its near-misses`, async () => {
    const g = await Gate.create({ packs: [pack], home: HOME });
    for (const r of PACKS[pack]) {
      assert.ok(r.deny.length && r.allow.length, `${r.id} needs examples`);
      const isRedact = r.any.every((c) => c.op.includes("redact"));
      for (const ex of r.deny) {
        if (isRedact) {
          const out = g.redact(ex as string);
          assert.ok(
            out.redactions.some((x) => x.rule === r.id),
            `${r.id} should redact ${JSON.stringify(ex)} → ${JSON.stringify(out)}`,
          );
          continue;
        }
        const d = g.decide(asCall(ex));
        assert.ok(d.rules.includes(r.id), `${r.id} should catch ${JSON.stringify(ex)}, got ${JSON.stringify(d)}`);
        assert.equal(
          d.decision,
          d.rules.some((id) => PACKS[pack].find((x) => x.id === id)?.effect === "deny") ? "deny" : r.effect,
          JSON.stringify(ex),
        );
      }
      for (const ex of r.allow) {
        if (isRedact) {
          const out = g.redact(ex as string);
          assert.equal(out.text, ex, `${r.id} must not redact ${JSON.stringify(ex)}`);
          continue;
        }
        const d = g.decide(asCall(ex));
        assert.equal(d.decision, "allow", `${r.id} near-miss ${JSON.stringify(ex)} should be allowed, got ${JSON.stringify(d)}`);
      }
    }
  });
}

test("prefilter is only an optimisation: same decisions with it off", async () => {
  const fast = await Gate.create({ packs: ["base", "system", "owasp"], home: HOME });
  const slow = await Gate.create({ packs: ["base", "system", "owasp"], home: HOME, prefilter: false });
  for (const pack of Object.values(PACKS))
    for (const r of pack)
      for (const ex of [...r.deny, ...r.allow]) {
        if (r.any.every((c) => c.op.includes("redact"))) continue;
        const a = fast.decide(asCall(ex));
        const b = slow.decide(asCall(ex));
        assert.deepEqual({ d: a.decision, r: [...a.rules].sort() }, { d: b.decision, r: [...b.rules].sort() }, JSON.stringify(ex));
      }
});

test("the decision cache is only an optimisation: same decisions, and a reload never serves an old answer", async () => {
  const cached = await Gate.create({ packs: ["base", "system", "owasp"], home: HOME });
  const uncached = await Gate.create({ packs: ["base", "system", "owasp"], home: HOME, decisionCache: 0 });
  const examples = Object.values(PACKS)
    .flat()
    .filter((r) => !r.any.every((c) => c.op.includes("redact")))
    .flatMap((r) => [...r.deny, ...r.allow]);
  for (let round = 0; round < 2; round++)
    for (const ex of examples) {
      const a = cached.decide(asCall(ex));
      const b = uncached.decide(asCall(ex));
      assert.deepEqual({ d: a.decision, r: [...a.rules].sort() }, { d: b.decision, r: [...b.rules].sort() }, `round ${round}: ${JSON.stringify(ex)}`);
    }
  const gate = await Gate.create({ packs: ["base"], home: HOME });
  const touch = { tool: "exec", params: { command: "touch notes.txt" } };
  assert.equal(gate.decide(touch).decision, "allow");
  assert.equal(gate.decide(touch).decision, "allow", "now answered from the cache");
  gate.reload({ "*": "DENY: run touch" });
  assert.equal(gate.decide(touch).decision, "deny", "the new rule set is consulted, not the cached answer");
});
