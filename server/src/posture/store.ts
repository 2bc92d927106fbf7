// Posture data (migration 0011): audits, integrity incidents and the claims of scheduled runs. Plain
// queries, no transaction ever spans a call to an instance's agent (DESIGN.md: PGlite has one
// connection, and a transaction held while waiting for an agent would stall every other query).
import { and, asc, desc, eq, inArray, isNotNull, isNull, sql } from "drizzle-orm";
import type { Db } from "../db/connect.ts";
import { type AuditKind, instanceAudits, integrityIncidents, postureRuns, type SeverityCounts } from "../db/schema.ts";

/** What the agent answers to `audit` and `integrity`, checked (agent/src/protocol.ts). */
export interface IncidentIn {
  kind: "changed" | "deleted" | "added";
  name: string;
  path: string;
  expected?: string;
  actual?: string;
}

export interface AuditIn {
  ownerId: string;
  instanceId: string;
  kind: AuditKind;
  report: Record<string, unknown> & { score: number; counts: SeverityCounts };
  hardened: Record<string, unknown>[] | null;
}

export const HISTORY_LIMIT = 90;
export const ACCEPTED_LIMIT = 20;

export async function storeAudit(db: Db, a: AuditIn) {
  const id = crypto.randomUUID();
  const [row] = await db
    .insert(instanceAudits)
    .values({
      id,
      ownerId: a.ownerId,
      instanceId: a.instanceId,
      kind: a.kind,
      score: a.report.score,
      counts: a.report.counts,
      report: a.report,
      hardened: a.hardened,
    })
    .returning();
  return row!;
}

/**
 * Stores the incidents not already open (same instance, name and current hash); returns the new rows.
 * A file still changed at the next check is the same incident; a further edit is a new one.
 */
export async function storeIncidents(db: Db, ownerId: string, instanceId: string, incidents: IncidentIn[]) {
  const added: { id: string; name: string; change: string }[] = [];
  for (const i of incidents) {
    // (the unique index is on an expression, which Drizzle's conflict target cannot name)
    const r = await db.execute<{ id: string; name: string; change: string }>(sql`
      INSERT INTO integrity_incidents (id, owner_id, instance_id, name, path, change, expected, actual)
      VALUES (${crypto.randomUUID()}, ${ownerId}, ${instanceId}, ${i.name}, ${i.path}, ${i.kind}, ${i.expected ?? null}, ${i.actual ?? null})
      ON CONFLICT (instance_id, name, COALESCE(actual, '')) WHERE accepted_at IS NULL DO NOTHING
      RETURNING id, name, change`);
    added.push(...r.rows);
  }
  return added;
}

export function openIncidents(db: Db, instanceId: string) {
  return db
    .select()
    .from(integrityIncidents)
    .where(and(eq(integrityIncidents.instanceId, instanceId), isNull(integrityIncidents.acceptedAt)))
    .orderBy(asc(integrityIncidents.detectedAt), asc(integrityIncidents.name));
}

