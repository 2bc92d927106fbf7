// Everything that makes instances real, in one object the server starts after it listens: the
// management channel (AgentHub), the reconciler (pg-boss) and the providers that run here.
import type { Server } from "node:http";
import type { FastifyBaseLogger } from "fastify";
import { ByoProvider, type InstanceProvider } from "@tropic/providers";
import { hostChannel } from "../hosts/channel.ts";
import type { Database } from "../db/connect.ts";
import type { KeyEncryptionKey } from "../secrets/envelope.ts";
import { applyNetworkRulesOf } from "../ssh/network.ts";
import { SshKeyRotation } from "../ssh/rotation.ts";
import { ClusterNode } from "../cluster/node.ts";
import { AgentHub } from "./hub.ts";
import { Reconciler } from "./reconciler.ts";
import type { Rates } from "../credits/rates.ts";
import { MeterService } from "../credits/service.ts";
import { PostureService, type PostureServiceOptions } from "../posture/service.ts";

export interface InstanceManagerOptions {
  database: Database;
  kek: KeyEncryptionKey;
  providers: Partial<Record<"local" | "aws" | "byo", InstanceProvider>>;
  /** ws(s)://… the agents dial; may be decided after listen() */
  agentUrl: () => string;
  log: FastifyBaseLogger;
  healthIntervalMs?: number;
  /** the credit rates (default: credits/rates.ts's table with TROPIC_RATES_FILE) */
  rates?: Rates;
  /** how often due SSH keys are looked for (default hourly) */
  sshRotationCheckMs?: number;
  /** http(s)://host:port where other control-plane nodes reach this one (cluster/; default: derived from agentUrl) */
  internalUrl?: () => string;
  /** posture/: how often the periodic checks are fanned out, and the retry delay of a job (tests shorten them) */
  posture?: Pick<PostureServiceOptions, "tickMs" | "retryDelaySeconds" | "timeoutsMs" | "dailyAfterMs">;
}

export class InstanceManager {
  readonly hub: AgentHub;
  readonly reconciler: Reconciler;
  /** credits every 5 minutes and the spending limits (credits/) */
  readonly meter: MeterService;
  readonly sshRotation: SshKeyRotation;
  /** host audits, integrity checks and their schedules (posture/, issue 18) */
  readonly posture: PostureService;
  private started = false;

  /** this process as a node of the control-plane cluster (cluster/node.ts): where agents are held, the wake-ups */
  readonly cluster: ClusterNode;

  constructor(readonly o: InstanceManagerOptions) {
    this.cluster = new ClusterNode({ database: o.database, log: o.log, internalUrl: o.internalUrl ?? (() => internalUrlOf(o.agentUrl())) });
    this.hub = new AgentHub({ db: o.database.db, kek: o.kek, log: o.log, cluster: this.cluster });
    this.reconciler = new Reconciler({
      database: o.database,
      kek: o.kek,
      hub: this.hub,
      providers: o.providers,
      agentUrl: o.agentUrl,
      log: o.log,
      healthIntervalMs: o.healthIntervalMs,
      nodeId: this.cluster.id,
    });
    this.hub.onGatewayReady = (id) => void this.reconciler.healthNow(id).catch(() => {});
    this.hub.onGatewayTrouble = (id) => void this.reconciler.kick(id);
    this.hub.onConnected = (id) => void this.reconciler.kick(id);
    // A user's own machine is driven through its agent: the byo provider queues its commands here.
    if (o.providers.byo instanceof ByoProvider) o.providers.byo.attach(hostChannel(o.database.db, this.hub));
    this.posture = new PostureService({ database: o.database, hub: this.hub, log: o.log, ...o.posture });
    // The provision audit once an instance first runs (the job skips one already audited); a re-audit after each agent deploy.
    this.reconciler.onRunning = (id) => void this.posture.trigger(id, "provision");
    this.hub.onAgentReady = (id) => void this.posture.trigger(id, "deploy");
    this.meter = new MeterService({ database: o.database, log: o.log, rates: o.rates, changed: (id) => this.reconciler.kick(id) });
    this.sshRotation = new SshKeyRotation({
      db: o.database.db,
      kek: o.kek,
      log: o.log,
      deliver: (id) => this.hub.pump(id),
      intervalMs: o.sshRotationCheckMs,
    });
  }

  attach(server: Server) {
    this.hub.attach(server);
  }

  async start() {
    if (this.started) return;
    this.started = true;
    await this.cluster.start();
    await this.reconciler.start();
    if (this.reconciler.jobs) await this.meter.start(this.reconciler.jobs);
    if (this.reconciler.jobs) await this.posture.start(this.reconciler.jobs);
    this.sshRotation.start();
  }

  /** The owner's Settings → SSH allowlist changed: every instance of theirs that runs here gets the new rules. */
  applyNetworkRules(ownerId: string) {
    return applyNetworkRulesOf(this.o.database.db, this.o.providers, ownerId);
  }

  /** Desired state or the command queue of an instance changed: reconcile it and deliver what is open. */
  async changed(instanceId: string) {
    await this.reconciler.kick(instanceId);
    await this.hub.pump(instanceId);
  }

  /**
   * Commands were queued for these instances (nothing else changed): delivered by this node's agents
   * now, unless PostgreSQL wakes this node too (it LISTENs: cluster/node.ts), in one batch either way.
   */
  async deliver(instanceIds: string[]) {
    if (!this.cluster.listening) await this.hub.wakeMany(instanceIds);
  }

  /** A drain (cluster/drain.ts): this node's agents are told to reconnect elsewhere, and its claims on them cleared. */
  async handOff() {
    await this.hub.goAway();
    await this.cluster.releaseAll();
  }

  async stop() {
    this.meter.stop();
    this.posture.stop();
    await this.sshRotation.stop();
    await this.reconciler.stop();
    await this.hub.close();
    await this.cluster.stop().catch((err) => this.o.log.warn({ err }, "could not leave the cluster cleanly; the registration expires"));
  }
}

/** The agents' ws(s)://host:port/… as the http(s)://host:port other nodes use (the same listener). */
export function internalUrlOf(agentUrl: string): string {
  const u = new URL(agentUrl);
  return `${u.protocol === "wss:" ? "https:" : "http:"}//${u.host}`;
}
