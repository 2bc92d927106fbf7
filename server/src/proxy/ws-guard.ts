// What a browser may ask an instance's gateway over the proxied WebSocket: everything but storing
// model credentials inside OpenClaw. Model keys are Tropic's (encrypted in its database, written to the
// instance by its agent); OpenClaw's own "Connect an AI provider" / onboarding flows would keep a key
// in the gateway's state where Tropic neither sees nor encrypts it. Such a request is renamed on its
// way (the frame keeps its id), so the gateway itself answers it `unknown method: <our sentence>` and
// the UI shows the user where keys go.
//
// Client → gateway frames only (RFC 6455: always masked). Compression is not negotiated on proxied
// upgrades (the proxy drops Sec-WebSocket-Extensions), so text frames are plain JSON. A fragmented
// text message is gathered (up to MAX_MESSAGE) and sent on as one frame; control frames in between
// pass at once; binary frames pass untouched.
import { Transform, type TransformCallback } from "node:stream";

/** Gateway methods that store model credentials inside OpenClaw (2026.9.6). */
export const CREDENTIAL_METHODS = new Set([
  "models.authSetApiKey",
  "models.authLogin",
  "openclaw.setup.auth.start",
  "users.authConnect.start",
  "users.authConnect.answer",
  "secrets.store.set",
  "wizard.start",
  "wizard.next",
]);

export const refusedMethodName = (method: string) =>
  `Tropic manages this instance's model keys: add yours in Tropic's Settings → Credentials (${method} is turned off here)`;

const MAX_MESSAGE = 16 * 1024 * 1024;

export class ClientFrameGuard extends Transform {
  private buf: Buffer = Buffer.alloc(0);
  /** the fragments of a text message not yet finished */
  private parts: Buffer[] | null = null;
  private partsLength = 0;
  /** requests renamed so far (tests and logs) */
  refused: string[] = [];

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    try {
      for (;;) {
        const f = parseFrame(this.buf);
        if (!f) break;
        this.buf = this.buf.subarray(f.end);
        this.onFrame(f);
      }
    } catch (e) {
      return done(e as Error);
    }
    done();
  }

  private onFrame(f: Frame) {
    const control = f.opcode >= 0x8;
    if (control || (f.opcode === 0x2 && !this.parts) || (f.opcode === 0x0 && !this.parts)) {
      this.push(f.raw); // pings, closes, binary data: as they came
      return;
    }
    if (f.opcode === 0x1 || f.opcode === 0x0) {
      if (f.opcode === 0x1 && this.parts) throw new Error("websocket: a new text message inside a fragmented one");
      this.parts ??= [];
      this.parts.push(unmask(f));
      this.partsLength += f.payloadLength;
      if (this.partsLength > MAX_MESSAGE) throw new Error("websocket: message too large");
      if (!f.fin) return;
      const payload = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
      this.parts = null;
      this.partsLength = 0;
      this.push(encodeMasked(0x1, this.rewrite(payload)));
      return;
    }
    this.push(f.raw);
  }

  private rewrite(payload: Buffer): Buffer {
    // Cheap test first: most frames are chat and event traffic.
    if (!payload.includes('"method"')) return payload;
    let msg: { type?: unknown; method?: unknown } & Record<string, unknown>;
    try {
      msg = JSON.parse(payload.toString("utf8"));
    } catch {
      return payload;
    }
    if (msg?.type !== "req" || typeof msg.method !== "string" || !CREDENTIAL_METHODS.has(msg.method)) return payload;
    this.refused.push(msg.method);
    return Buffer.from(JSON.stringify({ ...msg, method: refusedMethodName(msg.method), params: {} }));
  }
}

interface Frame {
  fin: boolean;
  opcode: number;
  mask: Buffer | null;
  payloadStart: number;
  payloadLength: number;
  end: number;
  raw: Buffer;
}

function parseFrame(b: Buffer): Frame | null {
  if (b.length < 2) return null;
  const fin = (b[0]! & 0x80) !== 0;
  const opcode = b[0]! & 0x0f;
  const masked = (b[1]! & 0x80) !== 0;
  let len = b[1]! & 0x7f;
  let at = 2;
  if (len === 126) {
    if (b.length < 4) return null;
    len = b.readUInt16BE(2);
    at = 4;
  } else if (len === 127) {
    if (b.length < 10) return null;
    const big = b.readBigUInt64BE(2);
    if (big > BigInt(MAX_MESSAGE)) throw new Error("websocket: frame too large");
    len = Number(big);
    at = 10;
  }
  let mask: Buffer | null = null;
  if (masked) {
    if (b.length < at + 4) return null;
    mask = b.subarray(at, at + 4);
    at += 4;
  }
  if (b.length < at + len) return null;
  return { fin, opcode, mask, payloadStart: at, payloadLength: len, end: at + len, raw: b.subarray(0, at + len) };
}

function unmask(f: Frame): Buffer {
  const out = Buffer.from(f.raw.subarray(f.payloadStart, f.end));
  if (f.mask) for (let i = 0; i < out.length; i++) out[i]! ^= f.mask[i & 3]!;
  return out;
}

/** One final, masked frame (a client's frames must be masked). */
export function encodeMasked(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.alloc(head + 4 + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  const mask = crypto.getRandomValues(Buffer.alloc(4));
  mask.copy(out, head);
  for (let i = 0; i < len; i++) out[head + 4 + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}
