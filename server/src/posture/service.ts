// Host posture on the control plane (issue 18, docs/hardening.md "Control plane"): the instance agent
// runs the audit engine (hardening/) on its host; this asks it, stores what it answers and decides when.
//   provision: once, when an instance first reaches running with no audit stored (harden → baseline → audit)
//   deploy:    after an agent deploy is ready (integrity check → audit)
//   daily:     every UTC day, with OpenClaw's own audit (5–22 s: only here)
//   integrity: every 12 hours
//   manual:    POST /instances/{id}/audits, answered in the request
// Everything but `manual` is a job on one pg-boss queue. Each process's timer fans out the periodic ones
// (one job per running instance, singleton key per instance and period), and a claim row per instance,
// job and period (posture_runs) makes each run once, whichever process and however often queued.
import { and, eq, isNull } from "drizzle-orm";
import type { FastifyBaseLogger } from "fastify";
import type PgBoss from "pg-boss";
import { z } from "zod";
import type { CommandKind } from "@tropic/agent";
import type { Database } from "../db/connect.ts";
import { type AuditKind, instances } from "../db/schema.ts";
import { type AgentHub, AgentUnavailableError } from "../instances/hub.ts";
import { recordEvent } from "../lib/audit.ts";
import { auditPacks } from "../instances/gate-switch.ts";
import { report } from "./report.ts";
import { claimRun, finishRun, hasAudit, type IncidentIn, markAccepted, openIncidents, releaseRun, storeAudit, storeIncidents } from "./store.ts";

export const POSTURE_QUEUE = "instance-posture";
export const DAY_S = 24 * 3600;
export const INTEGRITY_S = 12 * 3600;
/** OpenClaw's own audit takes 5–22 s on top of ours (docs/hardening.md, Benchmark) */
export const AUDIT_TIMEOUT_MS = 60_000;
export const AUDIT_OPENCLAW_TIMEOUT_MS = 120_000;
const INTEGRITY_TIMEOUT_MS = 30_000;

export type PostureJob = { instanceId: string; job: "provision" | "deploy" | "daily" | "integrity"; period?: string };
type Instance = { id: string; ownerId: string };

/** The agent answered, but not with a result (it refused, or the result is not what the protocol says). */
export class AgentRefusedError extends Error {}

const incidentIn = z.object({
  kind: z.enum(["changed", "deleted", "added"]),
  name: z.string().min(1).max(500),
  path: z.string().max(4096),
  expected: z.string().max(200).optional(),
  actual: z.string().max(200).optional(),
});
const integrityIn = z.object({ baseline: z.boolean(), incidents: z.array(incidentIn).max(1000) });
const auditResult = z.object({
  report,
  hardened: z.array(z.looseObject({})).nullable().optional(),
  integrity: integrityIn.optional(),
  files: z.array(z.string()).optional(),
});

/**
 * Whether the instance's agent can be asked from this process: connected here, or (with the cluster's
 * `reachable`, when this hub has it) held by another live control-plane node that forwards the request.
 */
export async function agentReachable(hub: AgentHub, instanceId: string): Promise<boolean> {
  const h = hub as AgentHub & { reachable?: (id: string) => Promise<boolean> };
  return h.connected(instanceId) || (typeof h.reachable === "function" && (await h.reachable(instanceId)));
}

/** The current period of `seconds` (aligned to the epoch, as pg-boss's singleton slots are). */
export function periodStart(now: Date, seconds: number): Date {
  return new Date(Math.floor(now.getTime() / 1000 / seconds) * seconds * 1000);
}

export interface PostureServiceOptions {
  database: Database;
  hub: AgentHub;
  log: FastifyBaseLogger;
  /** how often each process fans out the periodic jobs (default 10 minutes; a period starts at most this late) */
  tickMs?: number;
  /** a job whose instance's agent is connected elsewhere (or reconnecting) is retried after this (default 30 s) */
  retryDelaySeconds?: number;
  /** a new instance's first daily audit waits this long after its creation (default 1 h: it just had its provision audit) */
  dailyAfterMs?: number;
  /** how long the agent may take (default 60 s an audit, 120 s with OpenClaw's, 30 s an integrity check or accept) */
  timeoutsMs?: { audit?: number; openclaw?: number; integrity?: number };
}

export class PostureService {
  private boss: PgBoss | null = null;
  private timer: NodeJS.Timeout | null = null;
  private db;

  constructor(private o: PostureServiceOptions) {
    this.db = o.database.db;
  }

