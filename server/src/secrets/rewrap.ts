// Moves every sealed secret to the current key-encryption key, online: only the small wrapped data
// key changes (the ciphertext stays), each row is updated only if it still names the old key (safe to
// run twice, or on two processes, or while the API writes), in short batches so nothing is locked
// for long. Credentials' fingerprints are recomputed under the current key on the way.

import { sql } from "drizzle-orm";
import type { Db } from "../db/connect.ts";
import { type KeyEncryptionKey, open } from "./envelope.ts";

/** jsonb columns holding a SealedJson ({ciphertext, iv, authTag, wrappedKey, kekId}, base64). */
const SEALED_JSON_COLUMNS: { table: string; column: string }[] = [
  { table: "instances", column: "gateway_token_enc" },
  { table: "instances", column: "model_key_enc" },
  { table: "instances", column: "agent_token_enc" },
  { table: "ssh_keys", column: "private_key_enc" },
];
const BATCH = 200;

export interface RewrapReport {
  current: string;
  rewrapped: Record<string, number>;
  /** rows still under another key after the run (an unknown key: reported, never dropped) */
  remaining: number;
}

export async function rewrapAll(db: Db, kek: KeyEncryptionKey, onProgress: (done: number) => void = () => {}): Promise<RewrapReport> {
  const report: RewrapReport = { current: kek.id, rewrapped: {}, remaining: 0 };
  let done = 0;
  const tick = (key: string) => {
    report.rewrapped[key] = (report.rewrapped[key] ?? 0) + 1;
    onProgress(++done);
  };

  // credentials: bytea columns, plus the fingerprint.
  for (let after = ""; ; ) {
    const rows = (
      await db.execute<{ id: string; ciphertext: Buffer; iv: Buffer; auth_tag: Buffer; wrapped_key: Buffer; kek_id: string }>(
        sql`SELECT id, ciphertext, iv, auth_tag, wrapped_key, kek_id FROM credentials
            WHERE kek_id <> ${kek.id} AND id::text > ${after} ORDER BY id::text LIMIT ${BATCH}`,
      )
    ).rows;
    if (!rows.length) break;
    for (const r of rows) {
      after = String(r.id);
      const dataKey = await kek.unwrap(r.wrapped_key, r.kek_id).catch(() => null);
      if (!dataKey) continue;
      const plaintext = await open(kek, { ciphertext: r.ciphertext, iv: r.iv, authTag: r.auth_tag, wrappedKey: r.wrapped_key, kekId: r.kek_id });
      const wrapped = await kek.wrap(dataKey);
      dataKey.fill(0);
      const res = await db.execute(
        sql`UPDATE credentials SET wrapped_key = ${wrapped}, kek_id = ${kek.id}, fingerprint = ${kek.fingerprint(plaintext)}
            WHERE id = ${r.id} AND kek_id = ${r.kek_id}`,
      );
      if (res.rowCount) tick("credentials");
    }
  }

  for (const { table, column } of SEALED_JSON_COLUMNS) {
    const t = sql.raw(table);
    const c = sql.raw(column);
    for (let after = ""; ; ) {
      const rows = (
        await db.execute<{ id: string; v: { wrappedKey: string; kekId: string } }>(
          sql`SELECT id, ${c} AS v FROM ${t} WHERE ${c} IS NOT NULL AND ${c}->>'kekId' <> ${kek.id} AND id::text > ${after}
              ORDER BY id::text LIMIT ${BATCH}`,
        )
      ).rows;
      if (!rows.length) break;
      for (const r of rows) {
        after = String(r.id);
        const dataKey = await kek.unwrap(Buffer.from(r.v.wrappedKey, "base64"), r.v.kekId).catch(() => null);
        if (!dataKey) continue;
        const wrapped = (await kek.wrap(dataKey)).toString("base64");
        dataKey.fill(0);
        const res = await db.execute(
          sql`UPDATE ${t} SET ${c} = ${c} || jsonb_build_object('wrappedKey', ${wrapped}::text, 'kekId', ${kek.id}::text)
              WHERE id = ${r.id} AND ${c}->>'kekId' = ${r.v.kekId}`,
        );
        if (res.rowCount) tick(`${table}.${column}`);
      }
    }
  }

  const left = await db.execute<{ n: string }>(sql`
    SELECT (SELECT count(*) FROM credentials WHERE kek_id <> ${kek.id})
      ${sql.join(
        SEALED_JSON_COLUMNS.map(
          ({ table, column }) => sql` + (SELECT count(*) FROM ${sql.raw(table)} WHERE ${sql.raw(column)}->>'kekId' <> ${kek.id})`,
        ),
        sql``,
      )} AS n`);
  report.remaining = Number(left.rows[0]?.n ?? 0);
  return report;
}
