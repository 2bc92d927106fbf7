// Everything that makes instances real, in one object the server starts after it listens: the
// management channel (AgentHub), the reconciler (pg-boss) and the providers that run here.
import type { Server } from "node:http";
import type { FastifyBaseLogger } from "fastify";
import type { InstanceProvider } from "@tropic/providers";
import type { Database } from "../db/connect.ts";
import type { KeyEncryptionKey } from "../secrets/envelope.ts";
import { AgentHub } from "./hub.ts";
import { Reconciler } from "./reconciler.ts";

export interface InstanceManagerOptions {
  database: Database;
  kek: KeyEncryptionKey;
  providers: Partial<Record<"local" | "aws" | "byo", InstanceProvider>>;
  /** ws(s)://… the agents dial; may be decided after listen() */
  agentUrl: () => string;
  log: FastifyBaseLogger;
  healthIntervalMs?: number;
}

export class InstanceManager {
  readonly hub: AgentHub;
  readonly reconciler: Reconciler;
  private started = false;

  constructor(readonly o: InstanceManagerOptions) {
    this.hub = new AgentHub({ db: o.database.db, kek: o.kek, log: o.log });
    this.reconciler = new Reconciler({
      database: o.database,
      kek: o.kek,
      hub: this.hub,
      providers: o.providers,
      agentUrl: o.agentUrl,
      log: o.log,
      healthIntervalMs: o.healthIntervalMs,
    });
    this.hub.onGatewayReady = (id) => void this.reconciler.healthNow(id).catch(() => {});
  }

  attach(server: Server) {
    this.hub.attach(server);
  }

  async start() {
    if (this.started) return;
    this.started = true;
    await this.reconciler.start();
  }

  /** Desired state or the command queue of an instance changed: reconcile it and deliver what is open. */
  async changed(instanceId: string) {
    await this.reconciler.kick(instanceId);
    await this.hub.pump(instanceId);
  }

  async stop() {
    await this.reconciler.stop();
    await this.hub.close();
  }
}
