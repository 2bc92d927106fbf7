// Shared helpers for the benchmarks: free ports, a real `tropic serve` subprocess that is timed
// until /readyz answers 200, and throwaway PostgreSQL databases.
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
// @ts-expect-error -- autocannon 8 ships no type declarations (and @types/autocannon is not installed); typed below.
import autocannonUntyped from "autocannon";
import pg from "pg";
import { pgReachable as pgAnswers } from "../server/test/harness.ts";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const TROPIC_BIN = join(ROOT, "bin", "tropic");
export const PG_ADMIN_URL = process.env.TROPIC_BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** A TCP port that was free a moment ago (the kernel picks it; we release it straight away). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port ? resolvePort(port) : reject(new Error("no port assigned"))));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface ServeProcess {
  url: string;
  port: number;
  proc: ChildProcess;
  /** Spawn to the first 200 from GET /readyz, in milliseconds (what a user waits for). */
  readyMs: number;
  /** The "ready in N ms" the server itself printed (startServer only, without node/tsx boot), if seen. */
  selfReportedMs: number | undefined;
  /** Everything the process wrote to stderr so far (the CLI's messages). */
  stderr(): string;
  /** Everything the process wrote to stdout so far (the server's JSON log lines at TROPIC_LOG_LEVEL). */
  stdout(): string;
  /** SIGTERM, then wait for the process to exit (SIGKILL after `graceMs`). Returns the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

export interface ServeOptions {
  dataDir: string;
  /** Extra environment, e.g. DATABASE_URL. TROPIC_* and DATABASE_URL of the caller are not inherited. */
  env?: Record<string, string>;
  /** How often to poll /readyz. */
  pollMs?: number;
  timeoutMs?: number;
}

/** Spawns `bin/tropic serve` as a real subprocess and polls GET /readyz until it answers 200. */
export async function startServe(opts: ServeOptions): Promise<ServeProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith("TROPIC_") || k === "DATABASE_URL") continue;
    env[k] = v;
  }
  // The control-plane benchmark measures the API: its instances only record desired state (no gateways).
  Object.assign(env, { TROPIC_LOG_LEVEL: "warn", TROPIC_INSTANCES: "off" }, opts.env ?? {});

  const t0 = performance.now();
  const proc = spawn(TROPIC_BIN, ["serve", "--port", String(port), "--host", "127.0.0.1", "--data-dir", opts.dataDir], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  let out = "";
  proc.stderr!.setEncoding("utf8");
  proc.stderr!.on("data", (s: string) => {
    err += s;
  });
  proc.stdout!.setEncoding("utf8");
  proc.stdout!.on("data", (s: string) => {
    out += s;
  });
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exit = new Promise<number | null>((r) =>
    proc.once("exit", (code, signal) => {
      exited = { code, signal };
      r(code);
    }),
  );

  const stop = async (graceMs = 15_000): Promise<number | null> => {
    if (exited) return exited.code;
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
    const code = await exit;
    clearTimeout(timer);
    return code;
  };

  const pollMs = opts.pollMs ?? 20;
  const deadline = t0 + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (exited)
      throw new Error(
        `tropic serve exited (code ${exited.code}, signal ${exited.signal}) before /readyz was 200:\n${err.trim()}\n${out.trim()}`.trim(),
      );
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) {
      await stop(2000);
      throw new Error(`tropic serve was not ready within ${opts.timeoutMs ?? 60_000} ms:\n${err.trim()}`);
    }
    await sleep(pollMs);
  }
  const readyMs = performance.now() - t0;
  // The server prints "ready in N ms" after listen() resolves, so /readyz can win the race; wait briefly for it.
  for (let i = 0; i < 10 && !/ready in \d+ ms/.test(err); i++) await sleep(10);
  const m = /ready in (\d+) ms/.exec(err);
  return { url, port, proc, readyMs, selfReportedMs: m ? Number(m[1]) : undefined, stderr: () => err, stdout: () => out, stop };
}

/** Whether PostgreSQL answers at PG_ADMIN_URL. */
export const pgReachable = (): Promise<boolean> => pgAnswers(PG_ADMIN_URL);

