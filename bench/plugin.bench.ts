// The gate's cost inside a real OpenClaw gateway: the same scripted agent turns (each 20 `read`
// tool calls of a small workspace file) on a gateway without the plugin and on one with it (linked
// as OpenClaw users get it: the prepared plain-JS bundle, plugin/src/bundle.ts).
// Per tool call we time, at the scripted model server, the gap between sending the response that
// asks for tool call i and receiving the request that carries its result: tool execution plus every
// hook around it. Also reported: the plugin's own decision time (audit durationMs), the gateway's
// RSS after the same work (rounds alternate the order; a gateway's RSS varies by tens of MB between
// runs, so the medians are compared), and, to separate causes, the RSS a bare Node 24 process adds
// by importing the bundle and by creating the Gate.
// A third variant loads an empty plugin (the same manifest and id, the gate's hooks as no-ops): what
// OpenClaw itself keeps for loading any plugin, so the gate's own share is "with" minus "empty plugin".
// Standalone: `node --import tsx bench/plugin.bench.ts`. BENCH_ROUNDS (default 2) gateway runs per
// variant; BENCH_SOURCE=1 also runs a gateway linking the TypeScript sources (plugin/) directly.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { installRuntime, testRuntimeDir } from "@tropic/runtime";
import { preparedPluginDir } from "../plugin/src/bundle.ts";
import { Instance, PLUGIN_DIR } from "../plugin/test/harness.ts";

const CALLS = Number(process.env.BENCH_CALLS ?? 20);
const TURNS = Number(process.env.BENCH_TURNS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WARMUP = 2;

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The gateway's resident memory by kind of mapping (MB), from /proc/<pid>/smaps: the `node` binary's pages,
 * the malloc heap, executable anonymous memory (wasm and JIT code), other anonymous memory (the V8 heap, wasm
 * linear memories, compiler zones), and other files. Which region the plugin's share lands in says what it is. */
function regionsMb(pid: number | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!pid) return out;
  let kind = "";
  try {
    for (const l of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
      const m = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/.exec(l);
      if (m) {
        kind = m[2] ? (/\/bin\/node$/.test(m[2]) ? "node binary" : m[2].startsWith("[") ? m[2] : "files") : m[1].includes("x") ? "anon exec" : "anon";
        continue;
      }
      const r = /^Rss:\s+(\d+)/.exec(l);
      if (r) out[kind] = (out[kind] ?? 0) + Number(r[1]) / 1024;
    }
  } catch {
    // the gateway exited
  }
  return out;
}

async function run(withPlugin: boolean, pluginDir?: string) {
  const inst = new Instance({ withPlugin, pluginDir });
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
    const regions = regionsMb(inst.pid());
    const decisions = inst
      .audit()
      .filter((e) => e.phase === "call")
      .map((e) => e.durationMs as number);
    return { gaps, rssMb: q(rss, 50) / 1024, decisions, regions };
  } finally {
    await inst.stop();
  }
}

// A bare Node 24 process (the gateway's runtime): RSS after GC with nothing loaded, after importing
// the bundle, and after registering it (Gate created, 50 decisions) with the base pack / all packs.
const PROBE = `
const settle = async () => { for (let i = 0; i < 3; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 100)); } };
await settle();
const base = process.memoryUsage().rss;
const mode = process.env.PROBE_MODE;
if (mode !== "none") {
  const mod = await import(process.env.PROBE_ENTRY);
  if (mode !== "import") {
    const hooks = {};
    const packs = mode === "gate-all" ? { base: true, system: true, owasp: true } : { base: true };
    mod.default.register({ pluginConfig: { packs }, config: {}, logger: { info() {}, warn() {}, error: console.error },
      on: (n, h) => { hooks[n] = h; }, registerAgentToolResultMiddleware() {} });
    for (let i = 0; i < 50; i++) {
      const r = await hooks.before_tool_call({ toolName: "exec", params: { command: i % 2 ? "rm -rf /srv/x" : "ls -la" } }, { agentId: "main" });
      if (i % 2 && !r?.block) throw new Error("the probe expected a block");
    }
  }
}
await settle();
console.log(JSON.stringify({ rss: process.memoryUsage().rss, added: process.memoryUsage().rss - base }));
process.exit(0);`;

async function probe(entry: string) {
  const rt = await installRuntime({ dir: testRuntimeDir() });
  const home = join(process.env.TMPDIR ?? "/tmp", `tropic-probe-${process.pid}`);
  const out: Record<string, number> = {};
  for (const mode of ["none", "import", "gate-base", "gate-all"]) {
    const added: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = spawnSync(rt.node, ["--expose-gc", "--input-type=module", "-e", PROBE], {
        env: { PATH: process.env.PATH, HOME: home, OPENCLAW_STATE_DIR: join(home, ".openclaw"), PROBE_MODE: mode, PROBE_ENTRY: entry },
        encoding: "utf8",
      });
      if (r.status !== 0) throw new Error(`probe ${mode} failed: ${r.stderr}`);
      const j = JSON.parse(r.stdout.trim().split("\n").pop()!);
      added.push((mode === "none" ? j.rss : j.added) / 2 ** 20);
    }
    out[mode] = median(added);
  }
  rmSync(home, { recursive: true, force: true });
  return out;
}

