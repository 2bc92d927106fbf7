import { NodeDrain } from "./cluster/drain.ts";
import type { FastifyInstance } from "fastify";
import { buildApp } from "./app.ts";
import { type Config, loadConfig } from "./config.ts";
import { type Database, openDatabase } from "./db/connect.ts";
import { migrate } from "./db/migrate.ts";
import { syncSkillCatalog } from "./routes/skills.ts";
import { ByoProvider, LocalProvider, localSandboxPlan } from "@tropic/providers";
import { InstanceManager } from "./instances/manager.ts";
import { awsProviderFor } from "./instances/aws.ts";
import { loadRates } from "./credits/rates.ts";
import { loadKeyring } from "./secrets/keyring.ts";
import { rewrapAll } from "./secrets/rewrap.ts";
import { hostBundles } from "./hosts/bundle.ts";

export interface RunningServer {
  app: FastifyInstance;
  database: Database;
  url: string;
  /** what a person starting the server must know (how local instances run here, or why they cannot) */
  notices: string[];
  close(): Promise<void>;
}

/** Opens the database, migrates it, loads keys and starts listening: what `tropic serve` runs. */
export interface StartOptions {
  logger?: object | boolean;
  /** the 15-second health interval (tests shorten it) */
  healthIntervalMs?: number;
  /**
   * Build the host bundles (docs/hosts.md) in the background once listening, so the first one-liner
   * does not wait 40–85 s for them; errors are logged, never fatal. Off unless asked (tests, embedders):
   * `tropic serve` passes warmHostBundlesEnv(process.env).
   */
  warmHostBundles?: boolean;
}

/** TROPIC_HOST_BUNDLES: `warm` (the default: built at start) or `lazy` (built by the first request for them). */
export function warmHostBundlesEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.TROPIC_HOST_BUNDLES ?? "warm").toLowerCase();
  if (v !== "warm" && v !== "lazy") throw new Error(`TROPIC_HOST_BUNDLES must be warm or lazy, got "${env.TROPIC_HOST_BUNDLES}"`);
  return v === "warm";
}

/** `{aws}` when cloud instances are configured here, else nothing. */
function awsProvidersOf(config: Config, database: Database, log: import("fastify").FastifyBaseLogger) {
  const aws = awsProviderFor(config, database.db, { log: (m) => log.info(m) });
  return aws ? { aws } : {};
}

/** ws://host:port of a listening address; a wildcard host is reached on loopback. */
export function agentUrlOf(address: string): string {
  const u = new URL(address);
  if (u.hostname === "0.0.0.0" || u.hostname === "[::]") u.hostname = "127.0.0.1";
  return `${u.protocol === "https:" ? "wss:" : "ws:"}//${u.host}`;
}

export async function startServer(overrides: Partial<Config> = {}, opts: StartOptions = {}): Promise<RunningServer> {
  const config = loadConfig(process.env, overrides);
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize });
  try {
    await migrate(database.pool);
    const rates = loadRates(config.ratesFile); // a bad TROPIC_RATES_FILE stops the start, naming the field
    await syncSkillCatalog(database.db);
    const kek = await loadKeyring(config, database.db);
    const notices: string[] = [];
    if (config.runInstances) {
      const plan = localSandboxPlan(config.sandbox);
      if (!plan.ok || !plan.sandboxed) notices.push(plan.ok ? `Note: ${plan.message}.` : `Local instances cannot start: ${plan.message}`);
    }
    let agentUrl = config.agentUrl ?? "";
    let internalUrl = config.internalUrl ?? "";
    const instances = config.runInstances
      ? (log: import("fastify").FastifyBaseLogger) =>
          new InstanceManager({
            database,
            kek,
            providers: {
              local: new LocalProvider({
                dataDir: config.dataDir,
                sandbox: config.sandbox,
                hiddenPaths: config.masterKeyFile ? [config.masterKeyFile] : [],
                log: (m) => log.info(m),
              }),
              // A user's own machine (docs/hosts.md): nothing to provision; driven through its agent.
              byo: new ByoProvider(),
              // Cloud VMs (docs/aws.md), when AWS is configured; otherwise the API says what to set.
              ...awsProvidersOf(config, database, log),
            },
            agentUrl: () => agentUrl,
            internalUrl: () => internalUrl,
            log,
            rates,
            healthIntervalMs: opts.healthIntervalMs,
          })
      : undefined;
    const app = await buildApp({
      config,
      database,
      kek,
      ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
      ...(instances ? { instances } : {}),
    });
    // A deep accept queue: when a node of a cluster dies, its thousands of agents reconnect to the
    // others within a second (Node's default of 511 drops connections a load balancer then marks as failures).
    const address = await app.listen({ port: config.port, host: config.host, backlog: 4096 });
    const nodeDrain = new NodeDrain(app.server);
    agentUrl ||= agentUrlOf(address.replace("[::1]", "127.0.0.1"));
    internalUrl ||= agentUrlOf(address.replace("[::1]", "127.0.0.1")).replace(/^ws/, "http");
    await app.instances?.start();
    // (a server that runs instances is the one hosts connect to; the build never delays the start)
    if (opts.warmHostBundles && config.runInstances)
      hostBundles(config.dataDir, { log: (m) => app.log.info(m) }).warm((err) =>
        app.log.warn({ err }, "host bundles: the background build failed; the first one-liner builds them"),
      );
    // A new key-encryption key with the old ones still configured: move every secret over in the
    // background (online; rows are updated one by one, conditionally), then say the old key can go.
    if (kek.previous.length)
      void rewrapAll(database.db, kek).then(
        (r) =>
          app.log.info(
            { current: r.current, rewrapped: r.rewrapped, remaining: r.remaining },
            r.remaining ? "re-wrap left secrets under unknown keys" : "every secret is under the current key; the previous keys can be removed",
          ),
        (err) => app.log.warn({ err }, "re-wrap under the current key failed; it is retried at the next start"),
      );
    const url = config.publicUrl ?? address.replace("[::1]", "localhost");
    for (const n of notices) app.log.warn(n);
    return {
      app,
      database,
      url,
      notices,
      async close() {
        // A graceful stop (cluster/drain.ts): stop accepting, finish requests, hand the agents to other nodes.
        await nodeDrain.run({
          announce: async () => app.instances?.cluster.drain(),
          handOff: async () => app.instances?.handOff(),
          log: (m) => app.log.warn(m),
        });
        await app.close();
        await drain(database);
        await database.close();
      },
    };
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }
}

/** Waits (up to 5 s) for queries of requests whose clients already left, so ending the pool fails none of them. */
async function drain(database: Database): Promise<void> {
  const { pool } = database;
  const deadline = Date.now() + 5000;
  while ((pool.waitingCount > 0 || pool.totalCount > pool.idleCount) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}
