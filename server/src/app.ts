import cookie from "@fastify/cookie";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyError } from "fastify";
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import { Identity } from "./auth/identity.ts";
import { OidcClient } from "./auth/oidc.ts";
import type { Config } from "./config.ts";
import type { Database } from "./db/connect.ts";
import { ApiError } from "./lib/errors.ts";
import { Metrics } from "./lib/metrics.ts";
import { routes } from "./routes/index.ts";
import { isProxied } from "./proxy/headers.ts";
import { InstanceOrigins, instanceOriginGuard, siteOf } from "./proxy/origin.ts";
import { AgentHub } from "./instances/hub.ts";
import { answerUnclaimedUpgrades } from "./lib/upgrades.ts";
import type { InstanceManager } from "./instances/manager.ts";
import type { GatewayTunnels } from "./proxy/upstream.ts";
import type { KeyEncryptionKey } from "./secrets/envelope.ts";
import { findOrCreateOidcUser } from "./users.ts";
import { loadRates } from "./credits/rates.ts";
import { ModelProxy } from "./models/proxy.ts";
import { answerGoogleAsk, GoogleConnections } from "./connections/google.ts";

export interface AppDeps {
  config: Config;
  database: Database;
  kek: KeyEncryptionKey;
  logger?: FastifyBaseLogger | boolean | object;
  /** makes instances real (reconciler, agent channel); without it the API only records desired state */
  instances?: (log: FastifyBaseLogger) => InstanceManager;
  /** where the proxy opens streams to gateways (default: the instance manager's agent tunnels; tests: a stand-in) */
  tunnels?: GatewayTunnels;
}

/** Paths of request/response data that must never reach a log line. */
export const LOG_REDACT = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-api-key"]',
  'req.headers["stripe-signature"]',
  'res.headers["set-cookie"]',
  "password",
  "token",
  "value",
];

