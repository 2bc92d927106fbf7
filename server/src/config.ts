import { resolve } from "node:path";
import { AWS_ENV, type AwsSettings, awsMentioned, loadAwsSettings, missingAwsSettings } from "@tropic/providers";

/** Every environment variable Tropic reads, in one place (the README's table mirrors this). */
export interface Config {
  dataDir: string;
  databaseUrl: string | undefined;
  host: string;
  port: number;
  publicUrl: string | undefined;
  /** the parent domain of the instances' own origins (`<id>.<domain>`), docs/proxy.md; default from the public URL */
  instanceDomain: string | undefined;
  logLevel: string;
  masterKey: string | undefined;
  masterKeyFile: string | undefined;
  /** older local master keys that still open secrets until `tropic keys rewrap` moved them */
  masterKeyPrevious: string | undefined;
  /** AWS KMS key id/ARN/alias: the key-encryption key in production (the local key becomes a previous one) */
  kmsKeyId: string | undefined;
  /** the platform's Claude API key, used by instances whose owner has none of their own (they pay the model rate) */
  platformAnthropicKey: string | undefined;
  /** where the model proxy forwards instances' Claude requests with the platform key (docs/models.md) */
  modelUpstream: string;
  /** Stripe Checkout; purchases are disabled unless both are set */
  stripe: { secretKey: string; webhookSecret: string; apiBase: string | undefined } | undefined;
  /** purchasable credit packages (1,000 credits = $25 by default) */
  creditPackages: CreditPackage[];
  oidc: { issuer: string; clientId: string; clientSecret: string; name: string } | undefined;
  authRateLimit: number;
  bodyLimit: number;
  sessionDays: number;
  /** PostgreSQL connections per process (the embedded database always uses one). */
  dbPoolSize: number;
  /** where instance agents dial in (ws:// or wss://); default: this server's own address */
  agentUrl: string | undefined;
  /** where the other control-plane nodes reach this one (http://private-address:port); default: this server's listen address */
  internalUrl: string | undefined;
  /** local instances' sandbox: "auto" (bubblewrap when installed), "bwrap" (required), "none" */
  sandbox: "auto" | "bwrap" | "none";
  /** false: the API records desired state only, no instance is run (TROPIC_INSTANCES=off) */
  runInstances: boolean;
  /** JSON file overriding entries of the credit rates table (credits/rates.ts, docs/credits.md) */
  ratesFile: string | undefined;
  /** the aws provider (TROPIC_AWS_*, TROPIC_AWS_CONFIG_FILE; docs/aws.md); undefined when none is set */
  aws: AwsSettings | undefined;
  /** Settings → Connections → Google (TROPIC_GOOGLE_CLIENT_ID/SECRET; docs/skills.md); undefined: not offered */
  google: GoogleOAuthConfig | undefined;
}

/** Google OAuth 2.0 for the Google connection; the endpoints are Google's unless overridden (tests: a MOCK). */
export interface GoogleOAuthConfig {
  clientId: string;
  clientSecret: string;
  authUrl: string;
  tokenUrl: string;
  /** where Disconnect revokes the grant at Google (best effort) */
  revokeUrl: string;
}

export interface CreditPackage {
  id: string;
  credits: number;
  /** price in cents (USD) */
  priceCents: number;
}

