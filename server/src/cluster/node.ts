// This control-plane process as one node of several on one PostgreSQL (issue 20, docs/scaling.md).
// PostgreSQL is the cluster's only shared state: each node registers its internal address and a
// heartbeat in cluster_nodes, records which instances' agents it holds (instances.agent_node_id),
// and wakes the others with LISTEN/NOTIFY (the table stays the truth; a missed notification only
// delays delivery until the next look). Nodes reach each other over an internal link authenticated
// by a per-node credential whose sha256 is registered: no shared secret, no cluster protocol of our own.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { and, eq, gt, lt, sql } from "drizzle-orm";
import type { FastifyBaseLogger } from "fastify";
import pg from "pg";
import type { Database } from "../db/connect.ts";
import { clusterNodes, instances } from "../db/schema.ts";

/** The NOTIFY channel: its payload is an instance id whose command queue changed. */
export const WAKE_CHANNEL = "tropic_instance";
/** The header one node presents to another: `Node <node id>.<credential>`. */
export const NODE_AUTH_HEADER = "x-tropic-node";

const sha256Hex = (s: string) => createHash("sha256").update(s).digest("hex");

export interface ClusterNodeOptions {
  database: Database;
  log: FastifyBaseLogger;
  /** http(s)://host:port where the other nodes reach this one (decided after listen) */
  internalUrl: () => string;
  /** heartbeat period (default 5 s) */
  heartbeatMs?: number;
  /** a node silent this long is gone (default 20 s) */
  expireMs?: number;
}

export interface Holder {
  nodeId: string;
  internalUrl: string;
  self: boolean;
}

export class ClusterNode {
  readonly id = randomUUID();
  private readonly credential = randomBytes(32).toString("hex");
  private timer: NodeJS.Timeout | undefined;
  private listener: pg.Client | undefined;
  private wakeHandlers: ((instanceId: string) => void)[] = [];
  private stopped = false;
  /** LISTENing now: a command queued by this node wakes it too, through PostgreSQL (no local pump needed) */
  listening = false;

  constructor(readonly o: ClusterNodeOptions) {}

  private get db() {
    return this.o.database.db;
  }
  private get expireMs() {
    return this.o.expireMs ?? 20_000;
  }

  /** What this node presents to another one. */
  authHeader(): string {
    return `Node ${this.id}.${this.credential}`;
  }

  async start() {
    await this.db.insert(clusterNodes).values({ id: this.id, internalUrl: this.o.internalUrl(), tokenHash: sha256Hex(this.credential) });
    this.timer = setInterval(
      () => void this.heartbeat().catch((err) => this.o.log.warn({ err }, "cluster heartbeat failed")),
      this.o.heartbeatMs ?? 5000,
    );
    this.timer.unref();
    await this.listen();
  }

  /** Alive again, and the dead removed: their agents' rows are released for whoever they reconnect to. */
  async heartbeat() {
    const now = new Date();
    const mine = await this.db.update(clusterNodes).set({ heartbeatAt: now }).where(eq(clusterNodes.id, this.id)).returning({ id: clusterNodes.id });
    // Declared dead by another node while paused (a long GC, a stalled disk): register again.
    if (!mine.length && !this.stopped)
      await this.db
        .insert(clusterNodes)
        .values({ id: this.id, internalUrl: this.o.internalUrl(), tokenHash: sha256Hex(this.credential) })
        .onConflictDoNothing();
    const dead = await this.db
      .delete(clusterNodes)
      .where(lt(clusterNodes.heartbeatAt, new Date(now.getTime() - this.expireMs)))
      .returning({ id: clusterNodes.id });
    for (const d of dead) {
      await this.db.update(instances).set({ agentNodeId: null }).where(eq(instances.agentNodeId, d.id));
      this.o.log.warn({ node: d.id }, "a control-plane node stopped reporting: its registration expired");
    }
  }

  /** Leaves the cluster (a graceful stop): the row goes, and with it every claim on an agent. */
  async stop() {
    this.stopped = true;
    this.listening = false;
    clearInterval(this.timer);
    await this.listener?.end().catch(() => {});
    this.listener = undefined;
    await this.db.update(instances).set({ agentNodeId: null }).where(eq(instances.agentNodeId, this.id));
    await this.db.delete(clusterNodes).where(eq(clusterNodes.id, this.id));
  }

  /** Clears every claim of this node on an agent (a drain handed them off; a claim another node made since is kept). */
  async releaseAll() {
    await this.db.update(instances).set({ agentNodeId: null }).where(eq(instances.agentNodeId, this.id));
  }

  /** Marks this node draining: the others stop sending it new work. */
  async drain() {
    await this.db.update(clusterNodes).set({ draining: true }).where(eq(clusterNodes.id, this.id));
  }

  /** This node holds the instance's agent connection now. */
  async claim(instanceId: string) {
    await this.db.update(instances).set({ agentNodeId: this.id }).where(eq(instances.id, instanceId));
  }

