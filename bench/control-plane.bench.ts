// Issue 2's control-plane figures, measured against real `tropic serve` subprocesses:
//   a. cold start to GET /readyz 200 on the embedded database (first run with initdb, and restarts);
//   b. GET /api/v1/instances under 200 concurrent connections for 10 s, on PGlite and on PostgreSQL.
// Prints tables, then one JSON line (the last line of stdout) for scripts.
//
// The machine is small (2 cores) and shared: before each phase the benchmark waits (up to 60 s)
// for it to go quiet, and it reports how much CPU other processes took during each measurement.
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import {
  PG_ADMIN_URL,
  type ServeProcess,
  freshPgDatabase,
  median,
  pgReachable,
  processCpuMs,
  startServe,
  table,
  waitForQuiet,
  withOthersCpu,
  autocannon,
} from "./lib.ts";

const COLD_TARGET_MS = 3000;
const P99_TARGET_MS = 25;
const RESTARTS = 5;
const CONNECTIONS = 200;
const DURATION_S = 10;
const WARMUP_S = 2;
const INSTANCES = 20;
/** Above this share of all CPUs taken by other processes, a measurement is flagged as disturbed. */
const DISTURBED_PERCENT = 10;

type Backend = "pglite" | "postgres";

interface StartRun {
  readyMs: number;
  selfReportedMs: number | undefined;
  othersCpuPercent: number | undefined;
}

interface ColdStart {
  firstRun: StartRun;
  restarts: StartRun[];
  restartMedianMs: number;
  restartSelfReportedMedianMs: number | undefined;
  targetMs: number;
  met: boolean;
}

interface LoadResult {
  backend: Backend;
  connections: number;
  durationS: number;
  warmupS: number;
  requestsPerSec: number;
  requestsTotal: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** connections / (requests/s): the mean latency a closed loop of this many connections must see at this throughput. */
  littleMeanMs: number;
  /** CPU the server process used during the measured run, as % of one core (Linux only). */
  serverCpuPercent: number | undefined;
  /** CPU other processes (not this one, the server, PostgreSQL) took during the measured run, as % of all CPUs. */
  othersCpuPercent: number | undefined;
  /** Server log lines at warn or above (TROPIC_LOG_LEVEL=warn): during the run, and after SIGTERM. */
  serverLogLines: { duringRun: number; afterSigterm: number; first: string | undefined };
  targetP99Ms: number | null;
  met: boolean | null;
}

const ms = (n: number) => `${Math.round(n)} ms`;
const secs = (n: number) => `${(n / 1000).toFixed(2)} s`;
const pct = (n: number | undefined) => (n === undefined ? "?" : `${n.toFixed(0)}%`);
const log = (s = "") => process.stdout.write(`${s}\n`);
const disturbed = (others: number | undefined) => others !== undefined && others > DISTURBED_PERCENT;

async function quiet(what: string): Promise<void> {
  const busy = await waitForQuiet(DISTURBED_PERCENT, 60_000);
  if (busy !== undefined && busy > DISTURBED_PERCENT)
    log(`  warning: the machine is still ${busy.toFixed(0)}% busy after waiting 60 s; ${what} will be disturbed`);
}

/** One start, timed; stopped again (SIGTERM, wait for exit) before returning. */
async function timedStart(dataDir: string): Promise<StartRun> {
  let server: ServeProcess | undefined;
  const { othersPercent } = await withOthersCpu(
    () => [server?.proc.pid],
    async () => {
      server = await startServe({ dataDir, pollMs: 20 });
    },
  );
  const s = server!;
  const code = await s.stop();
  if (code !== 0) throw new Error(`tropic serve exited with ${code} on SIGTERM:\n${s.stderr()}\n${s.stdout()}`);
  return { readyMs: s.readyMs, selfReportedMs: s.selfReportedMs, othersCpuPercent: othersPercent };
}

