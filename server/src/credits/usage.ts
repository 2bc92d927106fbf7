// Cost visibility: what a user's instances burn now, what they spent today and this month (per
// instance and per agent), and when the credits run out at the current burn rate. Plain reads, no
// transaction (each query is one statement; the figures are as of `now`).
import type pg from "pg";
import { BURN_COLUMNS } from "./meter.ts";
import { type Rates, loadRates, sqlRates } from "./rates.ts";

/** States in which an instance is charged (its machine runs). */
export const BURNING_STATES = ["initializing", "running", "stopping"] as const;

export interface InstanceUsage {
  id: string;
  /** null for an instance deleted since it was charged */
  name: string | null;
  instanceType: string | null;
  state: string | null;
  stateReason: string | null;
  pauseReason: string | null;
  pausedUntil: Date | null;
  usesPlatformKey: boolean;
  /** credits per hour while it runs: compute + model (model only on the platform key); null compute = no rate */
  computeRate: number | null;
  modelRate: number;
  /** what it burns now (0 unless it runs) */
  burnRate: number;
  spentToday: number;
  spentThisMonth: number;
}

export interface AgentUsage {
  id: string;
  instanceId: string | null;
  name: string | null;
  model: string | null;
  burnRate: number;
  spentToday: number;
  spentThisMonth: number;
}

/**
 * What the balance means for the caller's instances, as one state and one sentence (the dashboard
 * and the CLI print the same words). The meter pauses only instances that cost something at a
 * balance ≤ 0 (meter.ts, `no_credits`); a free instance (0 credits/hour: local or own-machine
 * compute, with the user's own key) runs on whatever the balance.
 *  - runs_out: something is charged and the balance is above 0 → runsOutAt, then those instances pause
 *  - used_up:  something is charged and the balance is ≤ 0 → those instances are paused at the next check
 *  - paused:   nothing is charged now, and instances are paused until credits are added
 *  - free:     instances run, all at 0 credits/hour: nothing is charged, the balance does not matter to them
 *  - idle:     nothing runs, nothing is charged
 */
export type ForecastStatus = "runs_out" | "used_up" | "paused" | "free" | "idle";

export interface Forecast {
  status: ForecastStatus;
  /** one sentence, e.g. "Balance 0 · nothing is charged: your instances are free (local)." */
  summary: string;
  /** instances that cost credits while they run (rate > 0), by name, for "… pause at 0" */
  paidInstances: string[];
  /** running instances at 0 credits/hour */
  freeInstances: string[];
  /** instances the meter paused for lack of credits (pauseReason no_credits) */
  pausedForCredits: string[];
}

export interface Usage {
  asOf: Date;
  balance: number;
  burnRate: number;
  /** balance / burn rate from now; null when nothing is charged (never at this rate); now when the balance is already ≤ 0 */
  runsOutAt: Date | null;
  hoursLeft: number | null;
  forecast: Forecast;
  today: { since: Date; spent: number; dailyCreditCap: number | null; remaining: number | null };
  month: { since: Date; spent: number };
  maxSessionMinutes: number | null;
  instances: InstanceUsage[];
  agents: AgentUsage[];
}

const credits = (milli: number) => Math.round(milli) / 1000;

