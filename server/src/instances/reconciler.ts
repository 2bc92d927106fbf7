// Desired vs observed state, through pg-boss jobs. One queue, `instance-reconcile`, stately per
// instance (at most one queued and one running job per instance id, on any number of control-plane
// processes). Every step is idempotent and the order makes a kill at any point harmless:
//   tokens + provider reference are saved BEFORE the provider is called (save ids before waiting);
//   create/start are idempotent and re-adopt what is already there;
//   delete is two-phase: the API marks the row (deleting), this destroys the machine, then removes the row.
// Health (every 15 s, the seed's rule): 200 → running; 502/503 within 3 min of start → initializing;
// anything else → stopped. Locally the probe is the gateway's /readyz through the agent's tunnel; "nothing
// listens" (or no agent connected) counts as 502, what the seed's nginx answers for a gateway not up yet.
import { and, eq, inArray, isNull, ne, or } from "drizzle-orm";
import type { FastifyBaseLogger } from "fastify";
import PgBoss from "pg-boss";
import type { InstanceProvider, ObservedInstance } from "@tropic/providers";
import type { AgentStatus } from "@tropic/agent";
import type { Database } from "../db/connect.ts";
import { type InstanceState, instances } from "../db/schema.ts";
import { sha256Hex } from "../lib/tokens.ts";
import type { KeyEncryptionKey } from "../secrets/envelope.ts";
import { networkRulesFor } from "../ssh/network.ts";
import type { AgentHub } from "./hub.ts";
import { newAgentToken, newGatewayToken, openJson, sealJson } from "./tokens.ts";

export const RECONCILE_QUEUE = "instance-reconcile";
export const INITIALIZING_WINDOW_MS = 3 * 60_000;

export interface ReconcilerOptions {
  database: Database;
  kek: KeyEncryptionKey;
  hub: AgentHub;
  providers: Partial<Record<"local" | "aws" | "byo", InstanceProvider>>;
  /** the URL instance agents dial (ws:// or wss://) */
  agentUrl: () => string;
  log: FastifyBaseLogger;
  healthIntervalMs?: number;
  /** while an instance is initializing, how soon to look again (default 1 s) */
  watchIntervalMs?: number;
  /**
   * This control-plane node's id (cluster/node.ts): its 15-second pass looks at the instances whose
   * agents it holds and at those nobody holds, not at every instance of the cluster.
   */
  nodeId?: string;
}

export class Reconciler {
  private boss: PgBoss | null = null;
  private timer: NodeJS.Timeout | null = null;
  private adopted = new Set<string>();
  private o: ReconcilerOptions;
  private stopped = false;
  /** test hook: called at named points of a step (a test can kill the process there) */
  onStep: (instanceId: string, step: string) => void = () => {};
  /** called when an instance turns running (from initializing, restarting or failed): its provision audit (posture/) */
  onRunning: (instanceId: string) => void = () => {};

  constructor(o: ReconcilerOptions) {
    this.o = o;
  }

  async start() {
    const pool = this.o.database.pool;
    // The same pool (one connection on PGlite): pg-boss opens none of its own.
    const boss = new PgBoss({
      db: { executeSql: (text: string, values: unknown[]) => pool.query(text, values as unknown[] as never[]) },
      schedule: false,
      superviseIntervalSeconds: 60,
      monitorIntervalSeconds: 60,
    } as PgBoss.ConstructorOptions);
    boss.on("error", (err) => this.o.log.warn({ err }, "pg-boss error"));
    await boss.start();
    // A job still "active" belongs to a process that died mid-step (the step is idempotent and is simply
    // redone). The embedded database has exactly one control plane, so at start every active job is
    // stale; on PostgreSQL (several processes) pg-boss expires them after expireInSeconds.
    await boss.createQueue(RECONCILE_QUEUE, { policy: "stately", retryLimit: 5, retryDelay: 2, retryBackoff: true, expireInSeconds: 5 * 60 });
    if (this.o.database.kind === "pglite")
      await pool.query(
        `UPDATE pgboss.job SET state = 'failed', completed_on = now(), output = '{"message":"the control plane restarted during this step"}'::jsonb
          WHERE name = $1 AND state = 'active'`,
        [RECONCILE_QUEUE],
      );
    await boss.work<{ instanceId: string }>(RECONCILE_QUEUE, { pollingIntervalSeconds: 0.5, batchSize: 1 }, async ([job]) => {
      if (job) await this.reconcile(job.data.instanceId);
    });
    this.boss = boss;
    await this.tick();
    this.timer = setInterval(
      () => void this.tick().catch((err) => this.o.log.warn({ err }, "health tick failed")),
      this.o.healthIntervalMs ?? 15_000,
    );
  }