function describeStart(label: string, r: StartRun): string {
  const others = disturbed(r.othersCpuPercent) ? ` -- DISTURBED: other processes took ${pct(r.othersCpuPercent)} of the CPUs` : "";
  return `  ${label}: ${ms(r.readyMs)} to /readyz 200 (the server says ready in ${r.selfReportedMs ?? "?"} ms)${others}`;
}

async function coldStart(): Promise<ColdStart> {
  const tmp = mkdtempSync(join(tmpdir(), "tropic-bench-cold-"));
  const dataDir = join(tmp, "data"); // does not exist yet: the first start creates it and runs initdb
  try {
    await quiet("the cold start");
    const firstRun = await timedStart(dataDir);
    log(describeStart("first start (empty data dir)", firstRun));
    const restarts: StartRun[] = [];
    for (let i = 0; i < RESTARTS; i++) {
      await quiet("the restart");
      const r = await timedStart(dataDir);
      restarts.push(r);
      log(describeStart(`restart ${i + 1}/${RESTARTS}`, r));
    }
    const restartMedianMs = median(restarts.map((r) => r.readyMs));
    const self = restarts.flatMap((r) => (r.selfReportedMs === undefined ? [] : [r.selfReportedMs]));
    return {
      firstRun,
      restarts,
      restartMedianMs,
      restartSelfReportedMedianMs: self.length ? median(self) : undefined,
      targetMs: COLD_TARGET_MS,
      met: restartMedianMs <= COLD_TARGET_MS,
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function api(url: string, path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${url}${path}`, {
    method: init.method ?? "GET",
    headers: { ...(init.body !== undefined ? { "content-type": "application/json" } : {}), ...init.headers },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Signs up a user, makes an API token and INSTANCES instance records; returns the bearer header. */
async function seed(url: string): Promise<Record<string, string>> {
  const signup = await api(url, "/api/v1/auth/signup", {
    method: "POST",
    body: { email: `bench-${Date.now()}@example.com`, password: "correct horse battery staple" },
  });
  if (signup.status !== 201) throw new Error(`signup: ${signup.status} ${JSON.stringify(signup.body)}`);
  const cookie = (signup.headers.get("set-cookie") ?? "").split(";")[0]!;
  const tok = await api(url, "/api/v1/tokens", { method: "POST", headers: { cookie }, body: { name: "bench" } });
  if (tok.status !== 201) throw new Error(`create token: ${tok.status} ${JSON.stringify(tok.body)}`);
  const auth = { authorization: `Bearer ${tok.body.token as string}` };
  for (let i = 0; i < INSTANCES; i++) {
    const r = await api(url, "/api/v1/instances", { method: "POST", headers: auth, body: { name: `bench-${i + 1}` } });
    if (r.status !== 201) throw new Error(`create instance: ${r.status} ${JSON.stringify(r.body)}`);
  }
  const list = await api(url, "/api/v1/instances", { headers: auth });
  const n = (list.body.items as unknown[] | undefined)?.length;
  if (list.status !== 200 || n !== INSTANCES)
    throw new Error(`GET /api/v1/instances before load: ${list.status}, ${n} items (expected ${INSTANCES})`);
  return auth;
}

async function load(backend: Backend): Promise<LoadResult> {
  const tmp = mkdtempSync(join(tmpdir(), `tropic-bench-${backend}-`));
  const db = backend === "postgres" ? await freshPgDatabase() : undefined;
  try {
    const server = await startServe({ dataDir: join(tmp, "data"), env: db ? { DATABASE_URL: db.url } : {} });
    try {
      const headers = await seed(server.url);
      const url = `${server.url}/api/v1/instances`;
      await quiet("the load test");
      // Warm-up (not counted): JIT, pool connections and PostgreSQL's plan/buffer caches.
      await autocannon({ url, connections: CONNECTIONS, duration: WARMUP_S, headers });
      const cpu0 = processCpuMs(server.proc.pid);
      const { value: r, othersPercent } = await withOthersCpu(
        () => [server.proc.pid],
        () => autocannon({ url, connections: CONNECTIONS, duration: DURATION_S, headers }),
      );
      const cpu1 = processCpuMs(server.proc.pid);
      const sigtermAt = Date.now();
      const code = await server.stop();
      if (code !== 0) log(`  warning: tropic serve (${backend}) exited with ${code} on SIGTERM`);
      const serverLogLines = summarizeLog(server.stdout(), sigtermAt);
      if (serverLogLines.duringRun || serverLogLines.afterSigterm)
        log(
          `  the server logged ${serverLogLines.duringRun} warn/error line(s) during the run and ${serverLogLines.afterSigterm} after SIGTERM; first: ${serverLogLines.first}`,
        );
      if (disturbed(othersPercent)) log(`  DISTURBED: other processes took ${pct(othersPercent)} of the CPUs during the measured run`);
      const target = backend === "postgres" ? P99_TARGET_MS : null;
      return {
        backend,
        connections: CONNECTIONS,
        durationS: DURATION_S,
        warmupS: WARMUP_S,
        requestsPerSec: r.requests.average,
        requestsTotal: r.requests.total,
        p50Ms: r.latency.p50,
        p90Ms: r.latency.p90,
        p99Ms: r.latency.p99,
        maxMs: r.latency.max,
        non2xx: r.non2xx,
        errors: r.errors,
        timeouts: r.timeouts,
        littleMeanMs: r.requests.average > 0 ? (CONNECTIONS / r.requests.average) * 1000 : Number.POSITIVE_INFINITY,
        serverCpuPercent: cpu0 !== undefined && cpu1 !== undefined ? ((cpu1 - cpu0) / (r.duration * 1000)) * 100 : undefined,
        othersCpuPercent: othersPercent,
        serverLogLines,
        targetP99Ms: target,
        met: target === null ? null : r.latency.p99 <= target && r.non2xx === 0 && r.errors === 0,
      };
    } finally {
      await server.stop();
    }
  } finally {
    await db?.drop().catch((err) => log(`  warning: could not drop ${db.name}: ${(err as Error).message}`));
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Counts the server's JSON log lines (pino: level 40 warn, 50 error) before and after SIGTERM. */
function summarizeLog(stdout: string, sigtermAt: number): LoadResult["serverLogLines"] {
  let duringRun = 0;
  let afterSigterm = 0;
  let first: string | undefined;
  for (const line of stdout.split("\n")) {
    if (!line.trim()) continue;
    let entry: { level?: number; time?: number; msg?: string; err?: { message?: string } };
    try {
      entry = JSON.parse(line);
    } catch {
      entry = { level: 50, msg: line };
    }
    if ((entry.level ?? 0) < 40) continue;
    if ((entry.time ?? 0) >= sigtermAt) afterSigterm++;
    else duringRun++;
    // Drizzle's messages repeat the SQL and params before the driver's reason; keep the reason.
    const reason = entry.err?.message ? (/: ([^:\n]+)$/.exec(entry.err.message)?.[1] ?? entry.err.message) : undefined;
    first ??= `${entry.msg ?? ""}${reason ? `: ${reason}` : ""}`.slice(0, 200);
  }
  return { duringRun, afterSigterm, first };
}

const status = (met: boolean | null, others?: number) =>
  `${met === null ? "(reported)" : met ? "met" : "NOT MET"}${disturbed(others) ? " (disturbed)" : ""}`;

log(`control plane benchmark: ${availableParallelism()} CPU(s) (${cpus()[0]?.model ?? "?"}), node ${process.version}`);
log("autocannon runs in this process and shares the CPUs with the server under test.\n");

let failed = false;
log("a. cold start: `tropic serve` spawn to GET /readyz 200, embedded database (polled every 20 ms)");
let cold: ColdStart | undefined;
try {
  cold = await coldStart();
} catch (err) {
  failed = true;
  log(`  FAILED: ${(err as Error).message}`);
}

const loads: Partial<Record<Backend, LoadResult>> = {};
const skipped: Partial<Record<Backend, string>> = {};
for (const backend of ["pglite", "postgres"] as const) {
  log(
    `\nb. GET /api/v1/instances on ${backend}: ${CONNECTIONS} connections, ${WARMUP_S} s warm-up + ${DURATION_S} s measured, ${INSTANCES} instances`,
  );
  if (backend === "postgres" && !(await pgReachable())) {
    skipped.postgres = `PostgreSQL not reachable at ${PG_ADMIN_URL}`;
    log(`  SKIPPED: ${skipped.postgres}`);
    failed = true; // the p99 target is defined on PostgreSQL: without it the benchmark is incomplete
    continue;
  }
  try {
    loads[backend] = await load(backend);
  } catch (err) {
    failed = true;
    log(`  FAILED: ${(err as Error).message}`);
  }
}

log("\nResults");
if (cold) {
  const restartOthers = Math.max(...cold.restarts.map((r) => r.othersCpuPercent ?? 0));
  log(
    table(
      ["cold start (embedded db)", "spawn → /readyz 200", "in-process (startServer)", "target", "status"],
      [
        [
          "first start, empty data dir (incl. initdb)",
          secs(cold.firstRun.readyMs),
          cold.firstRun.selfReportedMs !== undefined ? ms(cold.firstRun.selfReportedMs) : "?",
          "—",
          status(null, cold.firstRun.othersCpuPercent),
        ],
        [
          `restart of an existing install (median of ${RESTARTS})`,
          secs(cold.restartMedianMs),
          cold.restartSelfReportedMedianMs !== undefined ? ms(cold.restartSelfReportedMedianMs) : "?",
          `≤ ${secs(COLD_TARGET_MS)}`,
          status(cold.met, restartOthers),
        ],
      ],
    ),
  );
  log(`(restarts: ${cold.restarts.map((r) => ms(r.readyMs)).join(", ")}. The ≤ 3 s target applies to a restart of an existing install.)\n`);
}
const loadRows = (["pglite", "postgres"] as const).map((b) => {
  const r = loads[b];
  if (!r) return [b, "—", "—", "—", "—", "—", "—", "—", "—", b === "postgres" ? `p99 ≤ ${P99_TARGET_MS} ms` : "—", skipped[b] ? "SKIPPED" : "FAILED"];
  return [
    b,
    r.requestsPerSec.toFixed(0),
    ms(r.p50Ms),
    ms(r.p99Ms),
    ms(r.maxMs),
    ms(r.littleMeanMs),
    pct(r.serverCpuPercent),
    String(r.non2xx),
    `${r.errors}${r.timeouts ? ` (${r.timeouts} timeouts)` : ""}`,
    r.targetP99Ms === null ? "—" : `p99 ≤ ${r.targetP99Ms} ms`,
    status(r.met, r.othersCpuPercent),
  ];
});
log(table(["GET /api/v1/instances", "req/s", "p50", "p99", "max", "200/(req/s)", "server CPU", "non-2xx", "errors", "target", "status"], loadRows));
log(
  `(200/(req/s): the mean latency Little's law forces on ${CONNECTIONS} closed-loop connections at that throughput; ` +
    `p99 ≤ ${P99_TARGET_MS} ms needs ≥ ${Math.ceil(CONNECTIONS / (P99_TARGET_MS / 1000))} req/s. server CPU: % of one core, the server process only.)`,
);

log(
  JSON.stringify({
    bench: "control-plane",
    at: new Date().toISOString(),
    cpus: availableParallelism(),
    node: process.version,
    coldStart: cold ?? null,
    load: { pglite: loads.pglite ?? null, postgres: loads.postgres ?? null },
    skipped,
  }),
);
process.exit(failed ? 1 : 0);
