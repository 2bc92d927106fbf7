// Gate benchmark: decision latency (all packs + a 10-rule policy), redaction throughput, and our
// packs vs a glob-only (Sondera-style `like` on the raw command) rule set on the lists.
import { loadavg } from "node:os";
import { SEED_POLICY_RULES } from "@tropic/marketplace";
import { Gate, PACKS, redactSecrets } from "../gate/src/index.ts";
import { MUST_ALLOW, MUST_DENY } from "../gate/test/lists.ts";
import { like } from "../policy/src/index.ts";
import { GLOB_ANCHOR } from "../gate/test/adversarial-cases.ts";

// The seed's eight example rules plus two more: the 10-rule policy of the issue.
const POLICY = [...SEED_POLICY_RULES, "REQUIRE CONFIRM: git push", "DENY: run background processes"].join("\n");

const calls = [
  ...Object.values(PACKS)
    .flat()
    .flatMap((r) => [...r.deny, ...r.allow])
    .filter((e) => typeof e !== "string" || !e.includes("KEY"))
    .map((e) => (typeof e === "string" ? { tool: "exec", params: { command: e } } : e)),
  { tool: "exec", params: { command: "ls -la && git status" } },
  { tool: "exec", params: { command: "npm test 2>&1 | tail -20" } },
  { tool: "read", params: { path: "src/index.ts" } },
  { tool: "web_fetch", params: { url: "https://example.com/docs" } },
];
const N = 20000;
const PACK_RULES = Object.values(PACKS).flat().length;
// Cold: the decision cache off, so every op with a candidate rule goes through Cedar (the engine's
// worst case). Steady state: the default cache, as a running gateway sees repeated commands and paths.
for (const [label, decisionCache] of [
  ["every decision through Cedar (cache off)", 0],
  ["steady state (decision cache on)", undefined],
] as const) {
  const gate = await Gate.create({ packs: ["base", "system", "owasp"], policies: { "*": POLICY }, decisionCache });
  for (let i = 0; i < 2000; i++) gate.decide(calls[i % calls.length]);
  const t: number[] = [];
  const per: number[][] = calls.map(() => []);
  for (let i = 0; i < N; i++) {
    const k = (i * 7919) % calls.length;
    const a = process.hrtime.bigint();
    gate.decide(calls[k]);
    const us = Number(process.hrtime.bigint() - a) / 1000;
    t.push(us);
    per[k].push(us);
  }
  t.sort((a, b) => a - b);
  const at = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
  const pct = (p: number) => at(t, p).toFixed(1);
  // On a shared machine a preempted or GC-hit sample lands anywhere: each call's median over its ~35
  // samples, then the same percentiles over the calls (the mix is uniform), is the figure load moves least.
  const med = per
    .map((xs) =>
      at(
        [...xs].sort((a, b) => a - b),
        50,
      ),
    )
    .sort((a, b) => a - b);
  console.log(
    `decision latency, ${label}, ${N} mixed calls (${calls.length} distinct), ${PACK_RULES} pack rules + 10-rule policy: p50 ${pct(50)} µs, p99 ${pct(99)} µs, max ${t[t.length - 1].toFixed(0)} µs; per-call medians: p50 ${at(med, 50).toFixed(1)} µs, p99 ${at(med, 99).toFixed(1)} µs (load ${loadavg()[0].toFixed(2)})`,
  );
}

// 1 MB of mixed tool output with a secret every ~4 KB.
const lines = [
  "total 48\ndrwxr-xr-x 2 u u 4096 Nov 22 src\n",
  "commit 3f786850e387550fdab836ed7e6dc881de23001b\nAuthor: a <a@b.c>\n",
  "GET /api/v1/items 200 12ms id=123e4567-e89b-12d3-a456-426614174000\n",
  "export const x = 1; // lorem ipsum dolor sit amet\n",
];
let text = "";
let k = 0;
while (text.length < 1024 * 1024) text += k++ % 80 === 0 ? "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n" : lines[k % lines.length];
const reps = 20;
const a = process.hrtime.bigint();
for (let i = 0; i < reps; i++) redactSecrets(text);
const s = Number(process.hrtime.bigint() - a) / 1e9;
console.log(`redaction throughput on ${(text.length / 1048576).toFixed(2)} MB: ${((text.length * reps) / 1048576 / s).toFixed(0)} MB/s`);

// Glob-only rule set (what a raw-string `like` gate can express for the same intents): one list,
// shared with the adversarial suite.
const GLOBS = GLOB_ANCHOR;
const globDeny = (c: string) => GLOBS.some((g) => like(c, g));
const base = await Gate.create({ packs: ["base"] });
const rows = [
  ...MUST_DENY.map((c) => [c, true] as const),
  ...MUST_ALLOW.map((c) => [c, false] as const),
  ["cat docs/secrets-management.md", false] as const,
  ["cat .env.example", false] as const,
];
let ours = 0;
let glob = 0;
const table = ["| command | expected | ours | glob-only |", "|---|---|---|---|"];
for (const [c, deny] of rows) {
  const o = base.decide({ tool: "exec", params: { command: c } }).decision === "deny";
  const g = globDeny(c);
  ours += Number(o === deny);
  glob += Number(g === deny);
  table.push(
    `| \`${c.replace(/\t/g, "\\t").replace(/\|/g, "\\|")}\` | ${deny ? "deny" : "allow"} | ${o === deny ? "✓" : "✗"} | ${g === deny ? "✓" : "✗"} |`,
  );
}
table.push(`| **correct** | | **${ours}/${rows.length}** | **${glob}/${rows.length}** |`);
console.log(table.join("\n"));
