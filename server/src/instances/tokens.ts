import { randomBytes } from "node:crypto";
import type { SealedJson } from "../db/schema.ts";
import { type KeyEncryptionKey, open, seal } from "../secrets/envelope.ts";

/** The seed's gateway token: 48 hex characters. */
export const newGatewayToken = () => randomBytes(24).toString("hex");
/** The instance API token the instance agent authenticates with: 64 hex characters (256 bits). */
export const newAgentToken = () => randomBytes(32).toString("hex");

export async function sealJson(kek: KeyEncryptionKey, secret: string): Promise<SealedJson> {
  const s = await seal(kek, secret);
  return {
    ciphertext: s.ciphertext.toString("base64"),
    iv: s.iv.toString("base64"),
    authTag: s.authTag.toString("base64"),
    wrappedKey: s.wrappedKey.toString("base64"),
    kekId: s.kekId,
  };
}

export function openJson(kek: KeyEncryptionKey, j: SealedJson): Promise<string> {
  return open(kek, {
    ciphertext: Buffer.from(j.ciphertext, "base64"),
    iv: Buffer.from(j.iv, "base64"),
    authTag: Buffer.from(j.authTag, "base64"),
    wrappedKey: Buffer.from(j.wrappedKey, "base64"),
    kekId: j.kekId,
  });
}
