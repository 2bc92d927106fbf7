// The instance's Google access token, served on its loopback (docs/skills.md, docs/security.md): the
// Google Sheets skill's wrapper asks `TROPIC_GOOGLE_TOKEN_URL` for a short-lived access token; the agent
// asks the control plane (an `ask` frame on its management channel), which refreshes it with the
// refresh token that never leaves the control plane. The endpoint shares the agent's loopback listener
// with the gateway's model calls (one port: 127.0.0.1:modelPort, in the instance's network namespace
// when it has one): a connection whose request line is `GET /tropic/google-token` is answered here, any
// other is the model proxy's. A caller must present the instance's token-endpoint secret (Bearer), which
// only the gateway's environment (`<state>/.env`, readable by the gateway's group) carries: on a host
// whose loopback other users share, they cannot use the instance's Google access.
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Socket } from "node:net";

export const GOOGLE_TOKEN_PATH = "/tropic/google-token";
/** The environment variables the gateway (and so the skill's wrapper) gets. */
export const TOKEN_URL_ENV = "TROPIC_GOOGLE_TOKEN_URL";
export const TOKEN_SECRET_ENV = "TROPIC_GOOGLE_TOKEN_SECRET";

/** The control plane's answer to `{what: "google_token"}`. */
export type TokenAnswer =
  | { ok: true; result: { access_token: string; expires_at: string } }
  | { ok: false; error: string; code?: "not_connected" | "unavailable" };

export function newTokenSecret(): string {
  return randomBytes(32).toString("hex");
}

const HEAD_LIMIT = 8192;
const PREFIX = `GET ${GOOGLE_TOKEN_PATH}`;

/**
 * Reads the first bytes of a loopback connection and hands it on: `token(head)` when its request line
 * is the token endpoint's, else `other(head)` with the bytes read so far (to be written on first).
 */
export function routeLoopback(c: Socket, token: (head: string) => void, other: (first: Buffer) => void) {
  let buf = Buffer.alloc(0);
  let decided = false;
  const onData = (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    const n = Math.min(buf.length, PREFIX.length);
    const isToken = buf.subarray(0, n).toString("latin1") === PREFIX.slice(0, n);
    if (!isToken) return decide(false);
    const end = buf.indexOf("\r\n\r\n");
    if (end >= 0) return decide(true);
    if (buf.length > HEAD_LIMIT) {
      decided = true;
      c.removeListener("data", onData);
      c.end("HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    }
  };
  const decide = (isToken: boolean) => {
    if (decided) return;
    decided = true;
    c.removeListener("data", onData);
    c.pause();
    if (isToken) token(buf.toString("latin1"));
    else other(buf);
  };
  c.on("data", onData);
}

/** A cache of the access token until shortly before it expires (one per agent: one Google connection per owner). */
export class TokenCache {
  private cached: { access_token: string; expires_at: string } | null = null;
  private inflight: Promise<TokenAnswer> | null = null;
  private fetchToken: () => Promise<TokenAnswer>;
  constructor(fetchToken: () => Promise<TokenAnswer>) {
    this.fetchToken = fetchToken;
  }
  async get(now = Date.now()): Promise<TokenAnswer> {
    if (this.cached && Date.parse(this.cached.expires_at) - now > 60_000) return { ok: true, result: this.cached };
    this.inflight ??= this.fetchToken().finally(() => {
      this.inflight = null;
    });
    const a = await this.inflight;
    this.cached = a.ok ? a.result : null;
    return a;
  }
  /** forgets the token (the connection was removed or the token refused) */
  clear() {
    this.cached = null;
  }
}

function reply(c: Socket, status: number, body: unknown) {
  const text = JSON.stringify(body);
  const reason =
    { 200: "OK", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 502: "Bad Gateway" }[status] ?? "Error";
  c.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncache-control: no-store\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
}

function secretMatches(given: string, secret: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Answers one request to the token endpoint (`head`: its request line and headers): 401 without the
 * instance's secret, 200 {access_token, expires_at}, 409 {error: "not_connected"}, 502 {error} when the
 * control plane cannot be asked. The token is never logged; the secret never appears in an answer.
 */
export async function answerTokenRequest(c: Socket, head: string, secret: string, cache: TokenCache): Promise<void> {
  c.on("error", () => {});
  const [line = "", ...headerLines] = head.split("\r\n");
  const [method, target] = line.split(" ");
  const path = (target ?? "").split("?")[0];
  if (path !== GOOGLE_TOKEN_PATH) return reply(c, 404, { error: "not_found" });
  if (method !== "GET") return reply(c, 405, { error: "method_not_allowed" });
  const auth =
    headerLines
      .find((h) => /^authorization:/i.test(h))
      ?.slice("authorization:".length)
      .trim() ?? "";
  const m = /^Bearer (\S+)$/.exec(auth);
  if (!secret || !m || !secretMatches(m[1]!, secret)) return reply(c, 401, { error: "unauthorized" });
  let a: TokenAnswer;
  try {
    a = await cache.get();
  } catch (e) {
    a = { ok: false, error: (e as Error).message, code: "unavailable" };
  }
  if (a.ok) return reply(c, 200, { access_token: a.result.access_token, expires_at: a.result.expires_at });
  if (a.code === "not_connected") return reply(c, 409, { error: "not_connected" });
  return reply(c, 502, { error: a.error.slice(0, 300) });
}

/** Live questions the agent asks the control plane (`ask` frames), answered by `answer` frames with the same id. */
export class Asks {
  private waiting = new Map<string, (a: TokenAnswer) => void>();
  private send: (frame: string) => boolean;
  constructor(send: (frame: string) => boolean) {
    this.send = send;
  }
  ask(what: "google_token", timeoutMs = 20_000): Promise<TokenAnswer> {
    const id = randomBytes(12).toString("hex");
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve({ ok: false, error: "the control plane did not answer in time", code: "unavailable" });
      }, timeoutMs);
      this.waiting.set(id, (a) => {
        clearTimeout(timer);
        resolve(a);
      });
      if (!this.send(JSON.stringify({ type: "ask", id, what }))) {
        this.waiting.delete(id);
        clearTimeout(timer);
        resolve({ ok: false, error: "the instance is not connected to Tropic right now", code: "unavailable" });
      }
    });
  }
  /** an `answer` frame from the control plane */
  answer(f: { id?: unknown; ok?: unknown; result?: unknown; error?: unknown; code?: unknown }) {
    const w = typeof f.id === "string" ? this.waiting.get(f.id) : undefined;
    if (!w) return;
    this.waiting.delete(f.id as string);
    const r = f.result as { access_token?: unknown; expires_at?: unknown } | undefined;
    if (f.ok === true && typeof r?.access_token === "string" && typeof r.expires_at === "string")
      w({ ok: true, result: { access_token: r.access_token, expires_at: r.expires_at } });
    else
      w({
        ok: false,
        error: typeof f.error === "string" ? f.error : "the control plane could not give a token",
        code: f.code === "not_connected" ? "not_connected" : "unavailable",
      });
  }
  /** the connection closed: every open question fails now */
  closeAll() {
    for (const w of this.waiting.values()) w({ ok: false, error: "the connection to Tropic closed", code: "unavailable" });
    this.waiting.clear();
  }
}
