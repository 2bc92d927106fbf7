// The credit meter (docs/credits.md). Every 5 minutes, aligned to the clock, the windows that have
// ended are settled for every instance that ran in them: compute at its instance type's rate, plus
// (only on the platform's API key) each agent's model rate, pro rata for the part of the window it ran.
// Then the spending limits are checked and instances paused or resumed.
//
// Exactly once: each charge has a unique idempotency key (compute:<instance>:<window start>) and the
// insert is ON CONFLICT DO NOTHING; a tick is one short transaction (the charges, the watermark
// instances.metered_until and the limits commit together or not at all) behind a transaction-level
// advisory lock, so a tick killed at any point charges nothing, and two control-plane processes on
// one PostgreSQL take turns. It is set-based: two statements, whatever the number of instances.
import type pg from "pg";
import { type Rates, loadRates, sqlRates } from "./rates.ts";

export const WINDOW_MS = 5 * 60_000;
/** How far back a tick settles windows an instance ran in but nobody charged (the control plane was down). */
export const DEFAULT_LOOKBACK_MS = 24 * 3600_000;
/** Any constant; the same in every control-plane process. */
export const METER_LOCK = 727_274_004;

/** The start of the 5-minute window `t` is in. */
export function windowStart(t: Date | number): Date {
  const ms = typeof t === "number" ? t : t.getTime();
  return new Date(Math.floor(ms / WINDOW_MS) * WINDOW_MS);
}

export interface TickOptions {
  now?: Date;
  rates?: Rates;
  lookbackMs?: number;
  /** test and benchmark hook: called inside the transaction after the charges, before the limits and COMMIT */
  onCharged?: () => void | Promise<void>;
}

export interface TickResult {
  /** the windows settled end here: every window that started before it */
  settledUntil: Date;
  instances: number;
  computeRows: number;
  modelRows: number;
  chargedMilli: number;
  paused: string[];
  resumed: string[];
}

const isoWindow = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`;

// $1 now, $2 compute rates {type: milli/hr}, $3 model rates {id: milli/hr}, $4 unknown model milli/hr,
// $5 default model, $6 lookback seconds.
const SETTLE_SQL = `
WITH p AS (
  SELECT to_timestamp(floor(extract(epoch FROM $1::timestamptz) / 300) * 300) AS cur
), inst AS (
  SELECT i.id, i.owner_id, i.instance_type, i.uses_platform_key, i.started_at, e.end_at,
         greatest(coalesce(i.metered_until, '-infinity'::timestamptz),
                  to_timestamp(floor(extract(epoch FROM i.started_at) / 300) * 300),
                  p.cur - make_interval(secs => $6)) AS lo
    FROM instances i
   CROSS JOIN p
   CROSS JOIN LATERAL (SELECT least(p.cur, CASE
       WHEN i.state IN ('initializing', 'restarting', 'running', 'stopping') THEN p.cur
       WHEN i.stopped_at >= i.started_at THEN i.stopped_at
       WHEN i.state = 'deleting' THEN coalesce(i.deleted_at, i.started_at)
       ELSE i.started_at END) AS end_at) e
   WHERE i.started_at IS NOT NULL
     AND e.end_at > greatest(i.started_at, coalesce(i.metered_until, '-infinity'::timestamptz))
), win AS (
  SELECT inst.*, g.ws, greatest(g.ws, inst.started_at) AS t0, least(g.ws + interval '5 minutes', inst.end_at) AS t1
    FROM inst CROSS JOIN LATERAL generate_series(inst.lo, inst.end_at - interval '1 microsecond', interval '5 minutes') AS g(ws)
), lines AS (
  SELECT w.owner_id, 'compute' AS kind, w.id AS instance_id, NULL::uuid AS agent_id, w.ws, w.t0, w.t1,
         r.value::bigint AS rate, w.instance_type AS what,
         'compute:' || w.id || ':' || ${isoWindow("w.ws")} AS key
    FROM win w JOIN jsonb_each_text($2::jsonb) r ON r.key = w.instance_type
  UNION ALL
  SELECT w.owner_id, 'model', w.id, a.id, w.ws, w.t0, w.t1,
         coalesce(($3::jsonb ->> coalesce(a.model, s.model, $5))::bigint, $4),
         coalesce(a.model, s.model, $5),
         'model:' || w.id || ':' || coalesce(a.id::text, '-') || ':' || ${isoWindow("w.ws")}
    FROM win w
    LEFT JOIN user_settings s ON s.owner_id = w.owner_id
    LEFT JOIN LATERAL (SELECT ag.id, ag.model FROM agents ag
                        WHERE ag.instance_id = w.id AND ag.state IN ('provisioning', 'ready')) a ON true
   WHERE w.uses_platform_key
), amounts AS (
  -- Cumulative rounding: a window pays floor(rate·t1) − floor(rate·t0) (t in hours since the epoch), so the
  -- windows of an hour add up to the hourly rate exactly, and a part of a window pays its exact share.
  SELECT l.*, (floor(l.rate * extract(epoch FROM l.t1) / 3600) - floor(l.rate * extract(epoch FROM l.t0) / 3600))::bigint AS amt
    FROM lines l
), ins AS (
  INSERT INTO credit_ledger (owner_id, kind, amount_milli, instance_id, agent_id, window_start, idempotency_key, note, created_at)
  SELECT owner_id, kind, -amt, instance_id, agent_id, ws, key,
         what || ' at ' || (rate / 1000.0)::float8 || ' cr/hr for ' || round(extract(epoch FROM t1 - t0) / 60.0, 2) || ' min',
         now()
    FROM amounts WHERE amt > 0
   ORDER BY instance_id, key
  ON CONFLICT DO NOTHING
  RETURNING kind, amount_milli
), mark AS (
  UPDATE instances i SET metered_until = p.cur FROM inst, p WHERE i.id = inst.id RETURNING 1
)
SELECT (SELECT cur FROM p) AS cur,
       (SELECT count(*) FROM mark)::int AS instances,
       (SELECT count(*) FILTER (WHERE kind = 'compute') FROM ins)::int AS compute_rows,
       (SELECT count(*) FILTER (WHERE kind = 'model') FROM ins)::int AS model_rows,
       (SELECT coalesce(-sum(amount_milli), 0) FROM ins)::bigint AS charged`;

/**
 * Per instance: its compute and model rates (milli-credits per hour). compute_milli is NULL for an
 * instance type without a rate. Parameters as in SETTLE_SQL ($2–$5). Used by the limits and by usage.
 */
export const BURN_COLUMNS = `
  ($2::jsonb ->> i.instance_type)::bigint AS compute_milli,
  CASE WHEN i.uses_platform_key THEN coalesce(
    (SELECT sum(coalesce(($3::jsonb ->> a.model)::bigint, $4)) FROM agents a
      WHERE a.instance_id = i.id AND a.state IN ('provisioning', 'ready')),
    coalesce(($3::jsonb ->> coalesce(s.model, $5))::bigint, $4)) ELSE 0 END AS model_milli`;

const ts = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"')`;
const cr = (col: string) => `trim_scale(round((${col}) / 1000.0, 3))::text`;