  async start(boss: PgBoss) {
    await boss.createQueue(POSTURE_QUEUE, {
      policy: "standard",
      retryLimit: 3,
      retryDelay: this.o.retryDelaySeconds ?? 30,
      expireInSeconds: 5 * 60,
    });
    if (this.o.database.kind === "pglite") {
      // One process on the embedded database: a job left active died with it, and so did every claim
      // not done. Both are given back, so the run happens now (on PostgreSQL, pg-boss's expiry retries
      // the job and the claim's lease runs out).
      await this.o.database.pool.query("DELETE FROM posture_runs WHERE done_at IS NULL");
      await this.o.database.pool.query(`UPDATE pgboss.job SET state = 'retry', start_after = now() WHERE name = $1 AND state = 'active'`, [
        POSTURE_QUEUE,
      ]);
    }
    // Two workers: one instance's slow daily audit does not hold up the others' jobs.
    for (let i = 0; i < 2; i++)
      await boss.work<PostureJob>(POSTURE_QUEUE, { pollingIntervalSeconds: 1, batchSize: 1 }, async ([job]) => {
        if (job) await this.handle(job.data);
      });
    this.boss = boss;
    await this.tick().catch((err) => this.o.log.warn({ err }, "posture: could not queue the periodic checks"));
    this.timer = setInterval(
      () => void this.tick().catch((err) => this.o.log.warn({ err }, "posture: could not queue the periodic checks")),
      this.o.tickMs ?? 10 * 60_000,
    );
    this.timer.unref();
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.boss = null;
  }

  /** Queues a provision or deploy audit of one instance (deduplicated: one provision ever, one deploy audit a minute). */
  async trigger(instanceId: string, job: "provision" | "deploy") {
    if (!this.boss) return;
    await this.boss
      .send(POSTURE_QUEUE, { instanceId, job } satisfies PostureJob, {
        singletonKey: `${job}:${instanceId}`,
        singletonSeconds: job === "provision" ? 3600 : 60,
      })
      .catch((err) => this.o.log.warn({ err, instanceId, job }, "posture: could not queue an audit"));
  }

  /** The periodic fan-out: one daily audit and one integrity check per running instance and period. */
  async tick(now = new Date()): Promise<number> {
    if (!this.boss) return 0;
    const running = await this.db
      .select({ id: instances.id, createdAt: instances.createdAt })
      .from(instances)
      .where(and(eq(instances.state, "running"), isNull(instances.deletedAt)));
    // (OpenClaw's own audit costs 5–22 s of a core: not in a new instance's first hour, right after its provision audit)
    const settled = now.getTime() - (this.o.dailyAfterMs ?? 3600_000);
    let sent = 0;
    for (const [job, seconds] of [
      ["daily", DAY_S],
      ["integrity", INTEGRITY_S],
    ] as const) {
      const period = periodStart(now, seconds).toISOString();
      for (const r of running) {
        if (job === "daily" && r.createdAt.getTime() > settled) continue;
        const id = await this.boss.send(POSTURE_QUEUE, { instanceId: r.id, job, period } satisfies PostureJob, {
          singletonKey: `${job}:${r.id}:${period}`,
          singletonSeconds: seconds,
        });
        if (id) sent++;
      }
    }
    return sent;
  }

  /**
   * One job. An instance that is stopped, offline or failed is skipped; one starting or restarting, or
   * whose agent is connected to another process, is retried.
   */
  async handle(j: PostureJob) {
    const [inst] = await this.db
      .select({ id: instances.id, ownerId: instances.ownerId, state: instances.state, deletedAt: instances.deletedAt })
      .from(instances)
      .where(eq(instances.id, j.instanceId))
      .limit(1);
    if (!inst || inst.deletedAt) return;
    // A deploy restarts or reloads the gateway: a state on its way to running is waited for (pg-boss's retry).
    if (inst.state === "initializing" || inst.state === "restarting") throw new Error(`the instance is ${inst.state}; retried`);
    if (inst.state !== "running") return; // stopped, offline, failed: skipped, not an error

    // The agent holds one connection, to one control-plane process: another process's retry may have it.
    if (!(await agentReachable(this.o.hub, inst.id))) throw new Error("the instance's agent is not connected to this control-plane process");
    if (j.job === "deploy") {
      await this.runAudit(inst, "deploy");
      return;
    }
    if (j.job === "provision" && (await hasAudit(this.db, inst.id))) return;
    const period = j.job === "provision" ? new Date(0) : new Date(j.period ?? 0);
    if (!(await claimRun(this.db, inst.id, j.job, period))) return;
    try {
      if (j.job === "integrity") await this.checkIntegrity(inst);
      else await this.runAudit(inst, j.job);
      await finishRun(this.db, inst.id, j.job, period);
    } catch (err) {
      // Not done: the claim goes back, so a retry (or, for provision, the next start) runs it.
      await releaseRun(this.db, inst.id, j.job, period).catch(() => {});
      this.o.log.warn({ err, instanceId: inst.id, job: j.job }, "posture: the instance's check failed");
      throw err;
    }
  }

