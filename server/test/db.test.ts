import assert from "node:assert/strict";
import { test } from "node:test";
import { getTableConfig, type PgTable } from "drizzle-orm/pg-core";
import pg from "pg";
import { openDatabase } from "../src/db/connect.ts";
import { migrate, migrationFiles, migrationsApplied } from "../src/db/migrate.ts";
import * as schema from "../src/db/schema.ts";
import { backends, freshDatabase, PG_ADMIN_URL } from "./harness.ts";

for (const kind of await backends()) {
  test(`[${kind}] migrations apply once and are idempotent`, async () => {
    const db = await freshDatabase(kind);
    try {
      assert.equal(await migrationsApplied(db.pool), true);
      assert.deepEqual(await migrate(db.pool), [], "a second run applies nothing");
      const { rows } = await db.pool.query("SELECT name FROM schema_migrations ORDER BY name");
      assert.deepEqual(
        rows.map((r) => r.name),
        migrationFiles(),
      );
    } finally {
      await db.close();
    }
  });

  test(`[${kind}] the Drizzle schema matches the migrated tables`, async () => {
    const db = await freshDatabase(kind);
    try {
      const { rows } = await db.pool.query("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'");
      const actual = new Set(rows.map((r) => `${r.table_name}.${r.column_name}`));
      for (const t of Object.values(schema)) {
        if (typeof t !== "object" || !t || !("getSQL" in t)) continue;
        const cfg = getTableConfig(t as PgTable);
        for (const col of cfg.columns)
          assert.ok(actual.has(`${cfg.name}.${col.name}`), `${cfg.name}.${col.name} is in schema.ts but not in migrations`);
      }
    } finally {
      await db.close();
    }
  });

  test(`[${kind}] concurrent queries through the pool all complete`, async () => {
    const db = await freshDatabase(kind);
    try {
      const res = await Promise.all(Array.from({ length: 100 }, (_, i) => db.pool.query("SELECT $1::int AS n", [i])));
      assert.deepEqual(
        res.map((r) => r.rows[0].n),
        Array.from({ length: 100 }, (_, i) => i),
      );
    } finally {
      await db.close();
    }
  });
}

test("[postgres] two processes migrating one database at once do not collide (advisory lock)", async (t) => {
  if (!(await backends()).includes("postgres")) return t.skip("PostgreSQL not reachable");
  const name = `tropic_race_${process.pid}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  const a = await openDatabase({ url, dataDir: "/nonexistent" });
  const b = await openDatabase({ url, dataDir: "/nonexistent" });
  try {
    const [ra, rb] = await Promise.all([migrate(a.pool), migrate(b.pool)]);
    assert.deepEqual([...ra, ...rb].sort(), migrationFiles(), "each migration applied exactly once across both");
    assert.equal(await migrationsApplied(a.pool), true);
  } finally {
    await a.close();
    await b.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
});

test("[pglite] a second process on the same data directory is refused with a clear message", async () => {
  const db = await freshDatabase("pglite");
  try {
    const { spawnSync } = await import("node:child_process");
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "-e",
        `const { openDatabase } = await import("./server/src/db/connect.ts"); await openDatabase({ dataDir: ${JSON.stringify(db.dataDir)} });`,
      ],
      { cwd: new URL("../..", import.meta.url).pathname, encoding: "utf8" },
    );
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /is in use by process \d+/);
  } finally {
    await db.close();
  }
});

for (const kind of await backends()) {
  test(`[${kind}] a named prepared query still works after its pooled client is closed (idle, or after an error)`, async () => {
    const db = await freshDatabase(kind);
    try {
      const q = { name: "tropic_test_lookup", text: "SELECT $1::int + 1 AS n", values: [1] };
      assert.equal((await db.pool.query(q)).rows[0].n, 2);
      // A failed query through the pool, then a client closed outright: both used to leave the embedded
      // database's one session holding the name, and every later request failed with 500.
      await assert.rejects(db.pool.query("SELECT no_such_column FROM schema_migrations"));
      const c = await db.pool.connect();
      c.release(true);
      assert.equal((await db.pool.query(q)).rows[0].n, 2);
      assert.equal((await db.pool.query(q)).rows[0].n, 2);
    } finally {
      await db.close();
    }
  });
}
