import type { FastifyInstance } from "fastify";
import { buildApp } from "./app.ts";
import { type Config, loadConfig } from "./config.ts";
import { type Database, openDatabase } from "./db/connect.ts";
import { migrate } from "./db/migrate.ts";
import { syncSkillCatalog } from "./routes/skills.ts";
import { loadLocalKek } from "./secrets/envelope.ts";

export interface RunningServer {
  app: FastifyInstance;
  database: Database;
  url: string;
  close(): Promise<void>;
}

/** Opens the database, migrates it, loads keys and starts listening: what `tropic serve` runs. */
export async function startServer(overrides: Partial<Config> = {}, opts: { logger?: object | boolean } = {}): Promise<RunningServer> {
  const config = loadConfig(process.env, overrides);
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize });
  try {
    await migrate(database.pool);
    await syncSkillCatalog(database.db);
    const { kek } = loadLocalKek({ masterKey: config.masterKey, masterKeyFile: config.masterKeyFile, dataDir: config.dataDir });
    const app = await buildApp({ config, database, kek, ...(opts.logger !== undefined ? { logger: opts.logger } : {}) });
    const address = await app.listen({ port: config.port, host: config.host });
    const url = config.publicUrl ?? address.replace("[::1]", "localhost");
    return {
      app,
      database,
      url,
      async close() {
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
