// Issue 7's metering figures, on a fresh PostgreSQL database:
//   a. one metering tick over 10,000 running instances (10,000 users; a quarter on the platform's key
//      with an agent each), timed (target ≤ 5 s);
//   b. a tick in a child process SIGKILLed twice, once mid-statement (after a short delay) and once
//      after its charges were written but before COMMIT; then the tick again, and SQL showing every
//      instance was charged exactly once for the window.
// Prints a table, then one JSON line (the last line of stdout) for scripts.
// `TROPIC_BENCH_METER_INSTANCES=N` changes the count. Skips (exit 0) when PostgreSQL is unreachable.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { meterTick, WINDOW_MS, windowStart } from "../server/src/credits/meter.ts";
import { openDatabase } from "../server/src/db/connect.ts";
import { migrate } from "../server/src/db/migrate.ts";
import { PG_ADMIN_URL, ROOT, freshPgDatabase, pgReachable, sleep, table } from "./lib.ts";

const N = Number(process.env.TROPIC_BENCH_METER_INSTANCES ?? 10_000);
const TARGET_MS = 5000;
const log = (s = "") => process.stdout.write(`${s}\n`);

// ── child mode: one tick, killed by the parent ──────────────────────────────────────────────────────
if (process.argv[2] === "--child") {
  const [, , , url, nowIso, mode] = process.argv;
  const db = await openDatabase({ url: url!, dataDir: tmpdir(), poolSize: 1 });
  process.stdout.write("STARTED\n");
  await meterTick(db.pool, {
    now: new Date(nowIso!),
    onCharged:
      mode === "hook"
        ? async () => {
            process.stdout.write("CHARGED\n"); // the charges are written, not committed: the parent kills us here
            await sleep(60_000);
          }
        : undefined,
  });
  process.stdout.write("COMMITTED\n");
  await db.close();
  process.exit(0);
}

function child(url: string, now: Date, mode: "delay" | "hook"): { proc: ChildProcess; seen: (s: string) => Promise<void>; out: () => string } {
  const proc = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--child", url, now.toISOString(), mode], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  proc.stdout!.setEncoding("utf8");
  proc.stdout!.on("data", (s: string) => {
    out += s;
  });
  const seen = async (s: string) => {
    const deadline = Date.now() + 60_000;
    while (!out.includes(s)) {
      if (proc.exitCode !== null) throw new Error(`the child exited (${proc.exitCode}) before "${s}": ${out}`);
      if (Date.now() > deadline) throw new Error(`the child never printed "${s}"`);
      await sleep(5);
    }
  };
  return { proc, seen, out: () => out };
}

async function killed(proc: ChildProcess): Promise<NodeJS.Signals | null> {
  proc.kill("SIGKILL");
  return new Promise((r) => (proc.exitCode !== null || proc.signalCode !== null ? r(proc.signalCode) : proc.once("exit", (_c, sig) => r(sig))));
}

if (!(await pgReachable())) {
  log(`PostgreSQL is not reachable at ${PG_ADMIN_URL}: the metering benchmark needs it; skipped.`);
  log(JSON.stringify({ bench: "metering", skipped: true, reason: "PostgreSQL unreachable" }));
  process.exit(0);
}

