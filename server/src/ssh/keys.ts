// One Ed25519 SSH key pair per user (the seed's "SSH key pair"): generated on first need, the private
// half stored only sealed (secrets/envelope.ts), rotated every 30/60/90 days (Settings →
// sshRotationDays) or on demand. Rotation makes the new key current and retires the old one (its
// private half erased); the current public key is then pushed to every instance of the user through
// its instance agent (`set_authorized_keys`, queued, so a stopped instance gets it when it starts).
//
// Concurrency (several control-plane processes): a unique index allows one current key per user, and
// a rotation retires the key it saw with a conditional UPDATE (`… AND retired_at IS NULL`), so of two
// processes rotating the same key exactly one wins; the other finds the new key and does nothing.
import { and, asc, eq, isNull, ne, sql } from "drizzle-orm";
import type { Db } from "../db/connect.ts";
import { instances, sshKeys, userSettings, users } from "../db/schema.ts";
import { enqueueCommand, supersedePending } from "../instances/commands.ts";
import { openJson, sealJson } from "../instances/tokens.ts";
import { recordEvent } from "../lib/audit.ts";
import type { KeyEncryptionKey } from "../secrets/envelope.ts";
import { generateEd25519, publicKeyOfPrivate } from "./openssh.ts";

export type SshKeyRow = typeof sshKeys.$inferSelect;
export const DEFAULT_ROTATION_DAYS = 90;
const DAY_MS = 86_400_000;

export async function currentKey(db: Db, ownerId: string): Promise<SshKeyRow | undefined> {
  const [row] = await db
    .select()
    .from(sshKeys)
    .where(and(eq(sshKeys.ownerId, ownerId), isNull(sshKeys.retiredAt)))
    .limit(1);
  return row;
}

async function commentFor(db: Db, ownerId: string): Promise<string> {
  const [u] = await db.select({ email: users.email }).from(users).where(eq(users.id, ownerId)).limit(1);
  const local = u?.email.split("@")[0]?.replace(/[^A-Za-z0-9._-]/g, "") || ownerId.slice(0, 8);
  return `tropic-${local}`;
}

/** A fresh key pair, sealed, as a row to insert (nothing is stored yet). */
async function newKeyRow(db: Db, kek: KeyEncryptionKey, ownerId: string) {
  const pair = generateEd25519(await commentFor(db, ownerId));
  return {
    id: crypto.randomUUID(),
    ownerId,
    publicKey: pair.publicKey,
    fingerprint: pair.fingerprint,
    privateKeyEnc: await sealJson(kek, pair.privateKey),
    createdAt: new Date(),
  };
}

/** The user's current key, generated (and recorded) if there is none yet. */
export async function ensureKey(db: Db, kek: KeyEncryptionKey, ownerId: string): Promise<SshKeyRow> {
  const existing = await currentKey(db, ownerId);
  if (existing) return existing;
  const row = await newKeyRow(db, kek, ownerId);
  // A concurrent first generation (another request or process) loses on the unique index; its key is used.
  const [created] = await db.insert(sshKeys).values(row).onConflictDoNothing().returning();
  if (created)
    await recordEvent(db, {
      ownerId,
      action: "ssh_key.create",
      objectType: "ssh_key",
      objectId: created.id,
      details: { fingerprint: created.fingerprint },
    });
  const now = created ?? (await currentKey(db, ownerId));
  if (!now) throw new Error("could not create the SSH key");
  return now;
}

/**
 * Replaces the key `expectedId` (the one the caller saw as current) with a new one. Returns the new
 * key, or null when another rotation got there first (that rotation's key is current then).
 */
export async function rotateKey(
  db: Db,
  kek: KeyEncryptionKey,
  ownerId: string,
  expectedId: string,
  reason: "manual" | "scheduled",
): Promise<SshKeyRow | null> {
  // Generated and sealed before the transaction: a KMS call must never run inside one.
  const fresh = await newKeyRow(db, kek, ownerId);
  const now = new Date();
  const created = await db.transaction(async (tx) => {
    const retired = await tx
      .update(sshKeys)
      .set({ retiredAt: now, privateKeyEnc: null })
      .where(and(eq(sshKeys.id, expectedId), eq(sshKeys.ownerId, ownerId), isNull(sshKeys.retiredAt)))
      .returning({ id: sshKeys.id });
    if (!retired.length) return null;
    const [row] = await tx
      .insert(sshKeys)
      .values({ ...fresh, createdAt: now })
      .returning();
    return row ?? null;
  });
  if (!created) return null;
  await recordEvent(db, {
    ownerId,
    action: "ssh_key.rotate",
    objectType: "ssh_key",
    objectId: created.id,
    details: { reason, retired: expectedId, fingerprint: created.fingerprint },
  });
  return created;
}