  /** The PgBoss this reconciler started (the credit meter queues its ticks on it too). */
  get jobs(): PgBoss | null {
    return this.boss;
  }

  async stop() {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.boss?.stop({ graceful: true, timeout: 5_000 }).catch(() => {});
    this.boss = null;
  }

  /** Queue a reconcile of one instance now (deduplicated per instance). */
  async kick(instanceId: string, afterSeconds = 0) {
    if (!this.boss || this.stopped) return;
    const opts = { singletonKey: instanceId, ...(afterSeconds ? { startAfter: afterSeconds } : {}) };
    await this.boss.send(RECONCILE_QUEUE, { instanceId }, opts).catch((err) => this.o.log.warn({ err, instanceId }, "could not queue a reconcile"));
  }

  /**
   * The 15-second pass: every instance whose provider runs here is looked at again (in a cluster, those
   * whose agents this node holds and those nobody holds: each node its share). Queued 1,000 jobs per
   * statement; an instance already queued is skipped (one job per instance, stately).
   */
  async tick() {
    const names = Object.keys(this.o.providers) as ("local" | "aws" | "byo")[];
    if (!names.length || !this.boss || this.stopped) return;
    const rows = await this.o.database.db
      .select({ id: instances.id })
      .from(instances)
      .where(
        and(
          inArray(instances.provider, names),
          or(ne(instances.state, "stopped"), ne(instances.desiredState, "stopped"), isNull(instances.providerRef)),
          this.o.nodeId ? or(isNull(instances.agentNodeId), eq(instances.agentNodeId, this.o.nodeId)) : undefined,
        ),
      );
    for (let i = 0; i < rows.length; i += 1000)
      await this.boss.insert(
        RECONCILE_QUEUE,
        rows.slice(i, i + 1000).map((r) => ({ name: RECONCILE_QUEUE, data: { instanceId: r.id }, singletonKey: r.id })),
      );
  }

  /** One reconcile pass for one instance. Safe to run again at any point. A provider that fails
   * (no sandbox for a second user, the runtime not installable, a gateway that cannot start) leaves the
   * instance `failed` with the reason; the next pass (a retry, the 15-second tick, a start) tries again. */
  async reconcile(id: string): Promise<void> {
    try {
      await this.step(id);
    } catch (err) {
      const reason = (err as Error).message.slice(0, 500);
      this.o.log.warn({ instanceId: id, reason }, "reconcile failed");
      await this.o.database.db
        .update(instances)
        .set({ state: "failed", stateReason: reason, updatedAt: new Date() })
        .where(and(eq(instances.id, id), ne(instances.desiredState, "deleted")))
        .catch(() => {});
      throw err;
    }
  }

