// The production key-encryption key: AWS KMS. Data keys are wrapped with KMS Encrypt and unwrapped
// with Decrypt (the KMS key never leaves KMS). Subkeys (cookie signing, fingerprints) need local
// material: a random 32-byte seed, itself wrapped by KMS and kept in the database (kek_seeds), is
// unwrapped once at start — so every control-plane process derives the same subkeys.
import { createHmac, randomBytes } from "node:crypto";
import { DecryptCommand, EncryptCommand, type KMSClient } from "@aws-sdk/client-kms";
import type { KeyEncryptionKey } from "./envelope.ts";

const CONTEXT = { purpose: "tropic-data-key" };

/** Where the wrapped seed lives (the `kek_seeds` table; one row per KEK id). */
export interface SeedStore {
  get(kekId: string): Promise<Buffer | null>;
  /** Inserts unless a row exists (another process may have won the race); returns what is stored. */
  putIfAbsent(kekId: string, wrapped: Buffer): Promise<Buffer>;
}

export class KmsKek implements KeyEncryptionKey {
  readonly id: string;
  #seed: Buffer | null = null;

  constructor(
    private readonly client: KMSClient,
    readonly keyId: string,
  ) {
    if (!/^[\w:/+=,.@-]{1,2048}$/.test(keyId)) throw new Error("TROPIC_KMS_KEY_ID must be a KMS key id, ARN or alias");
    this.id = `kms:${keyId}`;
  }

  /** Loads (or, the first time, creates) the derivation seed. Call once before use. */
  async init(store: SeedStore): Promise<this> {
    let wrapped = await store.get(this.id);
    if (!wrapped) wrapped = await store.putIfAbsent(this.id, await this.wrap(randomBytes(32)));
    this.#seed = await this.unwrap(wrapped, this.id);
    return this;
  }

  async wrap(dataKey: Buffer): Promise<Buffer> {
    const out = await this.client.send(new EncryptCommand({ KeyId: this.keyId, Plaintext: dataKey, EncryptionContext: CONTEXT }));
    if (!out.CiphertextBlob) throw new Error("KMS Encrypt returned no ciphertext");
    return Buffer.from(out.CiphertextBlob);
  }

  async unwrap(wrapped: Buffer, kekId: string): Promise<Buffer> {
    if (!this.opensKekId(kekId)) throw new Error(`secret was sealed under key ${kekId}, not a KMS key`);
    const out = await this.client.send(
      new DecryptCommand({ CiphertextBlob: wrapped, KeyId: kekId.slice("kms:".length), EncryptionContext: CONTEXT }),
    );
    if (!out.Plaintext) throw new Error("KMS Decrypt returned no plaintext");
    return Buffer.from(out.Plaintext);
  }

  /** KMS Decrypt opens data keys of any KMS key this role may use: an old KMS key needs no configuration. */
  opensKekId(kekId: string): boolean {
    return kekId.startsWith("kms:");
  }

  fingerprint(secret: string): string {
    return createHmac("sha256", this.derive("fingerprint")).update(secret).digest("hex").slice(0, 16);
  }

  derive(purpose: string): Buffer {
    if (!this.#seed) throw new Error("KmsKek.init() was not called");
    return createHmac("sha256", this.#seed).update(`tropic:${purpose}`).digest();
  }
}