const fresh = await freshPgDatabase("tropic_bench_meter");
const dataDir = mkdtempSync(join(tmpdir(), "tropic-bench-meter-"));
const db = await openDatabase({ url: fresh.url, dataDir, poolSize: 4 });
try {
  await migrate(db.pool);
  const w = windowStart(Date.now());
  const prev = new Date(w.getTime() - WINDOW_MS);

  // ── bulk set-up: users, settings, 1,000 credits each, one running instance each ───────────────────
  let t = performance.now();
  const client = await db.pool.connect();
  try {
    await client.query("BEGIN");
    await client.query(
      `CREATE TEMP TABLE ids ON COMMIT DROP AS SELECT g AS n, gen_random_uuid() AS uid, gen_random_uuid() AS iid FROM generate_series(1, $1) g`,
      [N],
    );
    await client.query(`INSERT INTO users (id, email) SELECT uid, 'meter-' || n || '@bench.example' FROM ids`);
    await client.query(`INSERT INTO user_settings (owner_id) SELECT uid FROM ids`);
    await client.query(
      `INSERT INTO credit_ledger (owner_id, kind, amount_milli, idempotency_key) SELECT uid, 'grant', 1000000, 'grant:bench:' || n FROM ids`,
    );
    await client.query(
      `INSERT INTO instances (id, owner_id, name, provider, region, instance_type, desired_state, state, started_at, uses_platform_key)
       SELECT iid, uid, 'bench-' || n, 'aws', 'us-east-1', CASE WHEN n % 2 = 0 THEN 't3.micro' ELSE 't3.small' END,
              'running', 'running', $1, n % 4 = 0 FROM ids`,
      [prev],
    );
    await client.query(
      `INSERT INTO agents (id, owner_id, instance_id, slug, name, template_id, model, state)
       SELECT gen_random_uuid(), uid, iid, 'assistant', 'Assistant', 'personal-assistant', 'anthropic/claude-sonnet-4-6', 'ready' FROM ids WHERE n % 4 = 0`,
    );
    await client.query("COMMIT");
  } finally {
    client.release();
  }
  await db.pool.query("ANALYZE");
  const setupMs = performance.now() - t;
  log(
    `set-up: ${N.toLocaleString("en")} users + running instances (${(N / 4).toLocaleString("en")} on the platform key) in ${(setupMs / 1000).toFixed(1)} s`,
  );

  // ── a. one tick, timed ─────────────────────────────────────────────────────────────────────────
  t = performance.now();
  const first = await meterTick(db.pool, { now: new Date(w.getTime() + 1000) });
  const tickMs = performance.now() - t;
  log(`tick over window ${prev.toISOString()}: ${first.computeRows} compute + ${first.modelRows} model rows in ${Math.round(tickMs)} ms`);
  t = performance.now();
  const again = await meterTick(db.pool, { now: new Date(w.getTime() + 2000) });
  const replayMs = performance.now() - t;

  // ── b. killed mid-tick, twice, then run again ───────────────────────────────────────────────────
  const next = new Date(w.getTime() + WINDOW_MS + 1000); // settles window w
  const k1 = child(fresh.url, next, "delay");
  await k1.seen("STARTED");
  await sleep(Math.max(50, Math.round(tickMs / 3))); // about a third into the statement
  const sig1 = await killed(k1.proc);
  const committed1 = k1.out().includes("COMMITTED");
  const k2 = child(fresh.url, next, "hook");
  await k2.seen("CHARGED");
  const sig2 = await killed(k2.proc);
  await sleep(200); // PostgreSQL notices the closed connection and rolls the transaction back
  const afterKill = await db.pool.query("SELECT count(*)::int AS n FROM credit_ledger WHERE window_start = $1", [w]);
  t = performance.now();
  const rerun = await meterTick(db.pool, { now: next });
  const rerunMs = performance.now() - t;
  const rerun2 = await meterTick(db.pool, { now: next });

  const { rows } = await db.pool.query(
    `SELECT (SELECT count(*) FROM instances)::int AS instances,
            count(DISTINCT instance_id) FILTER (WHERE kind = 'compute' AND window_start = $1)::int AS charged_prev,
            count(DISTINCT instance_id) FILTER (WHERE kind = 'compute' AND window_start = $2)::int AS charged_w,
            (count(*) FILTER (WHERE kind IN ('compute', 'model')) - count(DISTINCT (instance_id, kind, agent_id, window_start)) FILTER (WHERE kind IN ('compute', 'model')))::int AS duplicates,
            count(*) FILTER (WHERE kind = 'model' AND window_start = $2)::int AS model_rows_w,
            (SELECT count(*) FROM (SELECT instance_id, window_start FROM credit_ledger WHERE kind = 'compute' GROUP BY 1, 2 HAVING count(*) > 1) d)::int AS dup_windows
       FROM credit_ledger`,
    [prev, w],
  );
  const c = rows[0] as { instances: number; charged_prev: number; charged_w: number; duplicates: number; model_rows_w: number; dup_windows: number };
  const exactlyOnce = c.charged_prev === N && c.charged_w === N && c.duplicates === 0 && c.dup_windows === 0 && afterKill.rows[0].n === 0;

  log();
  log(
    table(
      ["figure", "measured", "target", "status"],
      [
        ["instances (users)", N.toLocaleString("en"), "", ""],
        ["one tick, all instances (1 window)", `${(tickMs / 1000).toFixed(2)} s`, `≤ ${TARGET_MS / 1000} s`, tickMs <= TARGET_MS ? "met" : "NOT MET"],
        ["…rows written", `${first.computeRows} compute + ${first.modelRows} model`, "", ""],
        [
          "same window again (nothing to do)",
          `${Math.round(replayMs)} ms, ${again.computeRows + again.modelRows} rows`,
          "0 rows",
          again.computeRows + again.modelRows === 0 ? "met" : "NOT MET",
        ],
        ["child SIGKILLed ~1/3 into the statement", `${sig1 ?? "exited"}${committed1 ? " (had committed!)" : ""}`, "", ""],
        ["child SIGKILLed after its charges, before COMMIT", `${sig2 ?? "exited"}`, "", ""],
        ["rows for the window after both kills", String(afterKill.rows[0].n), "0", afterKill.rows[0].n === 0 ? "met" : "NOT MET"],
        ["tick again after the kills", `${(rerunMs / 1000).toFixed(2)} s, ${rerun.computeRows} compute + ${rerun.modelRows} model`, "", ""],
        [
          "tick a further time",
          `${rerun2.computeRows + rerun2.modelRows} rows`,
          "0",
          rerun2.computeRows + rerun2.modelRows === 0 ? "met" : "NOT MET",
        ],
        [
          "instances charged for window 1 / window 2",
          `${c.charged_prev} / ${c.charged_w}`,
          `${N} / ${N}`,
          c.charged_prev === N && c.charged_w === N ? "met" : "NOT MET",
        ],
        ["duplicate charges", String(c.duplicates + c.dup_windows), "0", c.duplicates + c.dup_windows === 0 ? "met" : "NOT MET"],
      ],
    ),
  );
  log();
  log(
    JSON.stringify({
      bench: "metering",
      instances: N,
      setupS: Math.round(setupMs) / 1000,
      tickS: Math.round(tickMs) / 1000,
      tickTargetS: TARGET_MS / 1000,
      tickMet: tickMs <= TARGET_MS,
      rows: { compute: first.computeRows, model: first.modelRows },
      replayMs: Math.round(replayMs),
      kills: [sig1, sig2],
      rowsAfterKills: afterKill.rows[0].n,
      rerunS: Math.round(rerunMs) / 1000,
      charged: { window1: c.charged_prev, window2: c.charged_w, modelRowsWindow2: c.model_rows_w },
      duplicates: c.duplicates + c.dup_windows,
      exactlyOnce,
    }),
  );
  if (!exactlyOnce) process.exitCode = 1;
} finally {
  await db.close();
  await fresh.drop();
  rmSync(dataDir, { recursive: true, force: true });
}
