// Drizzle view of migrations/*.sql. The SQL files are the source of truth; test/schema.test.ts
// checks that every table and column here exists in the migrated database.
import { bigint, bigserial, boolean, customType, date, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";

const bytea = customType<{ data: Buffer }>({ dataType: () => "bytea" });
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const users = pgTable("users", {
  id: uuid("id").primaryKey(),
  email: text("email").notNull(),
  passwordHash: text("password_hash"),
  oidcIssuer: text("oidc_issuer"),
  oidcSubject: text("oidc_subject"),
  isAdmin: boolean("is_admin").notNull().default(false),
  createdAt: ts("created_at").notNull().defaultNow(),
});

export const sessions = pgTable("sessions", {
  id: uuid("id").primaryKey(),
  ownerId: uuid("owner_id").notNull(),
  tokenHash: text("token_hash").notNull(),
  createdAt: ts("created_at").notNull().defaultNow(),
  expiresAt: ts("expires_at").notNull(),
  lastSeenAt: ts("last_seen_at").notNull().defaultNow(),
  userAgent: text("user_agent"),
  ip: text("ip"),
});

export const apiTokens = pgTable("api_tokens", {
  id: uuid("id").primaryKey(),
  ownerId: uuid("owner_id").notNull(),
  name: text("name").notNull(),
  tokenHash: text("token_hash").notNull(),
  prefix: text("prefix").notNull(),
  createdAt: ts("created_at").notNull().defaultNow(),
  lastUsedAt: ts("last_used_at"),
  revokedAt: ts("revoked_at"),
});

export const instances = pgTable("instances", {
  id: uuid("id").primaryKey(),
  ownerId: uuid("owner_id").notNull(),
  name: text("name").notNull(),
  provider: text("provider").$type<"local" | "aws" | "byo">().notNull(),
  region: text("region").notNull(),
  instanceType: text("instance_type").notNull(),
  desiredState: text("desired_state").$type<"running" | "stopped" | "deleted">().notNull(),
  state: text("state").$type<InstanceState>().notNull(),
  stateReason: text("state_reason"),
  providerRef: text("provider_ref"),
  addresses: jsonb("addresses").$type<Record<string, unknown>>().notNull().default({}),
  usesPlatformKey: boolean("uses_platform_key").notNull().default(false),
  createdAt: ts("created_at").notNull().defaultNow(),
  updatedAt: ts("updated_at").notNull().defaultNow(),
  startedAt: ts("started_at"),
  stoppedAt: ts("stopped_at"),
  lastHealthAt: ts("last_health_at"),
  deletedAt: ts("deleted_at"),
  gatewayTokenEnc: jsonb("gateway_token_enc").$type<SealedJson>(),
  agentTokenEnc: jsonb("agent_token_enc").$type<SealedJson>(),
  agentTokenHash: text("agent_token_hash"),
  agentSeenAt: ts("agent_seen_at"),
  metrics: jsonb("metrics").$type<Record<string, unknown>>().notNull().default({}),
  // Metering and spending limits (migration 0004, credits/meter.ts).
  meteredUntil: ts("metered_until"),
  pauseReason: text("pause_reason").$type<PauseReason>(),
  pausedAt: ts("paused_at"),
  pausedUntil: ts("paused_until"),
  /** sha256 of the instance's model-proxy credential (migration 0007, models/keys.ts); null: none issued or revoked */
  modelKeyHash: text("model_key_hash"),
  /** the same credential, sealed, for the agent's .env (0008); NULL with the hash when revoked */
  modelKeyEnc: jsonb("model_key_enc").$type<SealedJson>(),
  /** what an enrolled `byo` host said about itself (migration 0010, hosts/); null until it enrolled */
  host: jsonb("host").$type<HostInfo>(),
  /** the control-plane node that holds this instance's agent connection now (migration 0012, cluster/) */
  agentNodeId: uuid("agent_node_id"),
  /** the gate's switch (migration 0013, instances/gate-switch.ts): desired, enforced by the instance's agent */
  gateEnabled: boolean("gate_enabled").notNull().default(true),
  gatePacks: jsonb("gate_packs").$type<GatePacks>().notNull().default({ base: true, system: false, owasp: false }),
});
export type GatePacks = { base: boolean; system: boolean; owasp: boolean };
export type PauseReason = "daily_cap" | "session_limit" | "no_credits" | "no_rate";
/** An envelope-encrypted secret as jsonb: base64 fields of secrets/envelope.ts's Sealed. */
export type SealedJson = { ciphertext: string; iv: string; authTag: string; wrappedKey: string; kekId: string };
export type InstanceState = "provisioning" | "initializing" | "restarting" | "running" | "stopping" | "stopped" | "failed" | "deleting" | "deleted";

export const instanceCommands = pgTable("instance_commands", {
  id: uuid("id").primaryKey(),
  seq: bigserial("seq", { mode: "number" }).notNull(),
  ownerId: uuid("owner_id").notNull(),
  instanceId: uuid("instance_id").notNull(),
  agentId: uuid("agent_id"),
  kind: text("kind").notNull(),
  payload: jsonb("payload").$type<Record<string, unknown>>().notNull().default({}),
  onDone: text("on_done").$type<"agent_ready" | "agent_stopped" | "skill_installed" | "skill_removed">(),
  state: text("state").$type<"pending" | "sent" | "done" | "failed" | "cancelled">().notNull().default("pending"),
  result: jsonb("result").$type<unknown>(),
  error: text("error"),
  attempts: integer("attempts").notNull().default(0),
  createdAt: ts("created_at").notNull().defaultNow(),
  sentAt: ts("sent_at"),
  doneAt: ts("done_at"),
});

export const policies = pgTable("policies", {
  id: uuid("id").primaryKey(),
  ownerId: uuid("owner_id").notNull(),
  name: text("name").notNull(),
  text: text("text").notNull(),
  compiled: jsonb("compiled").$type<Record<string, unknown>>().notNull(),
  version: integer("version").notNull().default(1),
  createdAt: ts("created_at").notNull().defaultNow(),
  updatedAt: ts("updated_at").notNull().defaultNow(),
});

export const agents = pgTable("agents", {
  id: uuid("id").primaryKey(),
  ownerId: uuid("owner_id").notNull(),
  instanceId: uuid("instance_id").notNull(),
  slug: text("slug").notNull(),
  name: text("name").notNull(),
  templateId: text("template_id").notNull(),
  model: text("model").notNull(),
  policyId: uuid("policy_id"),
  state: text("state").$type<"provisioning" | "ready" | "stopped" | "failed">().notNull(),
  stateReason: text("state_reason"),
  createdAt: ts("created_at").notNull().defaultNow(),
  updatedAt: ts("updated_at").notNull().defaultNow(),
});

export const skills = pgTable("skills", {
  slug: text("slug").primaryKey(),
  name: text("name").notNull(),
  description: text("description").notNull(),
  auth: text("auth").notNull(),
  manifest: jsonb("manifest").$type<Record<string, unknown>>().notNull(),
  updatedAt: ts("updated_at").notNull().defaultNow(),
});

export const skillInstalls = pgTable("skill_installs", {
  id: uuid("id").primaryKey(),
  ownerId: uuid("owner_id").notNull(),
  instanceId: uuid("instance_id").notNull(),
  skillSlug: text("skill_slug").notNull(),
  enabled: boolean("enabled").notNull().default(true),
  state: text("state").$type<"pending" | "installed" | "failed" | "removing">().notNull().default("pending"),
  createdAt: ts("created_at").notNull().defaultNow(),
  updatedAt: ts("updated_at").notNull().defaultNow(),
});

export const credentials = pgTable("credentials", {
  id: uuid("id").primaryKey(),
  ownerId: uuid("owner_id").notNull(),
  name: text("name").notNull(),
  ciphertext: bytea("ciphertext").notNull(),
  iv: bytea("iv").notNull(),
  authTag: bytea("auth_tag").notNull(),
  wrappedKey: bytea("wrapped_key").notNull(),
  kekId: text("kek_id").notNull(),
  last4: text("last4").notNull(),
  fingerprint: text("fingerprint").notNull(),
  createdAt: ts("created_at").notNull().defaultNow(),
  updatedAt: ts("updated_at").notNull().defaultNow(),
});

export const sshKeys = pgTable("ssh_keys", {
  id: uuid("id").primaryKey(),
  ownerId: uuid("owner_id").notNull(),
  publicKey: text("public_key").notNull(),
  fingerprint: text("fingerprint").notNull(),
  /** the OpenSSH private key, sealed; erased (null) once the key is retired (migration 0003) */
  privateKeyEnc: jsonb("private_key_enc").$type<SealedJson>(),
  createdAt: ts("created_at").notNull().defaultNow(),
  retiredAt: ts("retired_at"),
});

export const creditLedger = pgTable("credit_ledger", {
  id: bigserial("id", { mode: "number" }).primaryKey(),
  ownerId: uuid("owner_id").notNull(),
  kind: text("kind").$type<"purchase" | "grant" | "compute" | "model" | "refund" | "adjustment">().notNull(),
  amountMilli: bigint("amount_milli", { mode: "number" }).notNull(),
  instanceId: uuid("instance_id"),
  agentId: uuid("agent_id"),
  windowStart: ts("window_start"),
  idempotencyKey: text("idempotency_key").notNull(),
  note: text("note"),
  createdAt: ts("created_at").notNull().defaultNow(),
});

/** Kept by a trigger on credit_ledger inserts (migration 0004); the ledger stays the source of truth. */
export const creditBalances = pgTable("credit_balances", {
  ownerId: uuid("owner_id").primaryKey(),
  balanceMilli: bigint("balance_milli", { mode: "number" }).notNull().default(0),
});

export const creditDailySpend = pgTable(
  "credit_daily_spend",
  {
    ownerId: uuid("owner_id").notNull(),
    day: date("day", { mode: "string" }).notNull(),
    spentMilli: bigint("spent_milli", { mode: "number" }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.ownerId, t.day] })],
);

