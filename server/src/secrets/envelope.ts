import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** Wraps per-secret data keys: a local master key (LocalKek), AWS KMS (KmsKek), or a Keyring of them. */
export interface KeyEncryptionKey {
  /** the id stored beside every data key this wraps (`local:<digest>`, `kms:<key id>`) */
  readonly id: string;
  wrap(dataKey: Buffer): Promise<Buffer>;
  /** Unwraps a data key wrapped under `kekId`; throws when this key (ring) does not hold that key. */
  unwrap(wrapped: Buffer, kekId: string): Promise<Buffer>;
  /** A keyed digest for fingerprints: identifies a secret without allowing a dictionary attack on it. */
  fingerprint(secret: string): string;
  /** Derived subkeys for other purposes (signed cookies), never the master key itself. */
  derive(purpose: string): Buffer;
}

export interface Sealed {
  ciphertext: Buffer;
  iv: Buffer;
  authTag: Buffer;
  wrappedKey: Buffer;
  kekId: string;
}

export async function seal(kek: KeyEncryptionKey, plaintext: string): Promise<Sealed> {
  const dataKey = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", dataKey, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  const sealed = { ciphertext, iv, authTag: cipher.getAuthTag(), wrappedKey: await kek.wrap(dataKey), kekId: kek.id };
  dataKey.fill(0);
  return sealed;
}

export async function open(kek: KeyEncryptionKey, s: Sealed): Promise<string> {
  const dataKey = await kek.unwrap(s.wrappedKey, s.kekId);
  const decipher = createDecipheriv("aes-256-gcm", dataKey, s.iv);
  decipher.setAuthTag(s.authTag);
  const out = Buffer.concat([decipher.update(s.ciphertext), decipher.final()]).toString("utf8");
  dataKey.fill(0);
  return out;
}

export class LocalKek implements KeyEncryptionKey {
  readonly id: string;
  readonly #key: Buffer;
  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error("the master key must be 32 bytes (64 hex characters or 44 base64 characters)");
    this.#key = key;
    this.id = `local:${createHash("sha256").update(key).digest("hex").slice(0, 12)}`;
  }
  async wrap(dataKey: Buffer): Promise<Buffer> {
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", this.#key, iv);
    const ct = Buffer.concat([c.update(dataKey), c.final()]);
    return Buffer.concat([iv, c.getAuthTag(), ct]);
  }
  async unwrap(wrapped: Buffer, kekId: string): Promise<Buffer> {
    if (kekId !== this.id) throw new Error(`secret was sealed under key ${kekId}, not the configured ${this.id}`);
    const d = createDecipheriv("aes-256-gcm", this.#key, wrapped.subarray(0, 12));
    d.setAuthTag(wrapped.subarray(12, 28));
    return Buffer.concat([d.update(wrapped.subarray(28)), d.final()]);
  }
  fingerprint(secret: string): string {
    return createHmac("sha256", this.derive("fingerprint")).update(secret).digest("hex").slice(0, 16);
  }
  derive(purpose: string): Buffer {
    return createHmac("sha256", this.#key).update(`tropic:${purpose}`).digest();
  }
}

/**
 * The current key-encryption key plus the previous ones, so that a new key can be introduced
 * without downtime: new secrets are wrapped under `current`, old ones still open under the key they
 * name, and `rewrapAll` (secrets/rewrap.ts) moves them over in the background.
 * Fingerprints and derived subkeys come from `current`.
 */
export class Keyring implements KeyEncryptionKey {
  readonly id: string;
  constructor(
    readonly current: KeyEncryptionKey,
    readonly previous: KeyEncryptionKey[] = [],
  ) {
    this.id = current.id;
  }
  wrap(dataKey: Buffer): Promise<Buffer> {
    return this.current.wrap(dataKey);
  }
  async unwrap(wrapped: Buffer, kekId: string): Promise<Buffer> {
    const k = this.holder(kekId);
    if (!k) throw new Error(`secret was sealed under key ${kekId}, which is not configured (current ${this.id}); add it as a previous key`);
    return k.unwrap(wrapped, kekId);
  }
  /** Whether a data key wrapped under `kekId` can be opened. */
  holds(kekId: string): boolean {
    return this.holder(kekId) !== undefined;
  }
  fingerprint(secret: string): string {
    return this.current.fingerprint(secret);
  }
  derive(purpose: string): Buffer {
    return this.current.derive(purpose);
  }
  private holder(kekId: string): KeyEncryptionKey | undefined {
    return [this.current, ...this.previous].find((k) => k.id === kekId || (k instanceof Keyring && k.holds(kekId)) || opensAny(k, kekId));
  }
}

/** A KMS key opens every `kms:` data key (the ciphertext names its KMS key); a local key only its own. */
const opensAny = (k: KeyEncryptionKey, kekId: string) => "opensKekId" in k && (k as { opensKekId(id: string): boolean }).opensKekId(kekId);

/** Previous local master keys (TROPIC_MASTER_KEY_PREVIOUS: comma-separated, hex or base64). */
export function previousLocalKeks(raw: string | undefined): LocalKek[] {
  if (!raw?.trim()) return [];
  return raw.split(",").map((k, i) => new LocalKek(parseKey(k.trim(), `TROPIC_MASTER_KEY_PREVIOUS entry ${i + 1}`)));
}

/**
 * The master key: TROPIC_MASTER_KEY (hex or base64), else TROPIC_MASTER_KEY_FILE, else
 * <dataDir>/master.key, generated with 0600 on first start.
 */
export function loadLocalKek(opts: { masterKey?: string; masterKeyFile?: string; dataDir: string }): {
  kek: LocalKek;
  generatedAt?: string;
} {
  if (opts.masterKey) return { kek: new LocalKek(parseKey(opts.masterKey, "TROPIC_MASTER_KEY")) };
  const file = opts.masterKeyFile ?? join(opts.dataDir, "master.key");
  if (existsSync(file)) return { kek: new LocalKek(parseKey(readFileSync(file, "utf8").trim(), file)) };
  if (opts.masterKeyFile) throw new Error(`TROPIC_MASTER_KEY_FILE ${file} does not exist`);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600, flag: "wx" });
  return { kek: new LocalKek(parseKey(readFileSync(file, "utf8").trim(), file)), generatedAt: file };
}

function parseKey(raw: string, source: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, "hex") : Buffer.from(raw, "base64");
  if (key.length !== 32) throw new Error(`${source} must hold a 32-byte key (64 hex characters or base64)`);
  return key;
}