  private async step(id: string): Promise<void> {
    const db = this.o.database.db;
    let [row] = await db.select().from(instances).where(eq(instances.id, id)).limit(1);
    if (!row) return;
    const provider = this.o.providers[row.provider];
    if (!provider) return;

    if (row.desiredState === "deleted") {
      // Phase two of the delete: the machine first, then the row (agents and commands cascade).
      if (row.providerRef) await provider.destroy(row.providerRef);
      this.onStep(id, "destroyed");
      this.o.hub.disconnect(id);
      await db.delete(instances).where(and(eq(instances.id, id), eq(instances.desiredState, "deleted")));
      this.adopted.delete(id);
      return;
    }

    // Save the tokens and the provider's reference before calling it.
    if (!row.providerRef || !row.gatewayTokenEnc || !row.agentTokenEnc) {
      const agentToken = newAgentToken();
      const [r] = await db
        .update(instances)
        .set({
          providerRef: row.providerRef ?? provider.reference({ instanceId: row.id, region: row.region }),
          gatewayTokenEnc: row.gatewayTokenEnc ?? (await sealJson(this.o.kek, newGatewayToken())),
          ...(row.agentTokenEnc ? {} : { agentTokenEnc: await sealJson(this.o.kek, agentToken), agentTokenHash: sha256Hex(agentToken) }),
          updatedAt: new Date(),
        })
        // Only tokens nobody saved meanwhile (a `byo` host's enrolment saves its own: hosts/enrolment.ts).
        .where(
          and(
            eq(instances.id, id),
            row.agentTokenEnc ? undefined : isNull(instances.agentTokenEnc),
            row.gatewayTokenEnc ? undefined : isNull(instances.gatewayTokenEnc),
          ),
        )
        .returning();
      if (!r) return this.step(id);
      row = r;
      this.onStep(id, "reference-saved");
    }
    let ref = row.providerRef!;

    if (row.desiredState === "stopped") {
      if (row.state === "stopped") return;
      if (row.state !== "stopping") await this.setState(id, { state: "stopping" });
      await provider.stop(ref);
      // A user's own machine keeps its agent (a command stopped its gateway); elsewhere the agent stopped too.
      if (row.provider !== "byo") this.o.hub.disconnect(id);
      // A stop by the credit meter (pause_reason set) keeps its reason: it is what the user sees.
      await this.setState(id, { state: "stopped", stoppedAt: new Date(), stateReason: row.pauseReason ? row.stateReason : null });
      return;
    }

    // desired: running
    let obs: ObservedInstance = await provider.describe(ref);
    if (obs.state === "gone" || obs.state === "provisioning" || row.state === "provisioning" || !this.adopted.has(id)) {
      // Idempotent: creates what is missing, refreshes config and the agent's URL, keeps what exists.
      // Long steps (the first runtime install) say what they are doing on the instance: a new step at
      // once, the same step's updates (its counters and seconds) every 2 s at most.
      let said = 0;
      let step = "";
      const progress = (message: string) => {
        const kind = message.replace(/[\d.,]+/g, "#");
        if (kind === step && Date.now() - said < 2000) return;
        said = Date.now();
        step = kind;
        void this.setState(id, { stateReason: message }).catch(() => {});
      };
      obs = await provider.create(
        {
          instanceId: row.id,
          ownerId: row.ownerId,
          region: row.region,
          instanceType: row.instanceType,
          gatewayToken: await openJson(this.o.kek, row.gatewayTokenEnc!),
          agentToken: await openJson(this.o.kek, row.agentTokenEnc!),
          controlPlaneUrl: this.o.agentUrl(),
          providerRef: ref,
        },
        progress,
      );
      // A provider may move its reference on (aws: a new attempt, the VM's id; saved by the provider before it waited).
      ref = obs.providerRef || ref;
      this.adopted.add(id);
      await this.setState(id, { addresses: obs.addresses });
      // The owner's SSH allowlist (Settings); re-applied to running instances whenever it changes.
      await provider.applyNetworkRules(ref, await networkRulesFor(db, row.ownerId));
      this.onStep(id, "created");
    }
    // A user's own machine (byo) Tropic cannot boot: until its agent is connected the instance waits,
    // `provisioning` before the machine enrolled, `stopped` (offline) after; its commands stay queued.
    if (row.provider === "byo" && obs.state === "provisioning") {
      const offline = row.host !== null;
      await this.setState(id, {
        state: offline ? "stopped" : "provisioning",
        stateReason: obs.detail ?? null,
        ...(offline && row.state !== "stopped" ? { stoppedAt: new Date() } : {}),
      });
      return;
    }
    let startedAt = row.startedAt;
    if (obs.state !== "running") {
      await provider.start(ref);
      startedAt = new Date();
      await this.setState(id, { state: "initializing", startedAt, stateReason: "starting the gateway" });
      this.onStep(id, "started");
    } else if (row.state === "provisioning" || !startedAt) {
      startedAt = new Date();
      await this.setState(id, { state: "initializing", startedAt });
    }

    const code = await this.healthProbe(id, obs.healthUrl);
    const [cur] = await db
      .select({ state: instances.state, desiredState: instances.desiredState, metrics: instances.metrics })
      .from(instances)
      .where(eq(instances.id, id))
      .limit(1);
    // Changed under us (a stop or a delete asked meanwhile): the next pass decides. A state of
    // `stopping` alone is not that: a pause by the credit meter sets it, and a start by the user can
    // turn the wish back to running before any stop happened; then this verdict is the way out.
    if (!cur || cur.desiredState !== "running" || cur.state === "deleting") return;
    const verdict = healthVerdict(code, cur.metrics as AgentReport, startedAt, Date.now());
    await this.setState(id, {
      state: verdict.state,
      lastHealthAt: new Date(),
      ...(verdict.state === "stopped" ? { stoppedAt: new Date() } : {}), // the meter charges until here
      stateReason: verdict.reason,
    });
    if (verdict.state === "initializing" || verdict.state === "restarting")
      await this.kick(id, Math.max(1, Math.round((this.o.watchIntervalMs ?? 1000) / 1000)));
    if (verdict.state === "running") {
      await this.o.hub.pump(id);
      if (cur.state !== "running") this.onRunning(id);
    }
  }

