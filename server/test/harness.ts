// Test harness: a real database per test file on each backend (embedded PGlite and PostgreSQL),
// the real Fastify app on top, and captured log lines for secret-leak checks.
import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import pg from "pg";
import type { FastifyInstance } from "fastify";
import { type AppDeps, buildApp, LOG_REDACT } from "../src/app.ts";
import { loadConfig, type Config } from "../src/config.ts";
import { type Database, openDatabase } from "../src/db/connect.ts";
import { migrate } from "../src/db/migrate.ts";
import { syncSkillCatalog } from "../src/routes/skills.ts";
import { LocalKek } from "../src/secrets/envelope.ts";
import { InstanceManager, type InstanceManagerOptions } from "../src/instances/manager.ts";
import { ByoProvider } from "@tropic/providers";

export type Backend = "pglite" | "postgres";
export const PG_ADMIN_URL = process.env.TROPIC_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** Whether PostgreSQL answers at `url` (the benchmarks use it too). */
export async function pgReachable(url = PG_ADMIN_URL): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

let reachable: Promise<boolean> | undefined;
/** Both backends where PostgreSQL is reachable; on CI it must be (a missing server is a failure, not a skip). */
export async function backends(): Promise<Backend[]> {
  reachable ??= pgReachable();
  if (await reachable) return ["pglite", "postgres"];
  if (process.env.CI) throw new Error(`PostgreSQL is not reachable at ${PG_ADMIN_URL}; .ci/run should have started it`);
  return ["pglite"];
}

/** A migrated, empty database of the given kind, removed again by close(). */
export async function freshDatabase(kind: Backend): Promise<Database & { url?: string; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), "tropic-test-"));
  if (kind === "postgres") {
    const name = `tropic_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
    const db = await openDatabase({ url, dataDir });
    await migrate(db.pool);
    await syncSkillCatalog(db.db);
    return {
      ...db,
      url,
      dataDir,
      async close() {
        await db.close();
        const a = new pg.Client({ connectionString: PG_ADMIN_URL });
        await a.connect();
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await a.end();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  // initdb costs seconds; clone a migrated template instead (scripts/test.mjs builds one per run).
  const template = process.env.TROPIC_TEST_PGLITE_TEMPLATE;
  if (template && existsSync(join(template, "pgdata"))) cpSync(join(template, "pgdata"), join(dataDir, "pgdata"), { recursive: true });
  const db = await openDatabase({ dataDir });
  await migrate(db.pool);
  await syncSkillCatalog(db.db);
  return {
    ...db,
    dataDir,
    async close() {
      await db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TestApp {
  app: FastifyInstance;
  database: Database;
  logs: string[];
  config: Config;
  close(): Promise<void>;
}

export const TEST_KEY = Buffer.alloc(32, 7);

export async function testApp(kind: Backend, overrides: Partial<Config> = {}, extra: Pick<AppDeps, "tunnels"> = {}): Promise<TestApp> {
  const database = await freshDatabase(kind);
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      logs.push(chunk.toString());
      cb();
    },
  });
  const config = loadConfig({}, { dataDir: database.dataDir, authRateLimit: 1000, ...overrides });
  const app = await buildApp({ config, database, kek: new LocalKek(TEST_KEY), logger: { level: "info", redact: LOG_REDACT, stream }, ...extra });
  await app.ready();
  return {
    app,
    database,
    logs,
    config,
    async close() {
      await app.close();
      await database.close();
    },
  };
}

export interface TestUser {
  id: string;
  email: string;
  cookie: string;
  token: string;
  isAdmin: boolean;
  /** Headers that authenticate as this user with the API token. */
  auth: { authorization: string };
}

let seq = 0;
export async function signUp(
  app: FastifyInstance,
  email = `user${++seq}-${Date.now()}@example.com`,
  password = "correct horse battery",
): Promise<TestUser> {
  const res = await app.inject({ method: "POST", url: "/api/v1/auth/signup", payload: { email, password } });
  if (res.statusCode !== 201) throw new Error(`signup failed: ${res.statusCode} ${res.body}`);
  const cookie = String(res.headers["set-cookie"]).split(";")[0]!;
  const tok = await app.inject({ method: "POST", url: "/api/v1/tokens", headers: { cookie }, payload: { name: "test" } });
  const { token } = tok.json() as { token: string };
  const body = res.json() as { id: string; isAdmin: boolean };
  return { id: body.id, email, cookie, token, isAdmin: body.isAdmin, auth: { authorization: `Bearer ${token}` } };
}

/**
 * A control plane listening on loopback whose instances are users' own machines (the byo provider),
 * driven by stand-in agents (stand-in-agent.ts) in the tests that use it. Other nodes reach it at its
 * own address (its internal URL). Its instances' reconciler and schedules are started.
 */
export async function byoControlPlane(
  database: Database & { dataDir: string; url?: string },
  o: { config?: Partial<Config>; manager?: Partial<InstanceManagerOptions> } = {},
): Promise<{ app: FastifyInstance; address: string }> {
  const kek = new LocalKek(TEST_KEY);
  let address = "";
  const app = await buildApp({
    config: loadConfig({}, { dataDir: database.dataDir, authRateLimit: 1000, ...o.config }),
    database,
    kek,
    logger: { level: "fatal", redact: LOG_REDACT },
    instances: (log) =>
      new InstanceManager({
        database,
        kek,
        providers: { byo: new ByoProvider() },
        agentUrl: () => "ws://127.0.0.1:9",
        internalUrl: () => address,
        log,
        healthIntervalMs: 300,
        ...o.manager,
      }),
  });
  address = await app.listen({ port: 0, host: "127.0.0.1" });
  await app.instances!.start();
  return { app, address };
}