/** A new, empty PostgreSQL database (CREATE DATABASE); drop() removes it again. */
export async function freshPgDatabase(prefix = "tropic_bench"): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  return {
    name,
    url,
    async drop() {
      const a = new pg.Client({ connectionString: PG_ADMIN_URL });
      await a.connect();
      try {
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}

/** Formats rows as an aligned plain-text table. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** Busy share of all CPUs over `ms` (from /proc/stat; undefined where that does not exist). */
export async function machineBusyPercent(ms = 1000): Promise<number | undefined> {
  const read = () => {
    try {
      const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
      const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0); // idle + iowait
      return { idle, total: cpu.reduce((a, b) => a + b, 0) };
    } catch {
      return undefined;
    }
  };
  const a = read();
  await sleep(ms);
  const b = read();
  if (!a || !b || b.total === a.total) return undefined;
  return 100 * (1 - (b.idle - a.idle) / (b.total - a.total));
}

/** CPU time (user + system, in ms) a process has used so far (from /proc/PID/stat; undefined elsewhere). */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[11] and [12] are utime and stime (fields 14 and 15 of proc(5)), in clock ticks (100 Hz on Linux).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

interface CpuSnapshot {
  /** Busy and total jiffies of the whole machine (all CPUs). */
  busy: number;
  total: number;
  /** Jiffies used by our own processes (this process, the given pids, and every `postgres` process). */
  ours: number;
}

function readCpuSnapshot(pids: (number | undefined)[]): CpuSnapshot | undefined {
  try {
    const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = cpu.reduce((a, b) => a + b, 0);
    const busy = total - (cpu[3] ?? 0) - (cpu[4] ?? 0);
    const own = new Set<number>([process.pid, ...pids.filter((p): p is number => !!p)]);
    let ours = 0;
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      } catch {
        continue; // exited meanwhile
      }
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      if (!own.has(Number(entry)) && comm !== "postgres") continue;
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ours += Number(f[11]) + Number(f[12]);
    }
    return { busy, total, ours };
  } catch {
    return undefined;
  }
}

/**
 * Measures how much CPU processes other than ours (this process, `pids`, PostgreSQL) take while
 * `fn` runs, as % of all CPUs: a benchmark figure taken while something else ran is not comparable.
 * Approximate: our processes that exit during `fn` are counted as "others".
 */
export async function withOthersCpu<T>(
  pids: () => (number | undefined)[],
  fn: () => Promise<T>,
): Promise<{ value: T; othersPercent: number | undefined }> {
  const a = readCpuSnapshot(pids());
  const value = await fn();
  const b = readCpuSnapshot(pids());
  if (!a || !b || b.total === a.total) return { value, othersPercent: undefined };
  // /proc/stat counts jiffies per CPU; per-process times are in the same 100 Hz ticks.
  const others = b.busy - a.busy - (b.ours - a.ours);
  return { value, othersPercent: Math.max(0, (100 * others) / (b.total - a.total)) };
}

/** Waits (up to `maxWaitMs`) until the machine is at most `busyPercent` busy over a 1 s sample; returns the last sample. */
export async function waitForQuiet(busyPercent = 10, maxWaitMs = 60_000): Promise<number | undefined> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const busy = await machineBusyPercent(1000);
    if (busy === undefined || busy <= busyPercent || Date.now() > deadline) return busy;
  }
}

export interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  headers?: Record<string, string>;
}
export interface AutocannonHistogram {
  average: number;
  mean: number;
  stddev: number;
  min: number;
  max: number;
  total: number;
  p50: number;
  p90: number;
  p99: number;
}
export interface AutocannonResult {
  requests: AutocannonHistogram;
  latency: AutocannonHistogram;
  throughput: AutocannonHistogram;
  errors: number;
  timeouts: number;
  non2xx: number;
  "2xx": number;
  duration: number;
}
/** A run is both a promise of the result and an emitter of each response (latency in ms, as a float). */
export type AutocannonRun = Promise<AutocannonResult> & {
  on(event: "response", fn: (client: unknown, status: number, bytes: number, ms: number) => void): void;
};
/** The HTTP load generator the benchmarks use, typed. */
export const autocannon = autocannonUntyped as (opts: AutocannonOptions) => AutocannonRun;