export const userSettings = pgTable("user_settings", {
  ownerId: uuid("owner_id").primaryKey(),
  blockBrowser: boolean("block_browser").notNull().default(false),
  blockCodeExecution: boolean("block_code_execution").notNull().default(false),
  blockOsCommands: boolean("block_os_commands").notNull().default(false),
  dailyCreditCap: integer("daily_credit_cap"),
  maxSessionMinutes: integer("max_session_minutes"),
  model: text("model").notNull().default("anthropic/claude-sonnet-4-6"),
  customModel: jsonb("custom_model").$type<{ provider: string; modelId: string; baseUrl?: string } | null>(),
  defaultInstanceType: text("default_instance_type").notNull().default("t3.micro"),
  sshAllowlist: jsonb("ssh_allowlist").$type<string[]>().notNull().default([]),
  sshRotationDays: integer("ssh_rotation_days").notNull().default(90),
  phoneMode: text("phone_mode").$type<"unrestricted" | "allowlist" | "blocklist">().notNull().default("unrestricted"),
  phonePatterns: jsonb("phone_patterns").$type<string[]>().notNull().default([]),
  updatedAt: ts("updated_at").notNull().defaultNow(),
});

export const auditEvents = pgTable("audit_events", {
  id: bigserial("id", { mode: "number" }).primaryKey(),
  ownerId: uuid("owner_id").notNull(),
  actorId: uuid("actor_id"),
  action: text("action").notNull(),
  objectType: text("object_type"),
  objectId: text("object_id"),
  details: jsonb("details").$type<Record<string, unknown>>().notNull().default({}),
  createdAt: ts("created_at").notNull().defaultNow(),
});