export const DEFAULT_CREDIT_PACKAGES: CreditPackage[] = [
  { id: "1000", credits: 1000, priceCents: 2500 },
  { id: "5000", credits: 5000, priceCents: 12500 },
];

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const oidcIssuer = env.TROPIC_OIDC_ISSUER;
  const cfg: Config = {
    dataDir: resolve(env.TROPIC_DATA_DIR ?? ".tropic"),
    databaseUrl: env.DATABASE_URL || undefined,
    host: env.TROPIC_HOST ?? "127.0.0.1",
    port: intEnv(env, "TROPIC_PORT", 8080),
    publicUrl: env.TROPIC_PUBLIC_URL || undefined,
    instanceDomain: env.TROPIC_INSTANCE_DOMAIN || undefined,
    logLevel: env.TROPIC_LOG_LEVEL ?? "info",
    masterKey: env.TROPIC_MASTER_KEY || undefined,
    masterKeyFile: env.TROPIC_MASTER_KEY_FILE || undefined,
    masterKeyPrevious: env.TROPIC_MASTER_KEY_PREVIOUS || undefined,
    kmsKeyId: env.TROPIC_KMS_KEY_ID || undefined,
    platformAnthropicKey: env.TROPIC_PLATFORM_ANTHROPIC_KEY || undefined,
    modelUpstream: httpUrlEnv(env, "TROPIC_MODEL_UPSTREAM", "https://api.anthropic.com"),
    stripe:
      env.TROPIC_STRIPE_SECRET_KEY && env.TROPIC_STRIPE_WEBHOOK_SECRET
        ? {
            secretKey: env.TROPIC_STRIPE_SECRET_KEY,
            webhookSecret: env.TROPIC_STRIPE_WEBHOOK_SECRET,
            apiBase: env.TROPIC_STRIPE_API_BASE || undefined,
          }
        : undefined,
    creditPackages: creditPackagesEnv(env.TROPIC_CREDIT_PACKAGES),
    oidc: oidcIssuer
      ? {
          issuer: oidcIssuer,
          clientId: required(env, "TROPIC_OIDC_CLIENT_ID"),
          clientSecret: required(env, "TROPIC_OIDC_CLIENT_SECRET"),
          name: env.TROPIC_OIDC_NAME ?? "Single sign-on",
        }
      : undefined,
    authRateLimit: intEnv(env, "TROPIC_AUTH_RATE_LIMIT", 20),
    bodyLimit: intEnv(env, "TROPIC_BODY_LIMIT", 256 * 1024),
    sessionDays: intEnv(env, "TROPIC_SESSION_DAYS", 14),
    dbPoolSize: intEnv(env, "TROPIC_DB_POOL_SIZE", 10),
    agentUrl: env.TROPIC_AGENT_URL || undefined,
    internalUrl: env.TROPIC_INTERNAL_URL ? httpUrlEnv(env, "TROPIC_INTERNAL_URL", "http://10.0.0.11:8080").replace(/\/$/, "") : undefined,
    sandbox: sandboxEnv(env.TROPIC_SANDBOX),
    runInstances: !["off", "0", "false"].includes((env.TROPIC_INSTANCES ?? "on").toLowerCase()),
    ratesFile: env.TROPIC_RATES_FILE || undefined,
    // A wrong value stops the start naming its variable; a missing one is reported when a cloud instance is asked for.
    aws: awsMentioned(env) ? loadAwsSettings(env) : undefined,
    google: env.TROPIC_GOOGLE_CLIENT_ID
      ? {
          clientId: env.TROPIC_GOOGLE_CLIENT_ID,
          clientSecret: required(env, "TROPIC_GOOGLE_CLIENT_SECRET"),
          authUrl: oauthUrlEnv(env, "TROPIC_GOOGLE_AUTH_URL", "https://accounts.google.com/o/oauth2/v2/auth"),
          tokenUrl: oauthUrlEnv(env, "TROPIC_GOOGLE_OAUTH_TOKEN_URL", "https://oauth2.googleapis.com/token"),
          revokeUrl: oauthUrlEnv(env, "TROPIC_GOOGLE_REVOKE_URL", "https://oauth2.googleapis.com/revoke"),
        }
      : undefined,
  };
  return { ...cfg, ...overrides };
}

function intEnv(env: NodeJS.ProcessEnv, name: string, dflt: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

/** An http(s) base URL, without credentials, query or fragment (they would be sent or logged). */
/** An OAuth endpoint: https, or http on loopback only (a MOCK in tests): codes and secrets never cross a network in clear text. */
function oauthUrlEnv(env: NodeJS.ProcessEnv, name: string, dflt: string): string {
  const v = httpUrlEnv(env, name, dflt);
  const u = new URL(v);
  if (u.protocol === "http:" && !["127.0.0.1", "localhost", "[::1]"].includes(u.hostname))
    throw new Error(`${name} must be an https:// URL (http only on 127.0.0.1), such as ${dflt}`);
  return v;
}

function httpUrlEnv(env: NodeJS.ProcessEnv, name: string, dflt: string): string {
  const raw = env[name];
  if (raw === undefined || raw === "") return dflt;
  // The value is not echoed: a URL may carry a secret.
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(`${name} must be an http(s) URL such as ${dflt}; the value set is not a URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`${name} must be an http(s) URL such as ${dflt}, not ${u.protocol}`);
  if (u.username || u.password || u.search || u.hash)
    throw new Error(`${name} must be a plain base URL (no credentials, query or fragment), such as ${dflt}`);
  return raw.replace(/\/+$/, "");
}

/** TROPIC_CREDIT_PACKAGES: "credits:cents,…", e.g. "1000:2500,5000:12500". */
function creditPackagesEnv(raw: string | undefined): CreditPackage[] {
  if (raw === undefined || raw.trim() === "") return DEFAULT_CREDIT_PACKAGES;
  return raw.split(",").map((entry) => {
    const m = /^\s*(\d{1,9}):(\d{1,9})\s*$/.exec(entry);
    const credits = Number(m?.[1]);
    const priceCents = Number(m?.[2]);
    if (!m || credits < 1 || priceCents < 50)
      throw new Error(`TROPIC_CREDIT_PACKAGES must be "credits:cents,…" (at least 1 credit and 50 cents each), got "${entry.trim()}"`);
    return { id: String(credits), credits, priceCents };
  });
}

function sandboxEnv(raw: string | undefined): Config["sandbox"] {
  if (raw === undefined || raw === "") return "auto";
  if (raw === "auto" || raw === "bwrap" || raw === "none") return raw;
  throw new Error(`TROPIC_SANDBOX must be auto, bwrap or none, got "${raw}"`);
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name];
  if (!v) throw new Error(`${name} is required when TROPIC_OIDC_ISSUER is set`);
  return v;
}

/**
 * What must still be set before cloud (aws) instances can be created here, by variable name; empty
 * when ready. The VMs enrol at the control plane's public URL, so that is needed too.
 */
export function awsMissing(config: Pick<Config, "aws" | "publicUrl">): string[] {
  const missing = config.aws ? missingAwsSettings(config.aws) : [AWS_ENV.instanceProfile, AWS_ENV.proxyCidrs];
  if (!config.publicUrl) missing.push("TROPIC_PUBLIC_URL");
  return missing;
}