export async function usage(pool: pg.Pool, ownerId: string, o: { now?: Date; rates?: Rates } = {}): Promise<Usage> {
  const now = o.now ?? new Date();
  const rates = o.rates ?? loadRates();
  const r = sqlRates(rates);
  const dayStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));

  const inst = await pool.query<{
    id: string;
    name: string;
    instance_type: string;
    state: string;
    state_reason: string | null;
    pause_reason: string | null;
    paused_until: Date | null;
    uses_platform_key: boolean;
    compute_milli: number | null;
    model_milli: number;
  }>(
    `SELECT i.id, i.name, i.instance_type, i.state, i.state_reason, i.pause_reason, i.paused_until, i.uses_platform_key, ${BURN_COLUMNS}
       FROM instances i LEFT JOIN user_settings s ON s.owner_id = i.owner_id
      WHERE i.owner_id = $1 AND i.deleted_at IS NULL
      ORDER BY i.created_at, i.id`,
    [ownerId, r.compute, r.models, r.unknownModel, r.defaultModel],
  );
  const ag = await pool.query<{ id: string; instance_id: string; name: string; model: string; state: string }>(
    "SELECT id, instance_id, name, model, state FROM agents WHERE owner_id = $1 ORDER BY created_at, id",
    [ownerId],
  );
  const spend = await pool.query<{ instance_id: string | null; agent_id: string | null; today: number; month: number }>(
    `SELECT instance_id, agent_id,
            coalesce(-sum(amount_milli) FILTER (WHERE window_start >= $2), 0)::bigint AS today,
            coalesce(-sum(amount_milli), 0)::bigint AS month
       FROM credit_ledger
      WHERE owner_id = $1 AND window_start >= $3 AND kind IN ('compute', 'model')
      GROUP BY instance_id, agent_id`,
    [ownerId, dayStart, monthStart],
  );
  const totals = await pool.query<{ balance: number; cap: number | null; session: number | null }>(
    `SELECT (SELECT coalesce(sum(amount_milli), 0)::bigint FROM credit_ledger WHERE owner_id = $1) AS balance,
            (SELECT daily_credit_cap FROM user_settings WHERE owner_id = $1) AS cap,
            (SELECT max_session_minutes FROM user_settings WHERE owner_id = $1) AS session`,
    [ownerId],
  );

  const burning = new Set<string>(BURNING_STATES);
  const byInstance = new Map<string, { today: number; month: number }>();
  const byAgent = new Map<string, { today: number; month: number; instanceId: string | null }>();
  let todayMilli = 0;
  let monthMilli = 0;
  for (const s of spend.rows) {
    todayMilli += Number(s.today);
    monthMilli += Number(s.month);
    const key = s.instance_id ?? "";
    const i = byInstance.get(key) ?? { today: 0, month: 0 };
    i.today += Number(s.today);
    i.month += Number(s.month);
    byInstance.set(key, i);
    if (s.agent_id) {
      const a = byAgent.get(s.agent_id) ?? { today: 0, month: 0, instanceId: s.instance_id };
      a.today += Number(s.today);
      a.month += Number(s.month);
      byAgent.set(s.agent_id, a);
    }
  }

  const platformBurning = new Set<string>();
  const instances: InstanceUsage[] = inst.rows.map((i) => {
    const runs = burning.has(i.state);
    if (runs && i.uses_platform_key) platformBurning.add(i.id);
    const spent = byInstance.get(i.id) ?? { today: 0, month: 0 };
    byInstance.delete(i.id);
    const computeMilli = i.compute_milli === null ? null : Number(i.compute_milli);
    const modelMilli = Number(i.model_milli);
    return {
      id: i.id,
      name: i.name,
      instanceType: i.instance_type,
      state: i.state,
      stateReason: i.state_reason,
      pauseReason: i.pause_reason,
      pausedUntil: i.paused_until,
      usesPlatformKey: i.uses_platform_key,
      computeRate: computeMilli === null ? null : credits(computeMilli),
      modelRate: credits(modelMilli),
      burnRate: runs ? credits((computeMilli ?? 0) + modelMilli) : 0,
      spentToday: credits(spent.today),
      spentThisMonth: credits(spent.month),
    };
  });
  // Charged this month by instances deleted since.
  for (const [id, spent] of byInstance) {
    if (!id) continue;
    instances.push({
      id,
      name: null,
      instanceType: null,
      state: null,
      stateReason: null,
      pauseReason: null,
      pausedUntil: null,
      usesPlatformKey: false,
      computeRate: null,
      modelRate: 0,
      burnRate: 0,
      spentToday: credits(spent.today),
      spentThisMonth: credits(spent.month),
    });
  }

  const agents: AgentUsage[] = ag.rows.map((a) => {
    const spent = byAgent.get(a.id) ?? { today: 0, month: 0 };
    byAgent.delete(a.id);
    const runs = platformBurning.has(a.instance_id) && (a.state === "provisioning" || a.state === "ready");
    const rate = Object.hasOwn(rates.models, a.model) ? rates.models[a.model]! : rates.unknownModel;
    return {
      id: a.id,
      instanceId: a.instance_id,
      name: a.name,
      model: a.model,
      burnRate: runs ? rate : 0,
      spentToday: credits(spent.today),
      spentThisMonth: credits(spent.month),
    };
  });
  for (const [id, spent] of byAgent)
    agents.push({
      id,
      instanceId: spent.instanceId,
      name: null,
      model: null,
      burnRate: 0,
      spentToday: credits(spent.today),
      spentThisMonth: credits(spent.month),
    });

  const t = totals.rows[0]!;
  const balanceMilli = Number(t.balance);
  const burnMilli = instances.reduce((sum, i) => sum + Math.round(i.burnRate * 1000), 0);
  let runsOutAt: Date | null = null;
  let hoursLeft: number | null = null;
  if (burnMilli > 0) {
    hoursLeft = Math.max(0, balanceMilli / burnMilli);
    runsOutAt = new Date(now.getTime() + Math.round(hoursLeft * 3600_000));
    hoursLeft = Math.round(hoursLeft * 100) / 100;
  }
  const cap = t.cap === null ? null : Number(t.cap);
  return {
    asOf: now,
    balance: credits(balanceMilli),
    burnRate: credits(burnMilli),
    runsOutAt,
    hoursLeft,
    forecast: forecast(instances, credits(balanceMilli), credits(burnMilli), hoursLeft),
    today: {
      since: dayStart,
      spent: credits(todayMilli),
      dailyCreditCap: cap,
      remaining: cap === null ? null : Math.max(0, credits(cap * 1000 - todayMilli)),
    },
    month: { since: monthStart, spent: credits(monthMilli) },
    maxSessionMinutes: t.session === null ? null : Number(t.session),
    instances,
    agents,
  };
}

