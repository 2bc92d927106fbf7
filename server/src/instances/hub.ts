// The control plane's end of the management channel: instance agents dial in over a WebSocket at
// /api/v1/agent/connect with `Authorization: Bearer <instance API token>` (looked up by its sha256;
// the token itself is never stored or logged). Open commands are sent in order on connect and as
// they are queued; acks complete them (and what they stand for: an agent ready, a skill installed).
import { get as httpGet, type IncomingMessage, type Server } from "node:http";
import { connect as netConnect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { and, asc, eq, inArray, isNull, or, sql } from "drizzle-orm";
import type { FastifyBaseLogger } from "fastify";
import { createWebSocketStream, WebSocket, WebSocketServer } from "ws";
import {
  AGENT_PATH,
  type AgentFrame,
  type AgentStatus,
  type AnswerFrame,
  type AskFrame,
  type CommandFrame,
  type CommandKind,
  TunnelMux,
} from "@tropic/agent";
import { AGENT_GOING_AWAY } from "@tropic/agent";
import { deferredDuplex, INTERNAL_STREAM, type RemoteAgentError, remoteRequest, remoteStream } from "../cluster/link.ts";
import { type ClusterNode, NODE_AUTH_HEADER } from "../cluster/node.ts";
import type { Db } from "../db/connect.ts";
import { agents, auditEvents, credentials, instanceCommands, instances, skillInstalls } from "../db/schema.ts";
import { recordEvent } from "../lib/audit.ts";
import { resendGateOnConnect } from "./gate-switch.ts";
import { Slots } from "../lib/slots.ts";
import { sha256Hex } from "../lib/tokens.ts";
import { currentModelKey } from "../models/keys.ts";
import { claimUpgrade } from "../lib/upgrades.ts";
import { type KeyEncryptionKey, open } from "../secrets/envelope.ts";

interface Conn {
  ws: WebSocket;
  instanceId: string;
  ownerId: string;
  sent: Set<string>;
  /** incidents already recorded from this connection's reports */
  incidents: Set<string>;
  chain: Promise<void>;
  /** the tunnel to the instance's gateway: byte streams multiplexed on this connection (binary frames) */
  mux: TunnelMux;
  /** live requests (`request()`): answered by their ack, never stored */
  waiting: Map<string, { resolve: (ack: { ok: boolean; result?: unknown; error?: string }) => void; reject: (e: Error) => void }>;
  /**
   * The instance is being deleted: its agent may still connect (a machine back from a reboot must take
   * its uninstall, providers/src/byo.ts), but it is sent nothing queued and never told to start.
   */
  deleting: boolean;
}

/** A live request the connected agent did not answer (no connection, closed, or too slow). */
/** how long status reports are gathered before they are written together */
const STATUS_FLUSH_MS = 250;
/** agents' handshakes at once (of the pool's 20 connections) */
const HANDSHAKE_SLOTS = 6;

export class AgentUnavailableError extends Error {
  constructor(
    message: string,
    readonly reason: "not_connected" | "timeout" | "disconnected",
  ) {
    super(message);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class AgentHub {
  private wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 * 1024 });
  private conns = new Map<string, Conn>();
  private ping: NodeJS.Timeout;
  private db: Db;
  private kek: KeyEncryptionKey;
  private log: FastifyBaseLogger;
  /** called after every ack (tests and the reconciler listen) */
  onAck: (instanceId: string, commandId: string, ok: boolean) => void = () => {};
  /** called when an agent reports its gateway ready (the reconciler looks at once) */
  onGatewayReady: (instanceId: string) => void = () => {};
  /** called when an agent reports its gateway not ready (restarting, crash-looping…): the reconciler looks at once */
  onGatewayTrouble: (instanceId: string) => void = () => {};
  /** called when an agent connects (a user's own machine coming back: the reconciler looks at once) */
  onConnected: (instanceId: string) => void = () => {};
  /** called when an agent deploy became ready (its register_agent acked): the deploy re-audit (posture/) */
  onAgentReady: (instanceId: string) => void = () => {};

  /**
   * This process as a node of a cluster (cluster/node.ts): agents it holds are recorded in PostgreSQL,
   * and requests and streams for an agent held by another node are forwarded there.
   */
  private cluster: ClusterNode | undefined;

  constructor(deps: { db: Db; kek: KeyEncryptionKey; log: FastifyBaseLogger; cluster?: ClusterNode }) {
    this.db = deps.db;
    this.kek = deps.kek;
    this.log = deps.log;
    this.cluster = deps.cluster;
    // Another node queued a command for an agent held here: deliver it (the table is the truth).
    this.cluster?.onWake((id) => void this.wakeMany([id]));
    // Keep-alive (the seed: 30 s TCP keep-alive, no idle timeout); a dead peer is dropped.
    this.ping = setInterval(() => {
      for (const c of this.conns.values()) {
        if ((c.ws as WebSocket & { alive?: boolean }).alive === false) c.ws.terminate();
        else {
          (c.ws as WebSocket & { alive?: boolean }).alive = false;
          c.ws.ping();
        }
      }
    }, 30_000);
    this.ping.unref();
  }

  attach(server: Server) {
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = (req.url ?? "").split("?")[0]!;
      const internal = INTERNAL_STREAM.exec(path);
      if (internal) {
        claimUpgrade(req);
        void this.internalStream(req, socket, head, internal[1]!);
        return;
      }
      if (path !== AGENT_PATH) return;
      claimUpgrade(req);
      void this.upgrade(req, socket, head);
    });
  }

  /** Another node's stream to a gateway whose agent is held here (cluster/link.ts). */
  private async internalStream(req: IncomingMessage, socket: Duplex, head: Buffer, instanceId: string) {
    if (!this.cluster || !(await this.cluster.verify(req.headers[NODE_AUTH_HEADER]).catch(() => false))) {
      socket.end("HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    if (!this.connected(instanceId)) {
      socket.end("HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const remote = createWebSocketStream(ws);
      let local: Duplex;
      try {
        local = this.openStream(instanceId);
      } catch {
        return ws.close(1011, "the instance's agent is not connected");
      }
      remote.pipe(local).pipe(remote);
      const end = () => {
        remote.destroy();
        local.destroy();
      };
      remote.on("error", end);
      local.on("error", end);
      remote.on("close", end);
      local.on("close", end);
    });
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    const m = /^Bearer ([0-9a-f]{64})$/.exec(String(req.headers.authorization ?? ""));
    let row: { id: string; ownerId: string; deletedAt: Date | null } | undefined;
    if (m) {
      // A deleted instance's row lives until its machine is torn down (two-phase delete): until then
      // its agent is let in, so the teardown can reach it; after, the token matches nothing.
      [row] = await this.handshakes.run(() =>
        this.db
          .select({ id: instances.id, ownerId: instances.ownerId, deletedAt: instances.deletedAt })
          .from(instances)
          .where(and(eq(instances.agentTokenHash, sha256Hex(m[1]!)), or(isNull(instances.deletedAt), eq(instances.state, "deleting"))))
          .limit(1)
          .catch(() => []),
      );
    }
    if (!row) {
      socket.end("HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    const inst = row;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.adopt(ws, inst.id, inst.ownerId, !!inst.deletedAt));
  }

  private adopt(ws: WebSocket, instanceId: string, ownerId: string, deleting = false) {
    this.conns.get(instanceId)?.ws.close(4000, "replaced by a newer connection");
    // The only stream an agent may open toward the control plane is one to the model proxy's own
    // listener (its gateway's model calls); anything else is refused (fromAgent).
    const mux = new TunnelMux(
      { send: (frame) => ws.send(frame), bufferedAmount: () => ws.bufferedAmount },
      { role: "client", accept: (meta) => this.fromAgent(meta) },
    );
    const c: Conn = { ws, instanceId, ownerId, sent: new Set(), incidents: new Set(), chain: Promise.resolve(), waiting: new Map(), mux, deleting };
    this.conns.set(instanceId, c);
    void this.cluster?.claim(instanceId).catch((err) => this.log.warn({ err, instanceId }, "could not record this node as the agent's"));
    (ws as WebSocket & { alive?: boolean }).alive = true;
    ws.on("pong", () => {
      (ws as WebSocket & { alive?: boolean }).alive = true;
    });
    this.log.info({ instanceId }, "instance agent connected");
    this.onConnected(instanceId);
    ws.on("message", (data, isBinary) => {
      // Binary frames are the tunnel's; text frames the management protocol's.
      if (isBinary) return mux.receive(data as Buffer);
      let f: AgentFrame;
      try {
        f = JSON.parse(String(data));
      } catch {
        return;
      }
      // A question the agent asks (its instance's Google access token): answered beside the command chain.
      if (f.type === "ask") return void this.answerAsk(c, f);
      c.chain = c.chain.then(() => this.onFrame(c, f)).catch((err) => this.log.warn({ err, instanceId }, "agent frame failed"));
    });
    ws.on("close", () => {
      mux.close(new Error("the instance's agent disconnected"));
      if (this.conns.get(instanceId) === c) {
        this.conns.delete(instanceId);
        if (!this.goingAway) void this.cluster?.release(instanceId).catch(() => {});
      }
      for (const w of c.waiting.values()) w.reject(new AgentUnavailableError("the instance's agent disconnected before it answered", "disconnected"));
      c.waiting.clear();
      this.log.info({ instanceId }, "instance agent disconnected");
    });
    ws.on("error", () => {});
  }

  /**
   * Answers an agent's `ask` (the instance's Google access token, connections/google.ts): for the owner
   * of the instance whose token opened this connection, never for anyone the frame names.
   */
  onAsk: ((ownerId: string, instanceId: string, what: AskFrame["what"]) => Promise<Omit<AnswerFrame, "type" | "id">>) | null = null;

  private async answerAsk(c: Conn, f: AskFrame) {
    let a: Omit<AnswerFrame, "type" | "id">;
    try {
      // (an instance being deleted gets nothing more of its owner's)
      a = c.deleting
        ? { ok: false, error: "this instance is being deleted", code: "not_connected" }
        : this.onAsk
          ? await this.onAsk(c.ownerId, c.instanceId, f.what)
          : { ok: false, error: "this control plane answers no questions", code: "unavailable" };
    } catch (err) {
      a = { ok: false, error: "the control plane could not answer", code: "unavailable" };
      this.log.warn({ err, instanceId: c.instanceId }, "agent ask failed");
    }
    const frame: AnswerFrame = { type: "answer", id: String(f.id), ...a };
    if (c.ws.readyState === WebSocket.OPEN) c.ws.send(JSON.stringify(frame));
  }

  /**
   * Where the model proxy's internal listener is (127.0.0.1:port), or null when this process serves
   * none: a stream an agent opens with `{to: "model-proxy"}` is joined to a new connection to it.
   */
  modelProxyPort: number | null = null;

  /** A stream an agent opened: only to the model proxy, never anywhere else (the meta names no address). */
  private fromAgent(meta: Record<string, unknown>): Promise<Duplex> {
    const port = this.modelProxyPort;
    if (meta.to !== "model-proxy") return Promise.reject(new Error("the control plane accepts only model-proxy streams"));
    if (!port) return Promise.reject(new Error("this control plane serves no model proxy"));
    return new Promise((resolve, reject) => {
      const s = netConnect({ port, host: "127.0.0.1" });
      s.once("connect", () => resolve(s));
      s.once("error", reject);
    });
  }

  connected(instanceId: string): boolean {
    return this.conns.get(instanceId)?.ws.readyState === WebSocket.OPEN;
  }

  /**
   * A new connection to the instance's gateway, through its agent's tunnel (the gateway binds loopback
   * in its own network namespace; nothing else reaches it). Throws AgentUnavailableError when the agent
   * is not connected; the stream errors with the agent's reason when the gateway does not accept.
   */
  openStream(instanceId: string): Duplex {
    const c = this.conns.get(instanceId);
    if (c && c.ws.readyState === WebSocket.OPEN) return c.mux.open({ to: "gateway" });
    const cluster = this.cluster;
    if (!cluster) throw new AgentUnavailableError("the instance's agent is not connected", "not_connected");
    // Held by another node, maybe: the stream goes through it (looked up now, connected later).
    return deferredDuplex(
      cluster.holder(instanceId).then((h) => {
        if (!h || h.self) throw new AgentUnavailableError("the instance's agent is not connected", "not_connected");
        return remoteStream(h, cluster.authHeader(), instanceId);
      }),
    );
  }

  /** Whether the instance's agent is connected to this node or to another live one. */
  async reachable(instanceId: string): Promise<boolean> {
    if (this.connected(instanceId)) return true;
    const h = await this.cluster?.holder(instanceId);
    return !!h && !h.self;
  }

  /**
   * The gateway's answer to GET `path` through the tunnel: its HTTP status, 502 when nothing answers
   * (the agent is not connected, or the gateway does not listen: what the seed's nginx answers), 0
   * when it does not answer in time.
   */
  probe(instanceId: string, path = "/readyz", timeoutMs = 5000): Promise<number> {
    return new Promise((resolve) => {
      let stream: Duplex;
      try {
        stream = this.openStream(instanceId);
      } catch {
        return resolve(502);
      }
      const req = httpGet(
        { path, headers: { host: "127.0.0.1" }, createConnection: () => stream as unknown as Socket, timeout: timeoutMs },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 502);
        },
      );
      req.on("timeout", () => {
        req.destroy();
        resolve(0);
      });
      req.on("error", () => resolve(502));
    });
  }

  private async onFrame(c: Conn, f: AgentFrame) {
    // The token decides the instance; an agent that says it is another one (a host presenting another
    // instance's token) is refused before anything it reports is believed.
    if (f.type === "hello" && f.instanceId !== c.instanceId) {
      this.log.warn({ instanceId: c.instanceId }, "an agent presented this instance's token but said it is another instance: refused");
      c.ws.close(4003, "this token belongs to another instance");
      return;
    }
    if (f.type === "status") {
      // the periodic report (every agent, every 15 s): written with others', a few statements a second per node
      this.queueStatus(c, f.status);
      for (const i of f.status?.gateIncidents ?? []) await this.recordIncident(c, i);
      return;
    }
    if (f.type === "hello") {
      this.statuses.delete(c.instanceId); // an older report queued from before the reconnect
      await this.handshakes.run(() => this.onHello(c, f));
      return;
    }
    if (f.type === "ack") await this.onAckFrame(c, f);
  }

  /** What a (re)connected agent reports first, then everything queued for it, then `synced`. */
  private async onHello(c: Conn, f: Extract<AgentFrame, { type: "hello" }>) {
    await this.db
      .update(instances)
      .set({ metrics: { ...f.status, at: new Date().toISOString() }, agentSeenAt: new Date() })
      .where(eq(instances.id, c.instanceId));
    if (f.status?.gatewayReady) this.onGatewayReady(c.instanceId);
    else this.onGatewayTrouble(c.instanceId);
    if (Array.isArray(f.status?.gatewayAgents)) await this.syncLoadedAgents(c.instanceId, f.status.gatewayAgents, f.status.gatewayConfigIssues ?? []);
    for (const i of f.status?.gateIncidents ?? []) await this.recordIncident(c, i);
    if (!c.deleting) {
      // A gate the user switched off (or other packs) is sent again: a fresh openclaw.json converges first.
      await resendGateOnConnect(this.db, c.instanceId);
      await this.sendOpen(c);
      // what was queued is on its way: the agent starts its gateway after applying it
      if (c.ws.readyState === WebSocket.OPEN) c.ws.send(JSON.stringify({ type: "synced" }));
    }
  }

  /** Sends every open command of an instance its agent has not had on this connection, in order. */
  pump(instanceId: string): Promise<void> {
    const c = this.conns.get(instanceId);
    if (!c || c.deleting) return Promise.resolve();
    c.chain = c.chain.then(() => this.sendOpen(c)).catch((err) => this.log.warn({ err, instanceId }, "command delivery failed"));
    return c.chain;
  }

  /** instances held here whose queue changed, delivered together at the next turn (wakeMany) */
  private woken = new Set<string>();
  private wakeFlush: Promise<void> | null = null;

  /**
   * The command queues of these instances changed: those whose agents are held here get what is open,
   * read in one query per 1,000 instances and marked sent in one more (a fan-out to thousands of agents
   * costs a few round trips, not two per agent). Each agent's commands still go out in order, on its
   * connection's chain.
   */
  wakeMany(instanceIds: string[]): Promise<void> {
    for (const id of instanceIds) if (this.conns.has(id)) this.woken.add(id);
    if (!this.woken.size) return Promise.resolve();
    this.wakeFlush ??= new Promise<void>((r) => setImmediate(r)).then(async () => {
      const ids = [...this.woken];
      this.woken.clear();
      this.wakeFlush = null;
      for (let i = 0; i < ids.length; i += 1000)
        await this.deliverBatch(ids.slice(i, i + 1000)).catch((err) => this.log.warn({ err }, "command delivery failed"));
    });
    return this.wakeFlush;
  }

  private async deliverBatch(ids: string[]) {
    const rows = await this.db
      .select()
      .from(instanceCommands)
      .where(and(inArray(instanceCommands.instanceId, ids), inArray(instanceCommands.state, ["pending", "sent"])))
      .orderBy(asc(instanceCommands.seq));
    const per = new Map<Conn, (typeof rows)[number][]>();
    for (const r of rows) {
      const c = this.conns.get(r.instanceId);
      if (!c || c.deleting || c.sent.has(r.id)) continue;
      per.set(c, [...(per.get(c) ?? []), r]);
    }
    const claim = [...per.values()].flat().map((r) => r.id);
    if (!claim.length) return;
    // Marked sent before they go (a connection that drops first leaves them open: sent again on its next hello).
    const marked = new Set(
      (
        await this.db
          .update(instanceCommands)
          .set({ state: "sent", sentAt: new Date(), attempts: sql`${instanceCommands.attempts} + 1` })
          .where(and(inArray(instanceCommands.id, claim), inArray(instanceCommands.state, ["pending", "sent"])))
          .returning({ id: instanceCommands.id })
      ).map((r) => r.id),
    );
    for (const [c, cmds] of per) {
      const mine = cmds.filter((r) => marked.has(r.id));
      c.chain = c.chain
        .then(() => this.sendRows(c, mine, true))
        .catch((err) => this.log.warn({ err, instanceId: c.instanceId }, "command delivery failed"));
    }
  }

  private async sendOpen(c: Conn) {
    const open = await this.db
      .select()
      .from(instanceCommands)
      .where(and(eq(instanceCommands.instanceId, c.instanceId), inArray(instanceCommands.state, ["pending", "sent"])))
      .orderBy(asc(instanceCommands.seq));
    await this.sendRows(c, open);
  }

  /** Sends these open commands (in order) that this connection has not had; `marked`: already recorded as sent. */
  private async sendRows(c: Conn, open: (typeof instanceCommands.$inferSelect)[], marked = false) {
    for (const cmd of open) {
      if (c.sent.has(cmd.id) || c.ws.readyState !== WebSocket.OPEN) continue;
      let payload: Record<string, unknown>;
      try {
        payload = (await this.resolveSecrets(c.ownerId, c.instanceId, cmd.payload)) as Record<string, unknown>;
      } catch (err) {
        await this.finish(c, cmd.id, false, undefined, (err as Error).message);
        continue;
      }
      const frame: CommandFrame = { type: "command", id: cmd.id, kind: cmd.kind as CommandFrame["kind"], payload };
      c.ws.send(JSON.stringify(frame));
      c.sent.add(cmd.id);
      if (marked) continue;
      await this.db
        .update(instanceCommands)
        .set({ state: "sent", sentAt: new Date(), attempts: cmd.attempts + 1 })
        .where(and(eq(instanceCommands.id, cmd.id), inArray(instanceCommands.state, ["pending", "sent"])));
    }
  }

  /**
   * `{"$credential": name}` → the owner's decrypted credential, `{"$modelKey": true}` → the instance's
   * model-proxy credential (only ever in the frame sent, never stored in plaintext).
   */
  private async resolveSecrets(ownerId: string, instanceId: string, v: unknown): Promise<unknown> {
    if (Array.isArray(v)) return Promise.all(v.map((x) => this.resolveSecrets(ownerId, instanceId, x)));
    if (!v || typeof v !== "object") return v;
    const o = v as Record<string, unknown>;
    // The instance's own model-proxy credential (the platform's key itself never goes to an instance).
    if (o.$modelKey === true && Object.keys(o).length === 1) return currentModelKey(this.db, this.kek, instanceId);
    if (typeof o.$credential === "string" && Object.keys(o).length === 1) {
      const [cred] = await this.db
        .select()
        .from(credentials)
        .where(and(eq(credentials.ownerId, ownerId), eq(credentials.name, o.$credential)))
        .limit(1);
      if (!cred) throw new Error(`credential ${o.$credential} is not stored`);
      return open(this.kek, cred);
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = await this.resolveSecrets(ownerId, instanceId, x);
    return out;
  }

  private async onAckFrame(c: Conn, f: { id: string; ok: boolean; result?: unknown; error?: string }) {
    const w = c.waiting.get(f.id);
    if (w) {
      // A live request's answer goes to its caller only: no instance_commands row, nothing stored.
      c.waiting.delete(f.id);
      w.resolve({ ok: f.ok, result: f.result, error: f.error });
      return;
    }
    // A plain "done" (no result, the common case: a policy, a config) is recorded with others in one statement.
    if (f.ok === true && (f.result === undefined || f.result === null) && typeof f.id === "string" && UUID.test(f.id))
      return this.finishBatched(c, f.id);
    await this.finish(c, f.id, f.ok, f.result, f.error);
  }

  private acks: { c: Conn; id: string; done: () => void }[] = [];
  private ackFlush: Promise<void> | null = null;

  /** Acks of many agents completed together at the next turn (one UPDATE per 1,000), then their effects one by one. */
  private finishBatched(c: Conn, id: string): Promise<void> {
    return new Promise<void>((done) => {
      this.acks.push({ c, id, done });
      this.ackFlush ??= new Promise<void>((r) => setImmediate(r)).then(async () => {
        const batch = this.acks;
        this.acks = [];
        this.ackFlush = null;
        try {
          for (let i = 0; i < batch.length; i += 1000) await this.finishMany(batch.slice(i, i + 1000));
        } catch (err) {
          this.log.warn({ err }, "recording acknowledgements failed");
        } finally {
          for (const b of batch) b.done();
        }
      });
    });
  }

  private async finishMany(batch: { c: Conn; id: string }[]) {
    // Each id completes only for the instance whose connection acked it (as in finish). The ids are
    // checked uuids, passed as one array parameter each.
    const byId = new Map(batch.map((b) => [b.id, b.c]));
    const r = await this.db.execute<{
      id: string;
      kind: string;
      agent_id: string | null;
      on_done: string | null;
      payload: Record<string, unknown>;
    }>(sql`
      UPDATE instance_commands c SET state = 'done', result = NULL, error = NULL, done_at = now()
      FROM unnest(${`{${batch.map((b) => b.id).join(",")}}`}::uuid[], ${`{${batch.map((b) => b.c.instanceId).join(",")}}`}::uuid[]) AS a(id, inst)
      WHERE c.id = a.id AND c.instance_id = a.inst AND c.state IN ('pending', 'sent')
      RETURNING c.id, c.kind, c.agent_id, c.on_done, c.payload`);
    for (const row of r.rows) {
      const c = byId.get(row.id)!;
      await this.afterFinish(c, row.id, { kind: row.kind, agentId: row.agent_id, onDone: row.on_done, payload: row.payload }, true, undefined);
    }
  }

  /**
   * Asks the connected agent one thing now and waits for its answer (a live reading such as the gate's
   * audit log): a command frame with a fresh id, resolved by its ack, rejected after `timeoutMs` or
   * when the connection closes. Nothing is queued or stored; an offline instance is refused at once.
   * The agent runs commands one at a time, so a request waits behind a command it is running.
   */
  async request(instanceId: string, kind: CommandKind, payload: Record<string, unknown>, timeoutMs = 15_000) {
    if (!this.connected(instanceId) && this.cluster) {
      // Held by another node: asked there (cluster/link.ts).
      const h = await this.cluster.holder(instanceId);
      if (h && !h.self) {
        try {
          return await remoteRequest(h, this.cluster.authHeader(), instanceId, { kind, payload, timeoutMs });
        } catch (err) {
          const code = (err as RemoteAgentError).code;
          throw new AgentUnavailableError((err as Error).message, code === "timeout" || code === "not_connected" ? code : "disconnected");
        }
      }
    }
    return this.requestHere(instanceId, kind, payload, timeoutMs);
  }

  /** `request` on an agent connected to this node only (the internal link's entry point). */
  requestHere(instanceId: string, kind: CommandKind, payload: Record<string, unknown>, timeoutMs = 15_000) {
    const c = this.conns.get(instanceId);
    if (!c || c.ws.readyState !== WebSocket.OPEN)
      return Promise.reject(new AgentUnavailableError("the instance's agent is not connected", "not_connected"));
    const id = crypto.randomUUID();
    return new Promise<{ ok: boolean; result?: unknown; error?: string }>((resolve, reject) => {
      const timer = setTimeout(() => {
        c.waiting.delete(id);
        reject(new AgentUnavailableError(`the instance did not answer within ${Math.round(timeoutMs / 1000)} s`, "timeout"));
      }, timeoutMs);
      c.waiting.set(id, {
        resolve: (a) => {
          clearTimeout(timer);
          resolve(a);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      const frame: CommandFrame = { type: "command", id, kind, payload };
      c.ws.send(JSON.stringify(frame));
    });
  }

  private async finish(c: Conn, id: string, ok: boolean, result: unknown, error: string | undefined) {
    const [cmd] = await this.db
      .select()
      .from(instanceCommands)
      .where(and(eq(instanceCommands.id, id), eq(instanceCommands.instanceId, c.instanceId)))
      .limit(1);
    if (!cmd) return;
    // A token read back is checked, never stored: only whether it matches what we hold.
    let stored = result;
    if (cmd.kind === "read_gateway_token" && result && typeof result === "object") {
      const t = String((result as { token?: unknown }).token ?? "");
      stored = { tokenSha256: sha256Hex(t).slice(0, 16), length: t.length };
    }
    const updated = await this.db
      .update(instanceCommands)
      .set({ state: ok ? "done" : "failed", result: stored ?? null, error: error?.slice(0, 2000) ?? null, doneAt: new Date() })
      .where(and(eq(instanceCommands.id, id), inArray(instanceCommands.state, ["pending", "sent"])))
      .returning({ id: instanceCommands.id });
    if (!updated.length) return; // already completed (a repeated ack)
    await this.afterFinish(c, id, cmd, ok, error);
  }

  /** What a completed command stands for (an agent ready or failed, a skill installed), and onAck. */
  private async afterFinish(
    c: Conn,
    id: string,
    cmd: { kind: string; agentId: string | null; onDone: string | null; payload: unknown },
    ok: boolean,
    error: string | undefined,
  ) {
    const now = new Date();
    if (!ok && cmd.kind === "write_workspace" && cmd.agentId) {
      // The deploy's first half failed: the agent is not ready, whatever its registration says.
      await this.db
        .update(agents)
        .set({ state: "failed", stateReason: error ?? "the instance refused", updatedAt: now })
        .where(and(eq(agents.id, cmd.agentId), eq(agents.state, "provisioning")));
    } else if (cmd.onDone === "agent_ready" && cmd.agentId) {
      await this.db
        .update(agents)
        .set(
          ok
            ? { state: "ready", stateReason: null, updatedAt: now }
            : { state: "failed", stateReason: error ?? "the instance refused", updatedAt: now },
        )
        .where(and(eq(agents.id, cmd.agentId), eq(agents.state, "provisioning")));
      if (ok) this.onAgentReady(c.instanceId);
    } else if (cmd.onDone === "skill_installed") {
      const slug = String((cmd.payload as { slug?: string }).slug);
      await this.db
        .update(skillInstalls)
        .set({ state: ok ? "installed" : "failed", updatedAt: now })
        .where(and(eq(skillInstalls.instanceId, c.instanceId), eq(skillInstalls.skillSlug, slug)));
    }
    // The gate's switch applied (gate-switch.ts): the instance is re-audited, as after a deploy.
    if (ok && cmd.kind === "set_gate_config" && (cmd.payload as { gateSwitch?: unknown })?.gateSwitch === true) this.onAgentReady(c.instanceId);
    if (!ok) this.log.warn({ instanceId: c.instanceId, command: cmd.kind, commandId: id, error }, "instance command failed");
    this.onAck(c.instanceId, id, ok);
  }

  /**
   * "Ready" is what the gateway says it runs (its agents.list, reported by the agent), not what we
   * wrote: a ready agent the gateway does not run turns failed with the gateway's words, and a failed
   * one it does run (it loaded once the gateway came up) turns ready. Agents still being deployed
   * (provisioning) are left to their command's answer.
   */
  private async syncLoadedAgents(instanceId: string, loaded: string[], issues: string[]) {
    const rows = await this.db
      .select({ id: agents.id, slug: agents.slug, state: agents.state })
      .from(agents)
      .where(and(eq(agents.instanceId, instanceId), inArray(agents.state, ["ready", "failed"])));
    await this.applyLoadedAgents(rows, loaded, issues);
  }

  /** Ready/failed agents of one instance against what its gateway runs (changes are rare: one UPDATE each). */
  private async applyLoadedAgents(rows: { id: string; slug: string; state: string }[], loaded: string[], issues: string[]) {
    const now = new Date();
    for (const a of rows) {
      const runs = loaded.includes(a.slug);
      if (a.state === "ready" && !runs) {
        const why = issues.length ? `the gateway refuses its configuration: ${issues.join("; ")}` : "the gateway does not run this agent";
        await this.db
          .update(agents)
          .set({ state: "failed", stateReason: why.slice(0, 2000), updatedAt: now })
          .where(and(eq(agents.id, a.id), eq(agents.state, "ready")));
      } else if (a.state === "failed" && runs) {
        await this.db
          .update(agents)
          .set({ state: "ready", stateReason: null, updatedAt: now })
          .where(and(eq(agents.id, a.id), eq(agents.state, "failed")));
      }
    }
  }

  /**
   * An incident the agent reported (the gate's config changed by something other than Tropic, and
   * restored) becomes an audit event the user sees, once: the same incident is in every later report.
   */
  private async recordIncident(c: Conn, i: { at?: unknown; what?: unknown }) {
    const key = `${String(i.at)}|${String(i.what)}`.slice(0, 600);
    if (c.incidents.has(key)) return;
    c.incidents.add(key);
    const [seen] = await this.db
      .select({ id: auditEvents.id })
      .from(auditEvents)
      .where(and(eq(auditEvents.ownerId, c.ownerId), eq(auditEvents.action, "gate.incident"), sql`${auditEvents.details}->>'key' = ${key}`))
      .limit(1);
    if (seen) return;
    await recordEvent(this.db, {
      ownerId: c.ownerId,
      action: "gate.incident",
      objectType: "instance",
      objectId: c.instanceId,
      details: { key, at: String(i.at).slice(0, 40), what: String(i.what).slice(0, 500) },
    });
  }

  /** Draining (goAway): connections closing now leave their claims to one statement (ClusterNode.releaseAll). */
  private goingAway = false;

  /**
   * This node is going away (a drain): every agent is told to reconnect at once, elsewhere (the close
   * code AGENT_GOING_AWAY: the agent skips its back-off and the load balancer picks another node).
   */
  async goAway(waitMs = 2000) {
    this.goingAway = true;
    for (const c of this.conns.values()) c.ws.close(AGENT_GOING_AWAY, "this control-plane node is going away: reconnect");
    // the close frames out before anything terminates the sockets (an agent that never saw the code backs off)
    const deadline = Date.now() + waitMs;
    while (this.conns.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }

  /**
   * Agents' handshakes (the token's lookup, the hello's writes and the first delivery) run at most
   * HANDSHAKE_SLOTS at once: when a node dies its thousands of agents arrive here together, and the API's
   * requests must still find free connections in the pool (20).
   */
  private handshakes = new Slots(HANDSHAKE_SLOTS);

  /** status reports waiting to be written, the newest per instance */
  private statuses = new Map<string, { c: Conn; status: AgentStatus | undefined; at: Date }>();
  private statusTimer: NodeJS.Timeout | null = null;

  /**
   * A status report, written with the others that arrive within STATUS_FLUSH_MS: 10,000 agents report
   * every 15 s, ~670 a second, which as one UPDATE each kept PostgreSQL busy at rest (docs/scaling.md).
   * Then, as for a hello, what its gateway runs is compared with the agents' rows, and the reconciler is
   * told whether the gateway is ready (after the write: it reads the metrics).
   */
  private queueStatus(c: Conn, status: AgentStatus | undefined) {
    this.statuses.set(c.instanceId, { c, status, at: new Date() });
    this.statusTimer ??= setTimeout(() => void this.flushStatuses(), STATUS_FLUSH_MS);
  }

  private async flushStatuses() {
    const batch = [...this.statuses.values()];
    this.statuses.clear();
    this.statusTimer = null;
    for (let i = 0; i < batch.length; i += 1000) {
      const chunk = batch.slice(i, i + 1000);
      try {
        const rows = JSON.stringify(chunk.map((b) => ({ id: b.c.instanceId, m: { ...b.status, at: b.at.toISOString() }, at: b.at.toISOString() })));
        await this.db.execute(sql`
          UPDATE instances i SET metrics = s.m, agent_seen_at = s.at
          FROM jsonb_to_recordset(${rows}::jsonb) AS s(id uuid, m jsonb, at timestamptz)
          WHERE i.id = s.id`);
        const reporting = chunk.filter((b) => Array.isArray(b.status?.gatewayAgents));
        const agentRows = reporting.length
          ? await this.db
              .select({ id: agents.id, slug: agents.slug, state: agents.state, instanceId: agents.instanceId })
              .from(agents)
              .where(
                and(
                  inArray(
                    agents.instanceId,
                    reporting.map((b) => b.c.instanceId),
                  ),
                  inArray(agents.state, ["ready", "failed"]),
                ),
              )
          : [];
        for (const b of reporting)
          await this.applyLoadedAgents(
            agentRows.filter((a) => a.instanceId === b.c.instanceId),
            b.status!.gatewayAgents!,
            b.status!.gatewayConfigIssues ?? [],
          );
      } catch (err) {
        this.log.warn({ err }, "recording agents' status reports failed");
      }
      for (const b of chunk) {
        if (b.status?.gatewayReady) this.onGatewayReady(b.c.instanceId);
        else this.onGatewayTrouble(b.c.instanceId);
      }
    }
  }

  /** Drops an instance's connection (it was stopped or deleted). */
  disconnect(instanceId: string) {
    this.conns.get(instanceId)?.ws.close(4001, "instance stopped");
  }

  async close() {
    clearInterval(this.ping);
    if (this.statusTimer) clearTimeout(this.statusTimer);
    for (const c of this.conns.values()) c.ws.terminate();
    this.conns.clear();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }
}
