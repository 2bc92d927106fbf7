// Per-instance credentials for the model proxy (docs/models.md). A credential is `tmk_` + 64 hex
// characters (256 random bits); only its sha256 is stored (instances.model_key_hash), so the database
// never holds a usable key. Issuing replaces the previous one (rotation); revoking clears it. An
// instance whose delete was requested (desired_state 'deleted') never matches, so a delete ends its
// credential at once, before the reconciler removes the row.
import { randomBytes } from "node:crypto";
import { and, eq, isNull, ne, sql } from "drizzle-orm";
import type { Db } from "../db/connect.ts";
import { instances } from "../db/schema.ts";
import { openJson, sealJson } from "../instances/tokens.ts";
import { constantTimeEqual, sha256Hex } from "../lib/tokens.ts";
import type { KeyEncryptionKey } from "../secrets/envelope.ts";

export const MODEL_KEY_PREFIX = "tmk_";
const KEY_SHAPE = /^tmk_[0-9a-f]{64}$/;

/** Whether `key` has the shape of a model-proxy credential (checked before any lookup). */
export function looksLikeModelKey(key: string): boolean {
  return KEY_SHAPE.test(key);
}

/**
 * A new credential for the instance, returned once; only its hash is kept, replacing any earlier one
 * (which stops working at once). Throws when the instance does not exist or its delete was requested.
 */
export async function issueModelKey(db: Db, instanceId: string, kek?: KeyEncryptionKey): Promise<string> {
  const key = `${MODEL_KEY_PREFIX}${randomBytes(32).toString("hex")}`;
  const rows = await db
    .update(instances)
    // (sealed too when a key-encryption key is given: currentModelKey sends it to the agent again)
    .set({ modelKeyHash: sha256Hex(key), modelKeyEnc: kek ? await sealJson(kek, key) : null })
    .where(and(eq(instances.id, instanceId), ne(instances.desiredState, "deleted"), isNull(instances.deletedAt)))
    .returning({ id: instances.id });
  if (!rows.length) throw new Error(`instance ${instanceId} does not exist or is being deleted: no model credential issued`);
  return key;
}

/** Ends the instance's credential at once (no-op when it has none). */
export async function revokeModelKey(db: Db, instanceId: string): Promise<void> {
  await db.update(instances).set({ modelKeyHash: null, modelKeyEnc: null }).where(eq(instances.id, instanceId));
}

/**
 * The instance's credential as its agent writes it into `.env`: the sealed copy when it is still the
 * one the proxy accepts, else a new one (issued and sealed). Only the agent's command frame carries it.
 */
export async function currentModelKey(db: Db, kek: KeyEncryptionKey, instanceId: string): Promise<string> {
  const [row] = await db
    .select({ hash: instances.modelKeyHash, enc: instances.modelKeyEnc })
    .from(instances)
    .where(eq(instances.id, instanceId))
    .limit(1);
  if (row?.hash && row.enc) {
    const key = await openJson(kek, row.enc);
    if (constantTimeEqual(sha256Hex(key), row.hash)) return key;
  }
  return issueModelKey(db, instanceId, kek);
}

export interface ModelKeyOwner {
  instanceId: string;
  ownerId: string;
}

type Lookup = { execute(p: { hash: string }): Promise<{ id: string; ownerId: string; hash: string | null }[]> };
const lookups = new WeakMap<Db, Lookup>();

/** The instance a credential belongs to, or null (unknown, revoked, malformed, or the instance is being deleted). */
export async function instanceForModelKey(db: Db, key: string): Promise<ModelKeyOwner | null> {
  if (typeof key !== "string" || !looksLikeModelKey(key)) return null;
  const hash = sha256Hex(key);
  let lookup = lookups.get(db);
  if (!lookup) {
    lookup = db
      .select({ id: instances.id, ownerId: instances.ownerId, hash: instances.modelKeyHash })
      .from(instances)
      .where(and(eq(instances.modelKeyHash, sql.placeholder("hash")), ne(instances.desiredState, "deleted"), isNull(instances.deletedAt)))
      .limit(1)
      .prepare("tropic_model_key_lookup");
    lookups.set(db, lookup);
  }
  const [row] = await lookup.execute({ hash });
  if (!row?.hash || !constantTimeEqual(row.hash, hash)) return null;
  return { instanceId: row.id, ownerId: row.ownerId };
}
