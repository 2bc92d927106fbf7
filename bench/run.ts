// `npm run bench [-- NAME...]`: runs every bench/*.bench.ts (sorted) as its own process, so one
// benchmark's servers, timers and heap never skew the next. NAME filters by substring of the file name.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BENCH_DIR = join(ROOT, "bench");
const SUFFIX = ".bench.ts";

const filters = process.argv.slice(2).filter((a) => a !== "--");
const all = readdirSync(BENCH_DIR)
  .filter((f) => f.endsWith(SUFFIX))
  .sort();
const selected = filters.length ? all.filter((f) => filters.some((q) => basename(f, SUFFIX).includes(q) || f === q || `bench/${f}` === q)) : all;

if (!selected.length) {
  process.stderr.write(
    filters.length
      ? `no benchmark matches ${filters.map((f) => `"${f}"`).join(", ")}; available: ${all.map((f) => basename(f, SUFFIX)).join(", ") || "none"}\n`
      : `no bench/*${SUFFIX} files found\n`,
  );
  process.exit(2);
}

function runOne(file: string): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ["--import", "tsx", join("bench", file)], { cwd: ROOT, stdio: "inherit" });
    child.once("error", (err) => {
      process.stderr.write(`could not start bench/${file}: ${err.message}\n`);
      done({ code: 1, signal: null });
    });
    child.once("exit", (code, signal) => done({ code, signal }));
  });
}

const results: { file: string; ok: boolean; seconds: number; how: string }[] = [];
for (const file of selected) {
  const rule = "=".repeat(Math.max(20, 72 - file.length - 8));
  process.stdout.write(`\n=== bench/${file} ${rule}\n\n`);
  const t0 = performance.now();
  const { code, signal } = await runOne(file);
  const seconds = (performance.now() - t0) / 1000;
  const ok = code === 0;
  results.push({ file, ok, seconds, how: signal ? `killed by ${signal}` : `exit ${code}` });
}

process.stdout.write("\n=== summary ===\n");
for (const r of results) process.stdout.write(`${r.ok ? "ok    " : "FAILED"}  bench/${r.file}  (${r.seconds.toFixed(1)} s, ${r.how})\n`);
const failed = results.filter((r) => !r.ok).length;
if (failed) process.stdout.write(`${failed} of ${results.length} benchmark(s) failed\n`);
process.exit(failed ? 1 : 0);