/** Rotate now (the user asked): the current key is replaced; with none yet, the first one is made. */
export async function rotateNow(db: Db, kek: KeyEncryptionKey, ownerId: string): Promise<SshKeyRow> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const cur = await currentKey(db, ownerId);
    if (!cur) return ensureKey(db, kek, ownerId);
    const fresh = await rotateKey(db, kek, ownerId, cur.id, "manual");
    if (fresh) return fresh;
  }
  // Rotated concurrently three times over: whatever is current now is newer than this request.
  return ensureKey(db, kek, ownerId);
}

/** The unsealed OpenSSH private key of the caller's current key, checked against its public key. */
export async function privateKeyOf(kek: KeyEncryptionKey, row: SshKeyRow): Promise<string> {
  if (!row.privateKeyEnc) throw new Error("this SSH key is retired; its private key is erased");
  const pem = await openJson(kek, row.privateKeyEnc);
  if (publicKeyOfPrivate(pem) !== row.publicKey) throw new Error("the stored SSH private key does not match its public key");
  return pem;
}

/** When a key is due: created + the owner's rotation period. */
export function nextRotationAt(row: Pick<SshKeyRow, "createdAt">, rotationDays: number): Date {
  return new Date(row.createdAt.getTime() + rotationDays * DAY_MS);
}

export async function rotationDaysOf(db: Db, ownerId: string): Promise<number> {
  const [s] = await db.select({ d: userSettings.sshRotationDays }).from(userSettings).where(eq(userSettings.ownerId, ownerId)).limit(1);
  return s?.d ?? DEFAULT_ROTATION_DAYS;
}

/** Current keys past their owner's rotation period (default 90 days without a settings row). */
export async function dueKeys(db: Db, at = new Date()): Promise<{ id: string; ownerId: string }[]> {
  return db
    .select({ id: sshKeys.id, ownerId: sshKeys.ownerId })
    .from(sshKeys)
    .leftJoin(userSettings, eq(userSettings.ownerId, sshKeys.ownerId))
    .where(
      and(
        isNull(sshKeys.retiredAt),
        sql`${sshKeys.createdAt} + make_interval(days => COALESCE(${userSettings.sshRotationDays}, ${DEFAULT_ROTATION_DAYS})) <= ${at.toISOString()}::timestamptz`,
      ),
    )
    .orderBy(asc(sshKeys.createdAt));
}

/** The instances a user's key goes to: every one not being deleted (stopped ones get it on their next start). */
export async function keyTargets(db: Db, ownerId: string): Promise<string[]> {
  const rows = await db
    .select({ id: instances.id })
    .from(instances)
    .where(and(eq(instances.ownerId, ownerId), isNull(instances.deletedAt), ne(instances.desiredState, "deleted")));
  return rows.map((r) => r.id);
}

/**
 * Queues `set_authorized_keys` with the user's current public key (only that one) for each given
 * instance, cancelling older pending pushes of that instance (a newer key push supersedes them).
 * After queueing it looks at the current key again: a rotation that committed meanwhile (whose own
 * push this call may just have cancelled, or overtaken) is pushed again, so the last push queued for
 * an instance always carries the key that is current.
 */
export async function pushAuthorizedKeys(db: Db, ownerId: string, instanceIds: string[]): Promise<void> {
  if (!instanceIds.length) return;
  let pushed: string | undefined;
  for (let round = 0; round < 5; round++) {
    const key = await currentKey(db, ownerId);
    if (!key || key.id === pushed) return;
    for (const instanceId of instanceIds) {
      await supersedePending(db, instanceId, "set_authorized_keys");
      await enqueueCommand(db, {
        ownerId,
        instanceId,
        kind: "set_authorized_keys",
        payload: { keys: [key.publicKey], fingerprint: key.fingerprint },
      });
    }
    pushed = key.id;
  }
}

/** For the API: the key without its private half. */
export function keyInfo(row: SshKeyRow, rotationDays: number) {
  return {
    id: row.id,
    algorithm: "ssh-ed25519" as const,
    publicKey: row.publicKey,
    fingerprint: row.fingerprint,
    createdAt: row.createdAt,
    rotationDays,
    nextRotationAt: nextRotationAt(row, rotationDays),
  };
}