  /** The connection closed here (unless another node took it meanwhile). */
  async release(instanceId: string) {
    await this.db
      .update(instances)
      .set({ agentNodeId: null })
      .where(and(eq(instances.id, instanceId), eq(instances.agentNodeId, this.id)));
  }

  /** How many nodes are live now (this one included): more than one is a cluster. */
  async liveNodes(): Promise<number> {
    const rows = await this.db
      .select({ id: clusterNodes.id })
      .from(clusterNodes)
      .where(gt(clusterNodes.heartbeatAt, new Date(Date.now() - this.expireMs)));
    return rows.length;
  }

  /** The live node holding the instance's agent connection, or null. */
  async holder(instanceId: string): Promise<Holder | null> {
    const [row] = await this.db
      .select({ nodeId: clusterNodes.id, internalUrl: clusterNodes.internalUrl })
      .from(instances)
      .innerJoin(clusterNodes, eq(clusterNodes.id, instances.agentNodeId))
      .where(and(eq(instances.id, instanceId), gt(clusterNodes.heartbeatAt, new Date(Date.now() - this.expireMs))))
      .limit(1);
    return row ? { ...row, self: row.nodeId === this.id } : null;
  }

  /** Whether a request carries a live node's credential (compared in constant time). */
  async verify(header: string | string[] | undefined): Promise<boolean> {
    const m = /^Node ([0-9a-f-]{36})\.([0-9a-f]{64})$/.exec(String(header ?? ""));
    if (!m) return false;
    const [row] = await this.db
      .select({ tokenHash: clusterNodes.tokenHash })
      .from(clusterNodes)
      .where(and(eq(clusterNodes.id, m[1]!), gt(clusterNodes.heartbeatAt, new Date(Date.now() - this.expireMs))))
      .limit(1);
    if (!row) return false;
    const a = Buffer.from(row.tokenHash, "hex");
    const b = Buffer.from(sha256Hex(m[2]!), "hex");
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Called with an instance id when another node changed its command queue. */
  onWake(fn: (instanceId: string) => void) {
    this.wakeHandlers.push(fn);
  }

  /**
   * LISTEN on a connection of its own (PostgreSQL only: the embedded database is one process, one
   * node). A lost connection is re-made with back-off; every held instance is then woken, since
   * notifications sent meanwhile are gone.
   */
  private async listen(attempt = 0): Promise<void> {
    if (this.o.database.kind !== "postgres" || this.stopped) return;
    const opts = (this.o.database.pool as unknown as { options: pg.ClientConfig }).options;
    const client = new pg.Client(opts);
    const retry = () => {
      if (this.stopped || this.listener !== client) return;
      this.listener = undefined;
      this.listening = false;
      const delay = Math.min(30_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
      setTimeout(() => void this.listen(attempt + 1).then(() => this.wakeAll()), delay).unref();
    };
    client.on("error", retry);
    client.on("end", retry);
    client.on("notification", (n) => {
      if (n.channel !== WAKE_CHANNEL || !n.payload) return;
      // one instance id, or several separated by commas (a fan-out: wakeInstances)
      for (const id of n.payload.split(",")) for (const fn of this.wakeHandlers) fn(id);
    });
    this.listener = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${WAKE_CHANNEL}`);
      this.listening = true;
    } catch (err) {
      this.o.log.warn({ err }, "cluster: LISTEN failed; retrying");
      retry();
    }
  }

  private async wakeAll() {
    const held = await this.db.select({ id: instances.id }).from(instances).where(eq(instances.agentNodeId, this.id));
    for (const h of held) for (const fn of this.wakeHandlers) fn(h.id);
  }
}

/** Wakes whichever node holds the instance's agent: its command queue changed (sent at commit). */
export async function wakeInstance(db: Database["db"], instanceId: string) {
  await db.execute(sql`select pg_notify(${WAKE_CHANNEL}, ${instanceId})`);
}

/** A NOTIFY payload is at most 8,000 bytes: 200 instance ids (37 bytes with the comma) per notification. */
const IDS_PER_NOTIFY = 200;

/**
 * Wakes the holders of many instances at once (a policy pushed to a fleet): the ids go in a few
 * notifications of up to 200 each, in one statement, instead of one notification (and one round trip)
 * per instance.
 */
export async function wakeInstances(db: Database["db"], instanceIds: string[]) {
  const ids = instanceIds.filter((id) => UUID.test(id));
  if (!ids.length) return;
  const payloads: string[] = [];
  for (let i = 0; i < ids.length; i += IDS_PER_NOTIFY) payloads.push(ids.slice(i, i + IDS_PER_NOTIFY).join(","));
  // one array parameter (its elements are uuids and commas, quoted)
  await db.execute(sql`select pg_notify(${WAKE_CHANNEL}, p) from unnest(${`{${payloads.map((p) => `"${p}"`).join(",")}}`}::text[]) as p`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