declare module "fastify" {
  interface FastifyInstance {
    instances: InstanceManager | undefined;
  }
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, database, kek } = deps;
  const app = Fastify({
    logger: deps.logger ?? { level: config.logLevel, redact: LOG_REDACT },
    bodyLimit: config.bodyLimit,
    trustProxy: config.publicUrl !== undefined,
    // A shutdown closes every connection, not only idle ones: a client that never finishes its
    // request (or an upgrade) must not keep `tropic serve` from exiting.
    forceCloseConnections: true,
    ajv: undefined,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(new ApiError(404, "not_found", `no route ${req.method} ${req.url.split("?")[0]}`).toJSON());
  });

  await app.register(cookie);
  await app.register(rateLimit, { global: false });
  await app.register(swagger, {
    openapi: {
      info: { title: "Tropic API", version: "1.0.0", description: "Your own managed, isolated, policy-gated OpenClaw instance." },
      components: {
        securitySchemes: {
          session: { type: "apiKey", in: "cookie", name: "tropic_session" },
          bearer: { type: "http", scheme: "bearer", description: "API token (trp_…) or an OIDC JWT" },
        },
      },
      security: [{ session: [] }, { bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });

  // Each instance's Control UI is on an origin of its own (proxy/origin.ts), which serves nothing else.
  const origins = new InstanceOrigins(config.publicUrl, config.instanceDomain);
  app.addHook("onRequest", instanceOriginGuard(origins, config.publicUrl));

  // Default security headers everywhere; only proxied gateway responses (proxy/) go without framing headers.
  app.addHook("onSend", async (req, reply, payload) => {
    reply.header("x-content-type-options", "nosniff");
    if (!reply.hasHeader("referrer-policy")) reply.header("referrer-policy", "no-referrer");
    if (isProxied(reply)) return payload; // the gateway's UI must load inside the dashboard's iframe
    const site = siteOf(config.publicUrl, req.protocol, req.headers.host);
    if (origins.instanceOf(site)) {
      // Tropic's own answers on an instance's origin (401, 404, …) show in the dashboard's frame too.
      if (!reply.hasHeader("content-security-policy"))
        reply.header("content-security-policy", `default-src 'none'; frame-ancestors ${origins.dashboardOrigins(site).join(" ") || "'none'"}`);
      return payload;
    }
    if (!reply.hasHeader("x-frame-options")) reply.header("x-frame-options", "DENY");
    if (!reply.hasHeader("content-security-policy")) {
      // The dashboard frames the instances' origins (the Chat page). Images may also be data: URLs (the
      // WhatsApp pairing QR is the PNG data URL the gateway gives: docs/whatsapp.md); nothing runs from them.
      const frames = origins.frameSource(site);
      reply.header(
        "content-security-policy",
        `default-src 'self'; img-src 'self' data:; frame-src 'self'${frames ? ` ${frames}` : ""}; frame-ancestors 'none'; object-src 'none'`,
      );
    }
    return payload;
  });

  const metrics = new Metrics();
  metrics.instrument(app);

  const oidc = config.oidc
    ? new OidcClient({
        issuer: config.oidc.issuer,
        clientId: config.oidc.clientId,
        clientSecret: config.oidc.clientSecret,
        redirectUri: `${(config.publicUrl ?? `http://${config.host}:${config.port}`).replace(/\/$/, "")}/auth/oidc/callback`,
        stateKey: kek.derive("oidc-state"),
      })
    : undefined;
  const identity = new Identity(
    database.db,
    config.sessionDays,
    oidc
      ? async (jwt) => {
          try {
            const payload = await oidc.verify(jwt);
            const user = await findOrCreateOidcUser(database.db, oidc.identityOf(payload));
            return { id: user.id, email: user.email, isAdmin: user.isAdmin, via: "jwt" };
          } catch {
            return null;
          }
        }
      : undefined,
  );

  const instances = deps.instances?.(app.log);
  if (instances) {
    instances.attach(app.server);
    // preClose: the agents' WebSockets must end before the HTTP server can finish closing.
    app.addHook("preClose", async () => instances.stop());
  }
  app.decorate("instances", instances);
  // The model proxy (docs/models.md): routes/model-proxy.ts serves it publicly; `app.modelProxy.listen()` gives the agents' tunnels an internal listener.
  const modelProxy = new ModelProxy({
    database,
    log: app.log,
    upstream: config.modelUpstream,
    platformKey: config.platformAnthropicKey,
    rates: () => loadRates(config.ratesFile),
    changed: (id) => instances?.changed(id),
  });
  app.decorate("modelProxy", modelProxy);
  app.addHook("onClose", async () => modelProxy.close());
  // Without instances run here, agents may still connect: the proxy reaches their gateways through
  // their tunnels (a node that runs no instances itself).
  let tunnels = deps.tunnels ?? instances?.hub;
  if (!tunnels) {
    const hub = new AgentHub({ db: database.db, kek, log: app.log });
    hub.attach(app.server);
    app.addHook("preClose", async () => hub.close());
    tunnels = hub;
  }
  // Settings → Connections → Google: the refresh token stays here; agents ask for access tokens (hub onAsk).
  const google = new GoogleConnections({
    db: database.db,
    kek,
    config: config.google,
    redirectUri: `${(config.publicUrl ?? `http://${config.host}:${config.port}`).replace(/\/$/, "")}/api/v1/connections/google/callback`,
  });
  if (tunnels instanceof AgentHub) tunnels.onAsk = answerGoogleAsk(google);
  await app.register(routes, { config, database, kek, identity, oidc, metrics, instances, google, ...(tunnels ? { tunnels } : {}) });
  app.get("/api/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  // After every other upgrade listener (the agent channel's, the proxy's): the rest get a 404.
  let upgrades: { closeAll(): void } | null = null;
  const hub = tunnels instanceof AgentHub ? tunnels : null;
  app.addHook("onReady", async () => {
    upgrades = answerUnclaimedUpgrades(app.server);
    // The agents' model streams (their gateways' calls without a key of their own) are joined to the
    // model proxy's internal listener, on this machine's loopback only.
    if (hub) hub.modelProxyPort = (await modelProxy.listen("127.0.0.1", 0)).port;
  });
  app.addHook("preClose", async () => upgrades?.closeAll());
  return app;
}

function errorHandler(err: FastifyError, req: { log: FastifyBaseLogger }, reply: { code(n: number): { send(b: unknown): void } }) {
  if (err instanceof ApiError) return reply.code(err.status).send(err.toJSON());
  if (hasZodFastifySchemaValidationErrors(err)) {
    const first = err.validation[0];
    const where = err.validationContext ?? "body";
    // instancePath is "/phonePatterns/1": the field the client sent, as a dotted path.
    let field = (first?.instancePath ?? "").split("/").filter(Boolean).join(".");
    let message = first?.message ?? "invalid input";
    const keys = (first?.params as { keys?: string[] } | undefined)?.keys;
    if (first?.keyword === "unrecognized_keys" && keys?.length) {
      field = [field, keys[0]].filter(Boolean).join(".");
      message = `unknown field "${keys[0]}"`;
    }
    field ||= where;
    return reply.code(400).send(new ApiError(400, "invalid_input", `${field}: ${message}`, field).toJSON());
  }
  const status = err.statusCode ?? 500;
  if (err.code === "FST_ERR_CTP_INVALID_JSON_BODY" || err.code === "FST_ERR_CTP_EMPTY_JSON_BODY" || err instanceof SyntaxError)
    return reply.code(400).send(new ApiError(400, "invalid_json", "request body is not valid JSON", "body").toJSON());
  if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE")
    return reply.code(413).send(new ApiError(413, "body_too_large", "request body is too large", "body").toJSON());
  if (err.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE")
    return reply.code(415).send(new ApiError(415, "unsupported_media_type", "send the body as application/json", "content-type").toJSON());
  if (status === 429) return reply.code(429).send(new ApiError(429, "rate_limited", "too many attempts; wait a minute and try again").toJSON());
  if (status >= 400 && status < 500) return reply.code(status).send(new ApiError(status, "bad_request", err.message).toJSON());
  req.log.error({ err }, "unhandled error");
  return reply.code(500).send(new ApiError(500, "internal", "internal error; the server log has the details").toJSON());
}