/** How a free instance type is named in a sentence. */
const KIND: Record<string, string> = { local: "local", byo: "your own machine" };
const list = (names: string[]) => (names.length <= 1 ? (names[0] ?? "") : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`);
const fmt = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 3 });
function hoursText(h: number): string {
  if (h < 1) return `${Math.max(1, Math.round(h * 60))} minutes`;
  if (h < 48) return `${h.toFixed(h < 10 ? 1 : 0)} hours`;
  return `${(h / 24).toFixed(1)} days`;
}

/** The forecast's state and sentence from the instance figures (see Forecast). */
export function forecast(instances: InstanceUsage[], balance: number, burnRate: number, hoursLeft: number | null): Forecast {
  const live = instances.filter((i) => i.name !== null);
  const running = live.filter((i) => BURNING_STATES.includes(i.state as (typeof BURNING_STATES)[number]));
  const charged = running.filter((i) => i.burnRate > 0);
  const free = running.filter((i) => i.burnRate === 0);
  const paused = live.filter((i) => i.pauseReason === "no_credits");
  // Would cost credits if it ran: the meter pauses these at a balance ≤ 0 (an unrated type is stopped anyway).
  const paid = live.filter((i) => i.computeRate !== null && i.computeRate + i.modelRate > 0);
  const names = (xs: InstanceUsage[]) => xs.map((i) => i.name!);
  const kinds = [...new Set(free.map((i) => KIND[i.instanceType ?? ""] ?? i.instanceType))].join(", ");
  const b = `Balance ${fmt(balance)}`;
  const out = { paidInstances: names(paid), freeInstances: names(free), pausedForCredits: names(paused) };

  if (burnRate > 0 && balance > 0)
    return {
      status: "runs_out",
      summary: `Runs out in ${hoursText(hoursLeft ?? 0)} at ${fmt(burnRate)} credits/hour; then ${list(names(charged))} ${charged.length === 1 ? "is" : "are"} paused until credits are added.`,
      ...out,
    };
  if (burnRate > 0)
    return {
      status: "used_up",
      summary: `${b}: ${list(names(charged))} ${charged.length === 1 ? "costs" : "cost"} ${fmt(burnRate)} credits/hour and ${charged.length === 1 ? "is" : "are"} paused within 5 minutes until credits are added.`,
      ...out,
    };
  const freeClause = free.length ? `your running instance${free.length === 1 ? " is" : "s are"} free (${kinds})` : "";
  if (paused.length)
    return {
      status: "paused",
      summary: `${b}: ${list(names(paused))} ${paused.length === 1 ? "is" : "are"} paused ${balance > 0 ? `for lack of credits and ${paused.length === 1 ? "starts" : "start"} again within 5 minutes` : "until credits are added"}${freeClause ? `; ${freeClause} and keep running` : ""}.`,
      ...out,
    };
  const startClause =
    balance <= 0 && paid.length
      ? ` ${list(names(paid))} ${paid.length === 1 ? "costs" : "cost"} credits when running: started now, ${paid.length === 1 ? "it is" : "they are"} paused until credits are added.`
      : "";
  if (free.length)
    return {
      status: "free",
      summary: `${b} · nothing is charged: ${live.length === free.length ? `your instances are free (${kinds})` : freeClause}.${startClause}`,
      ...out,
    };
  return { status: "idle", summary: `${b} · nothing is charged: no instance is running.${startClause}`, ...out };
}
