// The internal link between control-plane nodes: a node that does not hold an instance's agent
// connection forwards to the one that does. Two calls: a live request to the agent (POST, JSON), and
// a byte stream to the instance's gateway (a WebSocket whose binary frames are the stream's bytes,
// bridged on the holder to a stream of the agent's tunnel). Every call carries the caller's node
// credential (cluster/node.ts); the holder checks it against the live nodes in PostgreSQL.
import { Duplex } from "node:stream";
import { createWebSocketStream, WebSocket } from "ws";
import type { Holder } from "./node.ts";
import { NODE_AUTH_HEADER } from "./node.ts";

export const INTERNAL_PREFIX = "/internal/v1/agents/";
/** `/internal/v1/agents/<instance id>/stream` */
export const INTERNAL_STREAM = /^\/internal\/v1\/agents\/([0-9a-f-]{36})\/stream$/;

export interface AgentAck {
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** An error the holder answered with: `code` is the hub's reason (not_connected, timeout, disconnected). */
export class RemoteAgentError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** Asks the holder's agent one thing (the hub's `request`, run on the holder). */
export async function remoteRequest(
  holder: Holder,
  auth: string,
  instanceId: string,
  body: { kind: string; payload: Record<string, unknown>; timeoutMs: number },
): Promise<AgentAck> {
  let res: Response;
  try {
    res = await fetch(`${holder.internalUrl}${INTERNAL_PREFIX}${instanceId}/request`, {
      method: "POST",
      headers: { "content-type": "application/json", [NODE_AUTH_HEADER]: auth },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(body.timeoutMs + 5000),
    });
  } catch (err) {
    throw new RemoteAgentError(`the control-plane node holding the instance's agent did not answer: ${(err as Error).message}`, "disconnected");
  }
  const j = (await res.json().catch(() => ({}))) as { ack?: AgentAck; error?: { code?: string; message?: string } };
  if (res.ok && j.ack) return j.ack;
  throw new RemoteAgentError(j.error?.message ?? `the holding node answered HTTP ${res.status}`, j.error?.code ?? "disconnected");
}

/** A stream to the instance's gateway through the node holding its agent. */
export function remoteStream(holder: Holder, auth: string, instanceId: string): Duplex {
  const url = `${holder.internalUrl.replace(/^http/, "ws")}${INTERNAL_PREFIX}${instanceId}/stream`;
  const ws = new WebSocket(url, { headers: { [NODE_AUTH_HEADER]: auth }, perMessageDeflate: false });
  ws.on("unexpected-response", (_req, res) => ws.emit("error", new Error(`the holding node refused the stream: HTTP ${res.statusCode}`)));
  return createWebSocketStream(ws);
}

/**
 * A Duplex now for a Duplex later: callers that need a stream synchronously (an http.Agent's
 * createConnection) get this one while the holder is looked up. Writes wait; an error of the
 * lookup destroys it with that error. It has net.Socket's look-alikes (as the tunnel's streams do)
 * for http, http.Agent and ws.
 */
export function deferredDuplex(later: Promise<Duplex>): Duplex {
  return new DeferredStream(later);
}

class DeferredStream extends Duplex {
  connecting = true;
  timeout: number | undefined = undefined;
  remoteAddress: string | undefined = undefined;
  remotePort: number | undefined = undefined;
  private inner: Duplex | undefined;
  private queued: [unknown, BufferEncoding, (e?: Error | null) => void][] = [];
  private ending: ((e?: Error | null) => void) | undefined;
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(later: Promise<Duplex>) {
    super({ allowHalfOpen: true });
    later.then(
      (s) => this.attach(s),
      (err) => this.destroy(err),
    );
  }

  private attach(s: Duplex) {
    if (this.destroyed) return void s.destroy();
    this.inner = s;
    this.connecting = false;
    let ended = false;
    s.on("data", (c) => {
      this.touch();
      if (!this.push(c)) s.pause();
    });
    s.on("end", () => {
      ended = true;
      this.push(null);
    });
    s.on("error", (e) => this.destroy(e));
    // closed without an end (the far side went away): so does this one
    s.on("close", () => {
      if (!ended && !this.destroyed) this.destroy();
    });
    for (const [c, e, cb] of this.queued.splice(0)) s.write(c, e, cb);
    if (this.ending) s.end(this.ending);
    this.emit("connect");
  }

  override _read() {
    this.inner?.resume();
  }
  override _write(chunk: unknown, enc: BufferEncoding, cb: (e?: Error | null) => void) {
    this.touch();
    if (this.inner) this.inner.write(chunk, enc, cb);
    else this.queued.push([chunk, enc, cb]);
  }
  override _final(cb: (e?: Error | null) => void) {
    if (this.inner) this.inner.end(cb);
    else this.ending = cb;
  }
  override _destroy(err: Error | null, cb: (e?: Error | null) => void) {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.inner?.destroy(err ?? undefined);
    cb(err);
  }

  private touch() {
    if (!this.timeout || this.destroyed) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.emit("timeout"), this.timeout);
    this.idleTimer.unref();
  }

  setTimeout(ms: number, callback?: () => void): this {
    this.timeout = Number.isFinite(ms) && ms > 0 ? ms : 0;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (callback) {
      if (this.timeout) this.once("timeout", callback);
      else this.removeListener("timeout", callback);
    }
    this.touch();
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  address(): Record<string, never> {
    return {};
  }
}
