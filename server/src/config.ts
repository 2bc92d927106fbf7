import { resolve } from "node:path";

/** Every environment variable Tropic reads, in one place (the README's table mirrors this). */
export interface Config {
  dataDir: string;
  databaseUrl: string | undefined;
  host: string;
  port: number;
  publicUrl: string | undefined;
  logLevel: string;
  masterKey: string | undefined;
  masterKeyFile: string | undefined;
  oidc: { issuer: string; clientId: string; clientSecret: string; name: string } | undefined;
  authRateLimit: number;
  bodyLimit: number;
  sessionDays: number;
  /** PostgreSQL connections per process (the embedded database always uses one). */
  dbPoolSize: number;
  /** where instance agents dial in (ws:// or wss://); default: this server's own address */
  agentUrl: string | undefined;
  /** local instances' sandbox: "auto" (bubblewrap when installed), "bwrap" (required), "none" */
  sandbox: "auto" | "bwrap" | "none";
  /** false: the API records desired state only, no instance is run (TROPIC_INSTANCES=off) */
  runInstances: boolean;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const oidcIssuer = env.TROPIC_OIDC_ISSUER;
  const cfg: Config = {
    dataDir: resolve(env.TROPIC_DATA_DIR ?? ".tropic"),
    databaseUrl: env.DATABASE_URL || undefined,
    host: env.TROPIC_HOST ?? "127.0.0.1",
    port: intEnv(env, "TROPIC_PORT", 8080),
    publicUrl: env.TROPIC_PUBLIC_URL || undefined,
    logLevel: env.TROPIC_LOG_LEVEL ?? "info",
    masterKey: env.TROPIC_MASTER_KEY || undefined,
    masterKeyFile: env.TROPIC_MASTER_KEY_FILE || undefined,
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
    sandbox: sandboxEnv(env.TROPIC_SANDBOX),
    runInstances: !["off", "0", "false"].includes((env.TROPIC_INSTANCES ?? "on").toLowerCase()),
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