  /** The agent says its gateway is ready: one health check now (the seed's rule), not at the next pass. */
  async healthNow(id: string) {
    const [row] = await this.o.database.db.select().from(instances).where(eq(instances.id, id)).limit(1);
    // initializing, a restart someone asked for, or a crash loop that healed
    if (!row || row.desiredState !== "running" || !["initializing", "restarting", "failed"].includes(row.state) || !row.addresses) return;
    const provider = this.o.providers[row.provider];
    if (!provider || !row.providerRef) return;
    const obs = await provider.describe(row.providerRef);
    if ((await this.healthProbe(id, obs.healthUrl)) !== 200) return;
    await this.o.database.db
      .update(instances)
      .set({ state: "running", lastHealthAt: new Date(), stateReason: null, updatedAt: new Date() })
      .where(and(eq(instances.id, id), eq(instances.state, row.state), eq(instances.desiredState, "running")));
    await this.o.hub.pump(id);
    this.onRunning(id);
  }

  /**
   * The seed's health probe: the provider's health URL when it gives one (a cloud VM's nginx); else the
   * gateway's /readyz through its agent's tunnel (a local gateway binds loopback in a network namespace
   * of its own: nothing else reaches it).
   */
  private healthProbe(id: string, healthUrl: string | undefined): Promise<number> {
    return healthUrl ? probe(healthUrl) : this.o.hub.probe(id, "/readyz");
  }

  private async setState(id: string, set: Partial<typeof instances.$inferInsert>) {
    await this.o.database.db
      .update(instances)
      .set({ ...set, updatedAt: new Date() })
      .where(eq(instances.id, id));
  }
}

/** What the instance agent last reported about its gateway (instances.metrics; protocol.ts's AgentStatus). */
export type AgentReport = Partial<AgentStatus> & { at?: string };

/** A report is believed for this long: the agent sends one every 15 s and at every change. */
const REPORT_FRESH_MS = 45_000;

/**
 * The seed's health rule (200 → running; 502/503 within 3 min of start → initializing; else stopped),
 * told apart by what the gateway's supervisor saw, so a state on the dashboard is never a guess:
 * a restart someone asked for is `restarting`, not a crash; a gateway that keeps exiting is `failed`
 * with its last error line and restart count (the agent keeps retrying, and it turns `running` when
 * one try works); the 3 minutes count from the gateway's own (re)start.
 */
export function healthVerdict(code: number, m: AgentReport, startedAt: Date | null, now: number): { state: InstanceState; reason: string | null } {
  if (code === 200) return { state: "running", reason: null };
  const fresh = m?.at ? now - Date.parse(m.at) < REPORT_FRESH_MS && Date.parse(m.at) >= (startedAt?.getTime() ?? 0) : false;
  if (fresh && m.gateFailure) return { state: "failed", reason: m.gateFailure };
  const restarts = m?.gatewayRestarts ?? 0;
  if (fresh && m.gatewayPhase === "restarting") return { state: "restarting", reason: "restarting the gateway" };
  if (fresh && (m.gatewayPhase === "crash-looping" || m.gatewayPhase === "failed"))
    return {
      state: "failed",
      reason: `the gateway keeps exiting (${restarts} restart${restarts === 1 ? "" : "s"}); last error: ${m.gatewayLastError ?? "none in its log"}`,
    };
  const gatewayStart = fresh && m.gatewayStartedAt ? Date.parse(m.gatewayStartedAt) : (startedAt?.getTime() ?? 0);
  const sinceStart = now - gatewayStart;
  if ((code === 502 || code === 503) && sinceStart < INITIALIZING_WINDOW_MS)
    return {
      state: "initializing",
      reason:
        fresh && restarts > 0 && m.gatewayLastError
          ? `starting the gateway again (restart ${restarts}; last error: ${m.gatewayLastError})`
          : "starting the gateway",
    };
  return { state: "stopped", reason: `health check: ${code ? `HTTP ${code}` : "no answer"} ${Math.round(sinceStart / 1000)} s after start` };
}

/** The health probe: the HTTP status, 502 when nothing answers (as the seed's nginx would), 0 on a timeout. */
export async function probe(url: string | undefined): Promise<number> {
  if (!url) return 0;
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    await r.body?.cancel();
    return r.status;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause?.code === "ECONNREFUSED" || cause?.code === "ECONNRESET") return 502;
    return 0;
  }
}
