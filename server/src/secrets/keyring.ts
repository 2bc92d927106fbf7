// Which key-encryption keys this control plane uses, from its configuration:
//   current  = AWS KMS when TROPIC_KMS_KEY_ID is set, else the local master key;
//   previous = the local master key (when KMS is current) and TROPIC_MASTER_KEY_PREVIOUS.
// With the previous keys configured, secrets sealed under them keep opening while `tropic keys
// rewrap` moves them to the current key: no downtime.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { KMSClient } from "@aws-sdk/client-kms";
import { sql } from "drizzle-orm";
import type { Config } from "../config.ts";
import type { Db } from "../db/connect.ts";
import { type KeyEncryptionKey, Keyring, loadLocalKek, previousLocalKeks } from "./envelope.ts";
import { KmsKek, type SeedStore } from "./kms.ts";

export async function loadKeyring(
  config: Pick<Config, "masterKey" | "masterKeyFile" | "dataDir" | "masterKeyPrevious" | "kmsKeyId">,
  db: Db,
  kmsClient: () => KMSClient = () => new KMSClient({}),
): Promise<Keyring> {
  const previous: KeyEncryptionKey[] = previousLocalKeks(config.masterKeyPrevious);
  if (config.kmsKeyId) {
    const kms = await new KmsKek(kmsClient(), config.kmsKeyId).init(dbSeedStore(db));
    // The local master key, when there is one, still opens what was sealed before KMS.
    const localFile = config.masterKeyFile ?? join(config.dataDir, "master.key");
    const local = config.masterKey || existsSync(localFile) ? loadLocalKek(config).kek : null;
    return new Keyring(kms, [...(local ? [local] : []), ...previous]);
  }
  const { kek } = loadLocalKek(config);
  return new Keyring(kek, previous);
}

export function dbSeedStore(db: Db): SeedStore {
  return {
    async get(kekId) {
      const r = await db.execute<{ wrapped_seed: Buffer }>(sql`SELECT wrapped_seed FROM kek_seeds WHERE kek_id = ${kekId}`);
      return r.rows[0]?.wrapped_seed ?? null;
    },
    async putIfAbsent(kekId, wrapped) {
      await db.execute(sql`INSERT INTO kek_seeds (kek_id, wrapped_seed) VALUES (${kekId}, ${wrapped}) ON CONFLICT (kek_id) DO NOTHING`);
      const r = await db.execute<{ wrapped_seed: Buffer }>(sql`SELECT wrapped_seed FROM kek_seeds WHERE kek_id = ${kekId}`);
      return r.rows[0]!.wrapped_seed;
    },
  };
}
