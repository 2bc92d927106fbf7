// The gate's cost inside a real OpenClaw gateway: the same scripted agent turns (each 20 `read`
// tool calls of a small workspace file) on a gateway without the plugin and on one with it.
// Per tool call we time, at the scripted model server, the gap between sending the response that
// asks for tool call i and receiving the request that carries its result: tool execution plus every
// hook around it. Also reported: the plugin's own decision time (audit durationMs) and the gateway's
// RSS after the same work. Standalone: `node --import tsx bench/plugin.bench.ts`.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Instance } from "../plugin/test/harness.ts";

const CALLS = Number(process.env.BENCH_CALLS ?? 20);
const TURNS = Number(process.env.BENCH_TURNS ?? 8);
const WARMUP = 2;

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};

async function run(withPlugin: boolean) {
  const inst = new Instance({ withPlugin });
  try {
    writeFileSync(join(inst.workspace, "small.txt"), "a small file\n".repeat(20));
    const calls = Array.from({ length: CALLS }, () => ({ name: "read", arguments: { path: join(inst.workspace, "small.txt") } }));
    for (let t = 0; t < TURNS + WARMUP; t++) inst.model.script(`bench${t}`, calls);
    await inst.start();
    const gaps: number[] = [];
    for (let t = 0; t < TURNS + WARMUP; t++) {
      await inst.turn(`bench${t}`);
      if (t < WARMUP) continue;
      const reqs = inst.model.of(`bench${t}`);
      for (let i = 0; i + 1 < reqs.length && i < CALLS; i++) gaps.push(reqs[i + 1].at - reqs[i].doneAt);
    }
    await new Promise((r) => setTimeout(r, 2000));
    const rss: number[] = [];
    for (let i = 0; i < 5; i++) {
      rss.push(inst.rssKb());
      await new Promise((r) => setTimeout(r, 300));
    }
    const decisions = inst
      .audit()
      .filter((e) => e.phase === "call")
      .map((e) => e.durationMs as number);
    return { gaps, rssMb: q(rss, 50) / 1024, decisions };
  } finally {
    await inst.stop();
  }
}

const without = await run(false);
const withP = await run(true);
const fmt = (n: number) => n.toFixed(2);
const lines = [
  `tool calls measured: ${without.gaps.length} without, ${withP.gaps.length} with the plugin (${TURNS} turns × ${CALLS} read calls, after ${WARMUP} warm-up turns)`,
  `per tool call, without plugin: p50 ${fmt(q(without.gaps, 50))} ms, p99 ${fmt(q(without.gaps, 99))} ms`,
  `per tool call, with plugin:    p50 ${fmt(q(withP.gaps, 50))} ms, p99 ${fmt(q(withP.gaps, 99))} ms`,
  `added per tool call:           p50 ${fmt(q(withP.gaps, 50) - q(without.gaps, 50))} ms, p99 ${fmt(q(withP.gaps, 99) - q(without.gaps, 99))} ms`,
  `plugin decision time (audit durationMs, ${withP.decisions.length} calls): p50 ${fmt(q(withP.decisions, 50))} ms, p99 ${fmt(q(withP.decisions, 99))} ms`,
  `gateway RSS: without ${without.rssMb.toFixed(0)} MB, with ${withP.rssMb.toFixed(0)} MB, added ${(withP.rssMb - without.rssMb).toFixed(0)} MB (target ≤ 30 MB)`,
];
for (const l of lines) console.log(l);
