import { chmodSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync, rmSync, existsSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import * as schema from "./schema.ts";

export type Db = NodePgDatabase<typeof schema>;
export interface Database {
  kind: "pglite" | "postgres";
  pool: pg.Pool;
  db: Db;
  close(): Promise<void>;
}

// bigint counts (sum of credits) come back as strings by default; our amounts fit in a JS number.
pg.types.setTypeParser(20, (v) => Number(v));

/**
 * Opens the database. With a URL, real PostgreSQL. Without, an embedded PGlite in the data
 * directory served on a unix socket, so every other line of code talks `pg` either way.
 */
export async function openDatabase(opts: { url?: string; dataDir: string; poolSize?: number }): Promise<Database> {
  if (opts.url) {
    const pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 20 });
    pool.on("error", () => {}); // idle-client errors surface on the next query instead of crashing
    return { kind: "postgres", pool, db: drizzle(pool, { schema }), close: () => pool.end() };
  }
  // One connection: PGlite is a single session, and through pglite-socket the extended-protocol
  // messages of several connections interleave (another client's Bind replaces the unnamed
  // portal: "portal \"\" cannot be run"). PGlite runs one query at a time anyway, so queueing
  // in the pool costs no throughput. Corollary: never await another pool query inside a transaction.
  return openEmbedded(opts.dataDir, 1);
}

async function openEmbedded(dataDir: string, poolSize: number): Promise<Database> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const release = takeLock(join(dataDir, "pglite.lock"));
  const runDir = join(dataDir, "run");
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  try {
    const pglite = await PGlite.create(join(dataDir, "pgdata"));
    chmodSync(join(dataDir, "pgdata"), 0o700); // PGlite creates it world-readable; it holds every user's data
    // A unix socket (owner-only directory) when the path fits the 107-byte limit, loopback TCP otherwise.
    const socketPath = join(runDir, ".s.PGSQL.5432");
    const useSocket = Buffer.byteLength(socketPath) < 100;
    if (useSocket) rmSync(socketPath, { force: true });
    const server = new PGLiteSocketServer({
      db: pglite,
      ...(useSocket ? { path: socketPath } : { host: "127.0.0.1", port: 0 }),
      maxConnections: 200,
    });
    await server.start();
    const conn = useSocket ? { host: runDir, port: 5432 } : tcpFrom(server.getServerConn());
    // PGlite is ONE session behind the socket: a pooled client that is closed (idle, or after a failed
    // query) leaves its named prepared statements in that session, and the next client's identical
    // names then fail ("prepared statement … already exists") on every request. So idle clients are
    // kept, and a new client starts by clearing what an earlier one prepared.
    const pool = new pg.Pool({ ...conn, user: "postgres", database: "postgres", max: poolSize, idleTimeoutMillis: 0 });
    pool.on("error", () => {});
    pool.on("connect", (client) => {
      client.query("DEALLOCATE ALL").catch(() => {});
    });
    return {
      kind: "pglite",
      pool,
      db: drizzle(pool, { schema }),
      async close() {
        await pool.end();
        await server.stop();
        await pglite.close();
        release();
      },
    };
  } catch (err) {
    release();
    throw err;
  }
}

function tcpFrom(conn: string): { host: string; port: number } {
  const i = conn.lastIndexOf(":");
  return { host: conn.slice(0, i), port: Number(conn.slice(i + 1)) };
}

/** PGlite is single-process: a second `tropic serve` on the same data directory must fail clearly. */
function takeLock(path: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = Number(readFileSync(path, "utf8"));
      if (pid && pid !== process.pid && isAlive(pid)) {
        throw new Error(
          `the embedded database in ${path.replace(/\/pglite\.lock$/, "")} is in use by process ${pid}; stop it or set TROPIC_DATA_DIR to another directory`,
        );
      }
      if (existsSync(path)) rmSync(path, { force: true }); // stale lock from a crashed process
    }
  }
  throw new Error(`could not lock ${path}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
