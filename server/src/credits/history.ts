// The burn over time: what a user was charged (compute + model) per 5-minute window, for the
// dashboard's chart. Only settled windows (they have ended and the meter has charged them); windows
// without a charge are zeros, so the series has no gaps.
import type pg from "pg";
import { WINDOW_MS, windowStart } from "./meter.ts";

export interface HistoryWindow {
  start: Date;
  /** credits charged in the window */
  credits: number;
  /** the same as a rate: credits per hour */
  creditsPerHour: number;
}

export interface History {
  from: Date;
  /** windows that start before this (the one in progress is not charged yet) */
  to: Date;
  windowMinutes: number;
  total: number;
  windows: HistoryWindow[];
}

export async function creditHistory(pool: pg.Pool, ownerId: string, o: { hours: number; now?: Date }): Promise<History> {
  const to = windowStart(o.now ?? new Date());
  const from = new Date(to.getTime() - o.hours * 3600_000);
  const { rows } = await pool.query<{ ws: Date; spent: string }>(
    `SELECT window_start AS ws, -sum(amount_milli)::bigint AS spent
       FROM credit_ledger
      WHERE owner_id = $1 AND kind IN ('compute', 'model') AND window_start >= $2 AND window_start < $3
      GROUP BY window_start`,
    [ownerId, from, to],
  );
  const byWindow = new Map(rows.map((r) => [new Date(r.ws).getTime(), Number(r.spent)]));
  const windows: HistoryWindow[] = [];
  let totalMilli = 0;
  for (let t = from.getTime(); t < to.getTime(); t += WINDOW_MS) {
    const milli = byWindow.get(t) ?? 0;
    totalMilli += milli;
    windows.push({ start: new Date(t), credits: milli / 1000, creditsPerHour: Math.round((milli * 3600_000) / WINDOW_MS) / 1000 });
  }
  return { from, to, windowMinutes: WINDOW_MS / 60_000, total: totalMilli / 1000, windows };
}
