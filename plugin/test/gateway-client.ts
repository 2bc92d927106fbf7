// A small OpenClaw gateway WebSocket client for the end-to-end tests (node 20 has no WebSocket
// without a flag, so this speaks RFC 6455 over node:http's upgrade itself: masked client frames,
// text/continuation/ping/close). It connects as the trusted local backend client with the gateway
// token (loopback only), sends RPCs and collects events (e.g. `plugin.approval.requested`).
import { randomBytes, randomUUID } from "node:crypto";
import { request } from "node:http";
import type { Socket } from "node:net";

type Frame = { type: string; id?: string; ok?: boolean; payload?: any; error?: any; event?: string; method?: string };

export class GatewayClient {
  private sock: Socket | null = null;
  private buf = Buffer.alloc(0);
  private parts: Buffer[] = [];
  private pending = new Map<string, { resolve: (v: any) => void; reject: (e: Error) => void; final: boolean }>();
  private waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  readonly events: Frame[] = [];
  private onEvent: ((f: Frame) => void)[] = [];

  constructor(
    readonly port: number,
    readonly token: string,
  ) {}

  async connect(scopes = ["operator.read", "operator.write", "operator.approvals", "operator.admin"]) {
    const key = randomBytes(16).toString("base64");
    this.sock = await new Promise<Socket>((resolve, reject) => {
      const req = request({
        host: "127.0.0.1",
        port: this.port,
        path: "/",
        headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": key },
      });
      req.on("upgrade", (_res, socket, head) => {
        if (head.length) this.buf = Buffer.concat([this.buf, head]);
        resolve(socket);
      });
      req.on("response", (res) => reject(new Error(`websocket upgrade refused: HTTP ${res.statusCode}`)));
      req.on("error", reject);
      req.end();
    });
    this.sock.on("data", (d) => this.onData(d));
    this.sock.on("close", () => {
      for (const p of this.pending.values()) p.reject(new Error("gateway connection closed"));
      this.pending.clear();
    });
    this.sock.on("error", () => {});
    this.onData(Buffer.alloc(0));
    await this.waitFor((f) => f.type === "event" && f.event === "connect.challenge", 15_000).catch(() => null);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.call("connect", {
          minProtocol: 4,
          maxProtocol: 4,
          client: { id: "gateway-client", version: "tropic-test", platform: process.platform, mode: "backend" },
          role: "operator",
          scopes,
          caps: ["plugin-approvals"],
          auth: { token: this.token },
        });
      } catch (e) {
        // startup sidecars still running: retryable
        if (attempt < 20 && /UNAVAILABLE|startup/i.test(String((e as Error).message))) await new Promise((r) => setTimeout(r, 500));
        else throw e;
      }
    }
  }

  /** One RPC; `final` waits past an `accepted` acknowledgement for the final result. */
  call(method: string, params: unknown, { final = false, timeoutMs = 120_000 } = {}): Promise<any> {
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        final,
        resolve: (v) => {
          clearTimeout(t);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
      this.send({ type: "req", id, method, params });
    });
  }

  on(fn: (f: Frame) => void) {
    this.onEvent.push(fn);
  }

  waitFor(match: (f: Frame) => boolean, timeoutMs: number): Promise<Frame> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { match, resolve };
      this.waiters.push(w);
      setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`no matching gateway event in ${timeoutMs} ms`));
      }, timeoutMs).unref();
    });
  }

  close() {
    if (!this.sock) return;
    try {
      this.writeFrame(0x8, Buffer.alloc(0));
    } catch {}
    this.sock.destroy();
    this.sock = null;
  }

  private send(o: unknown) {
    this.writeFrame(0x1, Buffer.from(JSON.stringify(o)));
  }

  private writeFrame(op: number, data: Buffer) {
    const mask = randomBytes(4);
    const len = data.length;
    const head = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
    head[0] = 0x80 | op;
    if (len < 126) head[1] = 0x80 | len;
    else if (len < 65536) {
      head[1] = 0x80 | 126;
      head.writeUInt16BE(len, 2);
    } else {
      head[1] = 0x80 | 127;
      head.writeBigUInt64BE(BigInt(len), 2);
    }
    const body = Buffer.alloc(len);
    for (let i = 0; i < len; i++) body[i] = data[i] ^ mask[i & 3];
    this.sock?.write(Buffer.concat([head, mask, body]));
  }

  private onData(d: Buffer) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      if (this.buf.length < 2) return;
      const fin = (this.buf[0] & 0x80) !== 0;
      const op = this.buf[0] & 0x0f;
      let len = this.buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buf.length < off + len) return;
      const payload = this.buf.subarray(off, off + len);
      this.buf = this.buf.subarray(off + len);
      if (op === 0x9) this.writeFrame(0xa, Buffer.from(payload));
      else if (op === 0x8) this.sock?.end();
      else if (op === 0x1 || op === 0x0) {
        this.parts.push(Buffer.from(payload));
        if (fin) {
          const text = Buffer.concat(this.parts).toString("utf8");
          this.parts = [];
          try {
            this.dispatch(JSON.parse(text));
          } catch {}
        }
      }
    }
  }

  private dispatch(f: Frame) {
    if (f.type === "res" && f.id) {
      const p = this.pending.get(f.id);
      if (!p) return;
      if (p.final && f.ok && f.payload?.status === "accepted") return;
      this.pending.delete(f.id);
      if (f.ok) p.resolve(f.payload);
      else p.reject(new Error(`${f.error?.code ?? "ERROR"}: ${f.error?.message ?? JSON.stringify(f.error)}`));
      return;
    }
    if (f.type === "event") {
      this.events.push(f);
      if (this.events.length > 2000) this.events.splice(0, 1000);
      for (const fn of this.onEvent) fn(f);
      for (const w of [...this.waiters])
        if (w.match(f)) {
          this.waiters = this.waiters.filter((x) => x !== w);
          w.resolve(f);
        }
    }
  }
}