/** Marks every open incident of these names accepted (the agent made the current files the baseline). */
export async function markAccepted(db: Db, instanceId: string, names: string[], reason: string) {
  if (!names.length) return [];
  const rows = await db
    .update(integrityIncidents)
    .set({ acceptedAt: new Date(), acceptedReason: reason })
    .where(and(eq(integrityIncidents.instanceId, instanceId), isNull(integrityIncidents.acceptedAt), inArray(integrityIncidents.name, names)))
    .returning({ id: integrityIncidents.id });
  return rows.map((r) => r.id);
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** GET /instances/{id}/posture: the latest audit, the score over time, the incidents. */
export async function postureOf(db: Db, instanceId: string) {
  const [latest] = await db
    .select()
    .from(instanceAudits)
    .where(eq(instanceAudits.instanceId, instanceId))
    .orderBy(desc(instanceAudits.createdAt))
    .limit(1);
  const history = await db
    .select({ id: instanceAudits.id, at: instanceAudits.createdAt, kind: instanceAudits.kind, score: instanceAudits.score })
    .from(instanceAudits)
    .where(eq(instanceAudits.instanceId, instanceId))
    .orderBy(desc(instanceAudits.createdAt))
    .limit(HISTORY_LIMIT);
  const open = await openIncidents(db, instanceId);
  const accepted = await db
    .select()
    .from(integrityIncidents)
    .where(and(eq(integrityIncidents.instanceId, instanceId), isNotNull(integrityIncidents.acceptedAt)))
    .orderBy(desc(integrityIncidents.acceptedAt))
    .limit(ACCEPTED_LIMIT);
  return {
    score: latest?.score ?? null,
    counts: latest?.counts ?? null,
    at: iso(latest?.createdAt ?? null),
    kind: latest?.kind ?? null,
    report: latest?.report ?? null,
    history: history.reverse().map((h) => ({ id: h.id, at: h.at.toISOString(), kind: h.kind, score: h.score })),
    incidents: [...open, ...accepted].map((i) => ({
      id: i.id,
      name: i.name,
      path: i.path,
      change: i.change,
      detectedAt: i.detectedAt.toISOString(),
      acceptedAt: iso(i.acceptedAt),
      reason: i.acceptedReason,
    })),
  };
}

export type PostureSummary = { score: number; at: string; openIncidents: number };

/** The instance list and get: each instance's latest score, when, and its open incidents (null: never audited). */
export async function postureSummaries(db: Db, instanceIds: string[]): Promise<Map<string, PostureSummary>> {
  const out = new Map<string, PostureSummary>();
  if (!instanceIds.length) return out;
  const latest = await db
    .selectDistinctOn([instanceAudits.instanceId], {
      instanceId: instanceAudits.instanceId,
      score: instanceAudits.score,
      at: instanceAudits.createdAt,
    })
    .from(instanceAudits)
    .where(inArray(instanceAudits.instanceId, instanceIds))
    .orderBy(instanceAudits.instanceId, desc(instanceAudits.createdAt));
  const open = await db
    .select({ instanceId: integrityIncidents.instanceId, n: sql<number>`count(*)::int` })
    .from(integrityIncidents)
    .where(and(inArray(integrityIncidents.instanceId, instanceIds), isNull(integrityIncidents.acceptedAt)))
    .groupBy(integrityIncidents.instanceId);
  const counts = new Map(open.map((o) => [o.instanceId, Number(o.n)]));
  for (const l of latest) out.set(l.instanceId, { score: l.score, at: l.at.toISOString(), openIncidents: counts.get(l.instanceId) ?? 0 });
  return out;
}

export async function hasAudit(db: Db, instanceId: string): Promise<boolean> {
  const [r] = await db.select({ id: instanceAudits.id }).from(instanceAudits).where(eq(instanceAudits.instanceId, instanceId)).limit(1);
  return !!r;
}

export type RunJob = "provision" | "daily" | "integrity";

/** A claim not done after this long belongs to a process that died mid-run (an audit is given 120 s at most). */
export const CLAIM_LEASE_SECONDS = 240;

/**
 * Claims one run of `job` for this instance and period; false when another process has it (or had it
 * less than the lease ago) or an earlier run did it.
 */
export async function claimRun(db: Db, instanceId: string, job: RunJob, periodStart: Date): Promise<boolean> {
  const r = await db.execute(sql`
    INSERT INTO posture_runs (instance_id, job, period_start) VALUES (${instanceId}, ${job}, ${periodStart.toISOString()})
    ON CONFLICT (instance_id, job, period_start) DO UPDATE SET claimed_at = now()
      WHERE posture_runs.done_at IS NULL AND posture_runs.claimed_at < now() - make_interval(secs => ${CLAIM_LEASE_SECONDS})
    RETURNING job`);
  return r.rows.length > 0;
}

/** The run happened: its period is done. */
export async function finishRun(db: Db, instanceId: string, job: RunJob, periodStart: Date) {
  await db
    .update(postureRuns)
    .set({ doneAt: new Date() })
    .where(and(eq(postureRuns.instanceId, instanceId), eq(postureRuns.job, job), eq(postureRuns.periodStart, periodStart)));
}

/** Gives a claim back (the run could not happen: the next trigger may try again). */
export async function releaseRun(db: Db, instanceId: string, job: RunJob, periodStart: Date) {
  await db.delete(postureRuns).where(and(eq(postureRuns.instanceId, instanceId), eq(postureRuns.job, job), eq(postureRuns.periodStart, periodStart)));
}