const bundleDir = await preparedPluginDir();
/** The same manifest, package.json and id as the bundle, and a plugin that registers the gate's hooks as no-ops. */
function emptyPluginDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tropic-empty-plugin-"));
  for (const f of ["openclaw.plugin.json", "package.json"]) copyFileSync(join(bundleDir, f), join(dir, f));
  writeFileSync(
    join(dir, "index.mjs"),
    `export default { id: "tropic-gate", name: "empty", description: "no-op", register(api) {
  api.on("before_tool_call", async () => undefined, { priority: 1000 });
  api.on("tool_result_persist", () => undefined, { priority: 1000 });
  api.registerAgentToolResultMiddleware?.(async () => undefined, { runtimes: ["openclaw", "codex"] });
} };\n`,
  );
  return dir;
}
const emptyDir = emptyPluginDir();
process.on("exit", () => rmSync(emptyDir, { recursive: true, force: true }));
const variants: { name: string; withPlugin: boolean; pluginDir?: string }[] = [
  { name: "without", withPlugin: false },
  { name: "empty plugin", withPlugin: true, pluginDir: emptyDir },
  { name: "with", withPlugin: true, pluginDir: bundleDir },
  ...(process.env.BENCH_SOURCE === "1" ? [{ name: "with (TS sources)", withPlugin: true, pluginDir: PLUGIN_DIR }] : []),
];
const results = new Map(
  variants.map((v) => [v.name, { gaps: [] as number[], rss: [] as number[], decisions: [] as number[], regions: [] as Record<string, number>[] }]),
);
for (let round = 0; round < ROUNDS; round++) {
  for (const v of round % 2 ? [...variants].reverse() : variants) {
    const r = await run(v.withPlugin, v.pluginDir);
    const acc = results.get(v.name)!;
    acc.gaps.push(...r.gaps);
    acc.rss.push(r.rssMb);
    acc.decisions.push(...r.decisions);
    acc.regions.push(r.regions);
  }
}
const iso = await probe(join(bundleDir, "index.mjs"));

const fmt = (n: number) => n.toFixed(2);
const without = results.get("without")!;
const withP = results.get("with")!;
const lines = [
  `tool calls measured per variant: ${without.gaps.length} (${ROUNDS} gateway runs × ${TURNS} turns × ${CALLS} read calls, after ${WARMUP} warm-up turns each)`,
  `per tool call, without plugin: p50 ${fmt(q(without.gaps, 50))} ms, p99 ${fmt(q(without.gaps, 99))} ms`,
  `per tool call, with plugin:    p50 ${fmt(q(withP.gaps, 50))} ms, p99 ${fmt(q(withP.gaps, 99))} ms`,
  `added per tool call:           p50 ${fmt(q(withP.gaps, 50) - q(without.gaps, 50))} ms, p99 ${fmt(q(withP.gaps, 99) - q(without.gaps, 99))} ms`,
  `plugin decision time (audit durationMs, ${withP.decisions.length} calls): p50 ${fmt(q(withP.decisions, 50))} ms, p99 ${fmt(q(withP.decisions, 99))} ms`,
];
for (const [name, r] of results)
  lines.push(`gateway RSS ${name}: median ${median(r.rss).toFixed(0)} MB (runs: ${r.rss.map((x) => x.toFixed(0)).join(", ")})`);
for (const [name, r] of results)
  if (name !== "without") lines.push(`gateway RSS added, ${name}: ${(median(r.rss) - median(without.rss)).toFixed(0)} MB (medians; target ≤ 30 MB)`);
const empty = results.get("empty plugin")!;
lines.push(`gateway RSS added by the gate over an empty plugin: ${(median(withP.rss) - median(empty.rss)).toFixed(0)} MB (medians)`);
const kinds = [...new Set([...results.values()].flatMap((r) => r.regions.flatMap((x) => Object.keys(x))))];
for (const [name, r] of results)
  lines.push(
    `gateway RSS by region, ${name} (medians, MB): ${kinds
      .map((k) => `${k} ${median(r.regions.map((x) => x[k] ?? 0)).toFixed(1)}`)
      .join(", ")} (load ${loadavg()[0].toFixed(1)})`,
  );
lines.push(
  `bare Node 24 (medians of 3): ${iso.none.toFixed(0)} MB; the bundle adds ${iso.import.toFixed(1)} MB imported, ${iso["gate-base"].toFixed(1)} MB with the Gate (base pack), ${iso["gate-all"].toFixed(1)} MB (all packs)`,
);
for (const l of lines) console.log(l);