export const kekSeeds = pgTable("kek_seeds", {
  kekId: text("kek_id").primaryKey(),
  wrappedSeed: bytea("wrapped_seed").notNull(),
  createdAt: ts("created_at").notNull().defaultNow(),
});

export const purchases = pgTable("purchases", {
  id: uuid("id").primaryKey(),
  ownerId: uuid("owner_id").notNull(),
  packageId: text("package_id").notNull(),
  credits: integer("credits").notNull(),
  priceCents: integer("price_cents").notNull(),
  stripeSessionId: text("stripe_session_id"),
  state: text("state").$type<"pending" | "paid" | "expired">().notNull().default("pending"),
  stripeEventId: text("stripe_event_id"),
  createdAt: ts("created_at").notNull().defaultNow(),
  paidAt: ts("paid_at"),
});

/** Tokens per request through the model proxy (migration 0007, models/proxy.ts); shown, not charged. */
export const modelUsage = pgTable("model_usage", {
  id: uuid("id").primaryKey(),
  ownerId: uuid("owner_id").notNull(),
  instanceId: uuid("instance_id").notNull(),
  agent: text("agent"),
  model: text("model").notNull(),
  inputTokens: integer("input_tokens").notNull().default(0),
  outputTokens: integer("output_tokens").notNull().default(0),
  createdAt: ts("created_at").notNull().defaultNow(),
});

/** One-time hand-offs of a dashboard session to an instance's own origin (proxy/tickets.ts). */
export const proxyTickets = pgTable("proxy_tickets", {
  tokenHash: text("token_hash").primaryKey(),
  ownerId: uuid("owner_id").notNull(),
  instanceId: uuid("instance_id").notNull(),
  sessionId: uuid("session_id").notNull(),
  expiresAt: ts("expires_at").notNull(),
});

