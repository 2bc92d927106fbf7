// Ed25519 key pairs in the OpenSSH formats. node:crypto generates raw Ed25519 keys; the public key
// line (`ssh-ed25519 AAAA… comment`, RFC 8709 wire format) and the unencrypted "openssh-key-v1"
// private key (PROTOCOL.key in OpenSSH's sources), which `ssh -i` reads, are encoded here.
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";

export interface OpenSshKeyPair {
  /** `ssh-ed25519 AAAA… <comment>`, one authorized_keys line */
  publicKey: string;
  /** `SHA256:<base64, no padding>` of the public key blob: what `ssh-keygen -l` prints */
  fingerprint: string;
  /** `-----BEGIN OPENSSH PRIVATE KEY-----` …, unencrypted (it is sealed before it is stored) */
  privateKey: string;
}

const KEY_TYPE = "ssh-ed25519";

/** uint32 length + bytes: the SSH wire "string". */
function sshString(b: Buffer | string): Buffer {
  const body = typeof b === "string" ? Buffer.from(b, "utf8") : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** The public key blob: string "ssh-ed25519", string key (32 bytes). */
export function publicBlob(pub: Buffer): Buffer {
  if (pub.length !== 32) throw new Error("an Ed25519 public key is 32 bytes");
  return Buffer.concat([sshString(KEY_TYPE), sshString(pub)]);
}

export function fingerprintOf(publicKeyLine: string): string {
  const b64 = publicKeyLine.trim().split(/\s+/)[1] ?? "";
  const digest = createHash("sha256").update(Buffer.from(b64, "base64")).digest("base64");
  return `SHA256:${digest.replace(/=+$/, "")}`;
}

/** A comment for the key line: letters, digits and `._@-` only (it ends up in authorized_keys files). */
export function safeComment(comment: string): string {
  return comment.replace(/[^A-Za-z0-9._@-]/g, "-").slice(0, 100) || "tropic";
}

/** Encodes a raw Ed25519 key pair (32-byte seed, 32-byte public key) in the OpenSSH formats. */
export function encodeEd25519(seed: Buffer, pub: Buffer, comment: string, checkInt = randomBytes(4).readUInt32BE()): OpenSshKeyPair {
  if (seed.length !== 32) throw new Error("an Ed25519 private key (seed) is 32 bytes");
  const c = safeComment(comment);
  const blob = publicBlob(pub);
  const publicKey = `${KEY_TYPE} ${blob.toString("base64")} ${c}`;

  // The private section: two equal check integers, the key (type, public, seed‖public, comment),
  // then padding 1, 2, 3, … to the cipher's block size (8 for "none").
  const section = [uint32(checkInt), uint32(checkInt), sshString(KEY_TYPE), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(c)];
  let priv = Buffer.concat(section);
  const pad = (8 - (priv.length % 8)) % 8;
  priv = Buffer.concat([priv, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);

  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0", "latin1"),
    sshString("none"), // cipher
    sshString("none"), // kdf
    sshString(""), // kdf options
    uint32(1), // one key
    sshString(blob),
    sshString(priv),
  ]);
  priv.fill(0);
  const b64 = body.toString("base64");
  body.fill(0);
  const lines = b64.match(/.{1,70}/g) ?? [];
  const privateKey = `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join("\n")}\n-----END OPENSSH PRIVATE KEY-----\n`;
  return { publicKey, fingerprint: fingerprintOf(publicKey), privateKey };
}

/** A new Ed25519 key pair, OpenSSH-encoded. */
export function generateEd25519(comment: string): OpenSshKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  const pub = Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url");
  const seed = Buffer.from(jwk.d!, "base64url");
  try {
    return encodeEd25519(seed, pub, comment);
  } finally {
    seed.fill(0);
  }
}

/**
 * Reads the public key line back out of an unencrypted OpenSSH Ed25519 private key (what
 * `ssh-keygen -y -f` does); throws on anything else. Used to check a stored key before it is handed out.
 */
export function publicKeyOfPrivate(pem: string): string {
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]+?)-----END OPENSSH PRIVATE KEY-----/.exec(pem);
  if (!m) throw new Error("not an OpenSSH private key");
  const buf = Buffer.from(m[1]!.replace(/\s+/g, ""), "base64");
  let off = 0;
  const magic = "openssh-key-v1\0";
  if (buf.subarray(0, magic.length).toString("latin1") !== magic) throw new Error("not an openssh-key-v1 key");
  off = magic.length;
  const str = () => {
    if (off + 4 > buf.length) throw new Error("truncated key");
    const n = buf.readUInt32BE(off);
    off += 4;
    if (off + n > buf.length) throw new Error("truncated key");
    const s = buf.subarray(off, off + n);
    off += n;
    return s;
  };
  if (str().toString() !== "none" || str().toString() !== "none") throw new Error("encrypted keys are not supported");
  str();
  if (buf.readUInt32BE(off) !== 1) throw new Error("expected exactly one key");
  off += 4;
  const blob = str();
  const priv = str();
  if (priv.readUInt32BE(0) !== priv.readUInt32BE(4)) throw new Error("check integers differ (corrupt key)");
  const inner = priv.subarray(8);
  let o = 0;
  const istr = () => {
    const n = inner.readUInt32BE(o);
    o += 4;
    const s = inner.subarray(o, o + n);
    o += n;
    return s;
  };
  if (istr().toString() !== KEY_TYPE) throw new Error("not an Ed25519 key");
  const pub = istr();
  const secret = istr();
  const comment = istr().toString();
  if (!publicBlob(pub).equals(blob) || !secret.subarray(32).equals(pub)) throw new Error("public and private parts differ (corrupt key)");
  return `${KEY_TYPE} ${blob.toString("base64")} ${comment}`;
}