// $1 now, $2–$5 rates, $6 one owner or NULL for all.
const LIMITS_SQL = `
WITH p AS (
  SELECT $1::timestamptz AS now, ($1::timestamptz AT TIME ZONE 'UTC')::date AS today
), cand AS (
  SELECT i.id, i.owner_id, i.state, i.desired_state, i.started_at, i.pause_reason, i.paused_at, i.instance_type,
         ${BURN_COLUMNS},
         coalesce(b.balance_milli, 0) AS balance, coalesce(d.spent_milli, 0) AS spent_today,
         s.daily_credit_cap, s.max_session_minutes
    FROM instances i
    CROSS JOIN p
    LEFT JOIN user_settings s ON s.owner_id = i.owner_id
    LEFT JOIN credit_balances b ON b.owner_id = i.owner_id
    LEFT JOIN credit_daily_spend d ON d.owner_id = i.owner_id AND d.day = p.today
   WHERE i.deleted_at IS NULL AND i.desired_state <> 'deleted'
     AND (i.desired_state = 'running' OR i.pause_reason IS NOT NULL)
     AND ($6::uuid IS NULL OR i.owner_id = $6::uuid)
), blocked AS (
  SELECT c.*, CASE
      WHEN c.compute_milli IS NULL THEN 'no_rate'
      WHEN c.compute_milli + c.model_milli > 0 AND c.balance <= 0 THEN 'no_credits'
      WHEN c.daily_credit_cap IS NOT NULL AND c.compute_milli + c.model_milli > 0
           AND c.spent_today >= c.daily_credit_cap::bigint * 1000 THEN 'daily_cap'
      WHEN c.max_session_minutes IS NOT NULL AND c.started_at IS NOT NULL AND CASE
           WHEN c.desired_state = 'running' THEN c.state IN ('initializing', 'restarting', 'running')
                AND c.started_at + make_interval(mins => c.max_session_minutes) <= p.now
           ELSE c.pause_reason = 'session_limit' AND c.started_at + make_interval(mins => c.max_session_minutes) <= c.paused_at END
        THEN 'session_limit'
    END AS block,
    (p.today + 1)::timestamp AT TIME ZONE 'UTC' AS tomorrow
    FROM cand c CROSS JOIN p
), msg AS (
  SELECT b.*, CASE b.block
      WHEN 'no_rate' THEN 'stopped: instance type "' || b.instance_type || '" has no rate in the rates table (TROPIC_RATES_FILE), so it cannot be metered'
      WHEN 'no_credits' THEN 'stopped: your credit balance is ' || ${cr("b.balance")} || ' credits; it starts again once credits are added'
      WHEN 'daily_cap' THEN 'paused: daily credit cap of ' || b.daily_credit_cap || ' credits reached (' || ${cr("b.spent_today")}
           || ' spent today); resumes at ' || ${ts("b.tomorrow")} || ' or when you raise or clear dailyCreditCap'
      WHEN 'session_limit' THEN 'paused: max session runtime of ' || b.max_session_minutes
           || ' minutes reached; resumes when you raise or clear maxSessionMinutes, or start it again'
    END AS reason
    FROM blocked b
), paused AS (
  UPDATE instances i SET desired_state = 'stopped',
         state = CASE WHEN i.state = 'running' THEN 'stopping' ELSE i.state END,
         pause_reason = m.block, paused_at = p.now,
         paused_until = CASE WHEN m.block = 'daily_cap' THEN m.tomorrow END,
         state_reason = m.reason, updated_at = now()
    FROM msg m, p
   WHERE i.id = m.id AND m.block IS NOT NULL AND i.desired_state = 'running'
  RETURNING i.id
), repaused AS (
  UPDATE instances i SET pause_reason = m.block, paused_until = CASE WHEN m.block = 'daily_cap' THEN m.tomorrow END,
         state_reason = m.reason, updated_at = now()
    FROM msg m
   WHERE i.id = m.id AND m.block IS NOT NULL AND i.desired_state = 'stopped' AND i.pause_reason IS NOT NULL
     AND (i.pause_reason <> m.block OR i.paused_until IS DISTINCT FROM CASE WHEN m.block = 'daily_cap' THEN m.tomorrow END)
  RETURNING i.id
), resumed AS (
  UPDATE instances i SET desired_state = 'running', pause_reason = NULL, paused_at = NULL, paused_until = NULL,
         state_reason = NULL, updated_at = now()
    FROM msg m
   WHERE i.id = m.id AND m.block IS NULL AND i.desired_state = 'stopped' AND i.pause_reason IS NOT NULL
  RETURNING i.id
)
SELECT 'paused' AS what, id FROM paused
UNION ALL SELECT 'resumed', id FROM resumed`;

