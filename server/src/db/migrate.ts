import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type pg from "pg";

const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations/", import.meta.url));
// Any constant works; it only has to be the same in every control-plane process.
const MIGRATION_LOCK = 727_274_001;

export function migrationFiles(): string[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort();
}

/**
 * Applies pending migrations, each in its own transaction. A session advisory lock makes
 * concurrent starts on one PostgreSQL take turns: the second finds everything applied.
 */
export async function migrate(pool: pg.Pool): Promise<string[]> {
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    await client.query("CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
    const done = new Set((await client.query("SELECT name FROM schema_migrations")).rows.map((r) => r.name as string));
    for (const file of migrationFiles()) {
      if (done.has(file)) continue;
      const sql = readFileSync(MIGRATIONS_DIR + file, "utf8");
      try {
        await client.query("BEGIN");
        await client.query(sql);
        await client.query("INSERT INTO schema_migrations (name) VALUES ($1)", [file]);
        await client.query("COMMIT");
      } catch (err) {
        await client.query("ROLLBACK").catch(() => {});
        throw new Error(`migration ${file} failed: ${(err as Error).message}`);
      }
      applied.push(file);
    }
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => {});
    client.release();
  }
  return applied;
}

/** For /readyz: true when every shipped migration is recorded as applied. */
export async function migrationsApplied(pool: pg.Pool): Promise<boolean> {
  const res = await pool.query("SELECT name FROM schema_migrations");
  const done = new Set(res.rows.map((r) => r.name as string));
  return migrationFiles().every((f) => done.has(f));
}