/** What a `byo` host reports when it enrols (instances.host, migration 0010). */
export type HostInfo = {
  os: string;
  arch: string;
  hostname: string;
  agentVersion: string;
  openclawVersion: string;
  /** the host runs on Agent37 (OPENCLAW_STARTER_PROXY_URL or AGENT37_LLM_PROXY_URL): its models and keys are Agent37's */
  agent37: boolean;
  enrolledAt: string;
};

/** One-time enrolment tokens of `byo` hosts (migration 0010, hosts/enrolment.ts): hashed, 15 minutes, one use. */
export const enrolmentTokens = pgTable("enrolment_tokens", {
  tokenHash: text("token_hash").primaryKey(),
  ownerId: uuid("owner_id").notNull(),
  instanceId: uuid("instance_id").notNull(),
  createdAt: ts("created_at").notNull().defaultNow(),
  expiresAt: ts("expires_at").notNull(),
});

/** Host audits (migration 0011, posture/): score, counts and the full report of each run. */
export const instanceAudits = pgTable("instance_audits", {
  id: uuid("id").primaryKey(),
  ownerId: uuid("owner_id").notNull(),
  instanceId: uuid("instance_id").notNull(),
  kind: text("kind").$type<AuditKind>().notNull(),
  score: integer("score").notNull(),
  counts: jsonb("counts").$type<SeverityCounts>().notNull(),
  /** hardening/src/types.ts Report */
  report: jsonb("report").$type<Record<string, unknown>>().notNull(),
  /** harden.ts Change[] when the audit hardened the host first (provision) */
  hardened: jsonb("hardened").$type<Record<string, unknown>[] | null>(),
  createdAt: ts("created_at").notNull().defaultNow(),
});
export type AuditKind = "provision" | "deploy" | "daily" | "manual";
export type SeverityCounts = { CRIT: number; HIGH: number; MED: number; LOW: number };

/** Integrity incidents reported by the agent (migration 0011): one open row per (instance, name, actual). */
export const integrityIncidents = pgTable("integrity_incidents", {
  id: uuid("id").primaryKey(),
  ownerId: uuid("owner_id").notNull(),
  instanceId: uuid("instance_id").notNull(),
  name: text("name").notNull(),
  path: text("path").notNull(),
  change: text("change").$type<"changed" | "deleted" | "added">().notNull(),
  expected: text("expected"),
  actual: text("actual"),
  detectedAt: ts("detected_at").notNull().defaultNow(),
  acceptedAt: ts("accepted_at"),
  acceptedReason: text("accepted_reason"),
});

/** Claims of scheduled posture jobs per instance and period (migration 0011): each runs once per period. */
export const postureRuns = pgTable(
  "posture_runs",
  {
    instanceId: uuid("instance_id").notNull(),
    job: text("job").$type<"provision" | "daily" | "integrity">().notNull(),
    periodStart: ts("period_start").notNull(),
    claimedAt: ts("claimed_at").notNull().defaultNow(),
    doneAt: ts("done_at"),
  },
  (t) => [primaryKey({ columns: [t.instanceId, t.job, t.periodStart] })],
);

/** The control-plane nodes sharing this database (migration 0012, cluster/node.ts). */
export const clusterNodes = pgTable("cluster_nodes", {
  id: uuid("id").primaryKey(),
  internalUrl: text("internal_url").notNull(),
  tokenHash: text("token_hash").notNull(),
  startedAt: ts("started_at").notNull().defaultNow(),
  heartbeatAt: ts("heartbeat_at").notNull().defaultNow(),
  draining: boolean("draining").notNull().default(false),
});

/** Settings → Connections → Google (migration 0014, connections/google.ts): the refresh token sealed, never returned. */
export const googleConnections = pgTable("google_connections", {
  ownerId: uuid("owner_id").primaryKey(),
  refreshTokenEnc: jsonb("refresh_token_enc").$type<SealedJson>().notNull(),
  scope: text("scope").notNull(),
  connectedAt: ts("connected_at").notNull().defaultNow(),
  updatedAt: ts("updated_at").notNull().defaultNow(),
});

/** OAuth authorizations in progress (migration 0014): the state's sha256, its session, the sealed PKCE verifier. */
export const oauthStates = pgTable("oauth_states", {
  stateHash: text("state_hash").primaryKey(),
  ownerId: uuid("owner_id").notNull(),
  sessionId: uuid("session_id"),
  provider: text("provider").notNull(),
  verifierEnc: jsonb("verifier_enc").$type<SealedJson>().notNull(),
  createdAt: ts("created_at").notNull().defaultNow(),
  expiresAt: ts("expires_at").notNull(),
});