function rateParams(rates: Rates) {
  const r = sqlRates(rates);
  return [r.compute, r.models, r.unknownModel, r.defaultModel];
}

async function limits(client: pg.PoolClient, now: Date, rates: Rates, ownerId: string | null) {
  const { rows } = await client.query<{ what: "paused" | "resumed"; id: string }>(LIMITS_SQL, [now, ...rateParams(rates), ownerId]);
  return {
    paused: rows.filter((r) => r.what === "paused").map((r) => r.id),
    resumed: rows.filter((r) => r.what === "resumed").map((r) => r.id),
  };
}

async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [METER_LOCK]);
    // The planner's cost estimate of these statements crosses jit_above_cost, and compiling them costs
    // more (~1 s) than running them (~0.1 s over 10,000 instances): no JIT here.
    await client.query("SET LOCAL jit = off");
    const out = await fn(client);
    await client.query("COMMIT");
    return out;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * One metering tick at `now`: settles every window that ended by floor(now / 5 min) (and that the
 * instance ran in and nobody charged, up to `lookbackMs` back), then checks the limits. The caller
 * tells the reconciler about `paused` and `resumed` (after this returns: never inside the transaction).
 */
export async function meterTick(pool: pg.Pool, o: TickOptions = {}): Promise<TickResult> {
  const now = o.now ?? new Date();
  const rates = o.rates ?? loadRates();
  const lookbackS = Math.round((o.lookbackMs ?? DEFAULT_LOOKBACK_MS) / 1000 / 300) * 300;
  return inTransaction(pool, async (client) => {
    const { rows } = await client.query(SETTLE_SQL, [now, ...rateParams(rates), lookbackS]);
    const s = rows[0] as { cur: Date; instances: number; compute_rows: number; model_rows: number; charged: number };
    await o.onCharged?.();
    const changed = await limits(client, now, rates, null);
    return {
      settledUntil: s.cur,
      instances: s.instances,
      computeRows: s.compute_rows,
      modelRows: s.model_rows,
      chargedMilli: Number(s.charged),
      ...changed,
    };
  });
}

/** The limits alone, for one user (after Settings changed, credits were added): pause or resume now. */
export async function checkLimits(pool: pg.Pool, ownerId: string, o: { now?: Date; rates?: Rates } = {}) {
  return inTransaction(pool, (client) => limits(client, o.now ?? new Date(), o.rates ?? loadRates(), ownerId));
}