  private async ask(
    instanceId: string,
    kind: CommandKind & ("audit" | "integrity" | "accept_integrity"),
    payload: Record<string, unknown>,
    timeoutMs: number,
  ): Promise<unknown> {
    const ack = await this.o.hub.request(instanceId, kind, payload, timeoutMs);
    if (!ack.ok) throw new AgentRefusedError(`the instance could not run its ${kind.replace("_", " ")}: ${ack.error ?? "unknown error"}`);
    return ack.result;
  }

  /**
   * Runs an audit on the instance through its agent and stores it with the incidents it found.
   * Throws AgentUnavailableError (not connected, timeout) or AgentRefusedError.
   */
  async runAudit(inst: Instance, kind: AuditKind) {
    const openclaw = kind === "daily";
    // The packs the user chose for this instance's gate (the Skills drawer's switch, instances/gate-switch.ts):
    // the audit's gate.packs check compares what the config loads with them.
    const payload = { kind, harden: kind === "provision", openclaw, packs: await auditPacks(this.db, inst.id) };
    const t = this.o.timeoutsMs;
    const raw = await this.ask(inst.id, "audit", payload, openclaw ? (t?.openclaw ?? AUDIT_OPENCLAW_TIMEOUT_MS) : (t?.audit ?? AUDIT_TIMEOUT_MS));
    const parsed = auditResult.safeParse(raw);
    if (!parsed.success) throw new AgentRefusedError(`the instance's audit result is malformed: ${parsed.error.issues[0]?.message ?? "invalid"}`);
    const r = parsed.data;
    const audit = await storeAudit(this.db, {
      ownerId: inst.ownerId,
      instanceId: inst.id,
      kind,
      report: r.report,
      hardened: r.hardened ?? null,
    });
    const added = await this.recordIncidents(inst, r.integrity?.incidents ?? []);
    await recordEvent(this.db, {
      ownerId: inst.ownerId,
      action: "posture.audit",
      objectType: "instance",
      objectId: inst.id,
      details: { auditId: audit.id, kind, score: audit.score, counts: audit.counts, hardened: r.hardened?.length ?? 0 },
    });
    return { audit, incidents: added };
  }

  /** The 12-hourly integrity check: new incidents are stored (and put on the audit trail). */
  async checkIntegrity(inst: Instance) {
    const raw = await this.ask(inst.id, "integrity", {}, this.o.timeoutsMs?.integrity ?? INTEGRITY_TIMEOUT_MS);
    const parsed = integrityIn.safeParse(raw);
    if (!parsed.success) throw new AgentRefusedError(`the instance's integrity result is malformed: ${parsed.error.issues[0]?.message ?? "invalid"}`);
    return this.recordIncidents(inst, parsed.data.incidents);
  }

  private async recordIncidents(inst: Instance, incidents: IncidentIn[]) {
    const added = await storeIncidents(this.db, inst.ownerId, inst.id, incidents);
    if (added.length)
      await recordEvent(this.db, {
        ownerId: inst.ownerId,
        action: "posture.integrity_incident",
        objectType: "instance",
        objectId: inst.id,
        details: { incidents: added.map((i) => ({ id: i.id, name: i.name, change: i.change })) },
      });
    return added;
  }

  /**
   * Accepts open incidents (those given, else all) as the new baseline: the agent re-baselines their
   * files, then every open incident of those names is marked accepted with the reason. `unknown`
   * lists ids that are not open incidents of this instance (nothing is sent or changed then).
   */
  async accept(
    inst: Instance,
    actorId: string,
    ids: string[] | undefined,
    reason: string,
    /** called before anything is sent to the instance (the route's "is it running") */
    beforeSend: () => void = () => {},
  ): Promise<{ accepted: string[]; unknown: string[] }> {
    const open = await openIncidents(this.db, inst.id);
    const chosen = ids ? open.filter((i) => ids.includes(i.id)) : open;
    const unknown = ids ? ids.filter((id) => !open.some((i) => i.id === id)) : [];
    if (unknown.length || !chosen.length) return { accepted: [], unknown };
    beforeSend();
    const names = [...new Set(chosen.map((i) => i.name))];
    await this.ask(inst.id, "accept_integrity", { names, reason }, this.o.timeoutsMs?.integrity ?? INTEGRITY_TIMEOUT_MS);
    const accepted = await markAccepted(this.db, inst.id, names, reason);
    await recordEvent(this.db, {
      ownerId: inst.ownerId,
      actorId,
      action: "posture.integrity_accepted",
      objectType: "instance",
      objectId: inst.id,
      details: { incidents: accepted, names, reason },
    });
    return { accepted, unknown };
  }
}

export { AgentUnavailableError };
