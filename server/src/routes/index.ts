import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { type Identity, requireCaller } from "../auth/identity.ts";
import type { OidcClient } from "../auth/oidc.ts";
import type { Config } from "../config.ts";
import type { Database } from "../db/connect.ts";
import type { GatewayTunnels } from "../proxy/upstream.ts";
import type { InstanceManager } from "../instances/manager.ts";
import type { Metrics } from "../lib/metrics.ts";
import type { KeyEncryptionKey } from "../secrets/envelope.ts";
import { agentRoutes } from "./agents.ts";
import { auditRoutes } from "./audit.ts";
import { authRoutes } from "./auth.ts";
import { credentialRoutes } from "./credentials.ts";
import { creditRoutes } from "./credits.ts";
import { billingRoutes } from "./billing.ts";
import { gateAuditRoutes } from "./gate-audit.ts";
import { postureRoutes } from "./posture.ts";
import { healthRoutes } from "./health.ts";
import { instanceRoutes } from "./instances.ts";
import { marketplaceRoutes } from "./marketplace.ts";
import { policyRoutes } from "./policies.ts";
import { settingsRoutes } from "./settings.ts";
import { skillRoutes } from "./skills.ts";
import { sshKeyRoutes } from "./ssh-keys.ts";
import { webRoutes } from "./web.ts";
import { proxyRoutes } from "../proxy/index.ts";
import { modelProxyRoutes } from "./model-proxy.ts";
import { modelUsageRoutes } from "./model-usage.ts";
import { hostRoutes } from "./hosts.ts";
import { installRoutes } from "./install.ts";
import { internalRoutes } from "./internal.ts";
import { whatsappRoutes } from "./whatsapp.ts";
import { connectionRoutes } from "./connections.ts";
import type { GoogleConnections } from "../connections/google.ts";

export interface RouteDeps {
  config: Config;
  database: Database;
  kek: KeyEncryptionKey;
  identity: Identity;
  oidc?: OidcClient;
  metrics: Metrics;
  /** the instance manager when instances run here; routes tell it what changed */
  instances?: InstanceManager;
  /** the proxy's way to instances' gateways (the agents' tunnels: the instance manager's hub) */
  tunnels?: GatewayTunnels;
  /** Settings → Connections → Google (connections/google.ts) */
  google?: GoogleConnections;
  requireCaller: (req: FastifyRequest) => Promise<void>;
}

export const routes: FastifyPluginAsync<Omit<RouteDeps, "requireCaller">> = async (app, deps) => {
  const publicOrigin = deps.config.publicUrl ? new URL(deps.config.publicUrl).origin : undefined;
  const all: RouteDeps = { ...deps, requireCaller: requireCaller(deps.identity, publicOrigin) };
  for (const r of [
    healthRoutes,
    webRoutes,
    authRoutes,
    marketplaceRoutes,
    instanceRoutes,
    agentRoutes,
    policyRoutes,
    settingsRoutes,
    sshKeyRoutes,
    credentialRoutes,
    creditRoutes,
    billingRoutes,
    skillRoutes,
    auditRoutes,
    gateAuditRoutes,
    postureRoutes,
    proxyRoutes,
    modelProxyRoutes,
    modelUsageRoutes,
    hostRoutes,
    installRoutes,
    internalRoutes,
    whatsappRoutes,
    connectionRoutes,
  ])
    await app.register(r, all);
};
