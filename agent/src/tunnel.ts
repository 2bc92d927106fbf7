// The tunnel: many TCP-like byte streams over the one WebSocket the instance agent dials out, so the
// control plane reaches the gateway without any inbound port on the instance. Each stream has
// credit-based flow control like HTTP/2, so a slow reader stalls only its own stream, never the others
// or the WebSocket. Both sides treat the peer as hostile: no frame can throw out of receive() or make
// this side buffer more than one window per stream. Frame format, limits and rules: docs/tunnel.md.
// Transport-agnostic (no `ws` here) and erasable TypeScript only, like every agent file.
import { Buffer } from "node:buffer";
import { Duplex } from "node:stream";
import { clearTimeout, setTimeout } from "node:timers";

export const FRAME = { OPEN: 1, OPEN_OK: 2, OPEN_FAIL: 3, DATA: 4, WINDOW: 5, END: 6, RESET: 7 } as const;
export const FRAME_HEADER = 5; // [type u8][streamId u32 BE]
export const MAX_META_BYTES = 4096;
const MAX_REASON_BYTES = 1024;
const MAX_WINDOW = 2 ** 31 - 1;
const MAX_ID = 0xffff_ffff;
// Short, so a drained WebSocket is refilled before it runs dry; one timer for the whole mux.
const TRANSPORT_POLL_MS = 3;

export interface TunnelTransport {
  /** sends one binary frame (one WebSocket binary message) */
  send(frame: Buffer): void;
  /** bytes the transport has queued but not yet written (ws.bufferedAmount) */
  bufferedAmount(): number;
}

export interface TunnelOptions {
  /** set on the side that accepts streams (the agent): makes the far end of a stream the peer opened, e.g. dials the gateway; rejecting sends OPEN_FAIL with the error's message */
  accept?: (meta: Record<string, unknown>) => Promise<Duplex>;
  /** which ids this side opens streams with: "client" odd, "server" even; default "server" with accept, else "client" */
  role?: "client" | "server";
  /** per-stream receive window in bytes, default 256 KiB */
  window?: number;
  /** open streams per mux (both directions), default 4096; more → OPEN_FAIL "too many streams" */
  maxStreams?: number;
  /** payload bytes per DATA frame, default 64 KiB */
  maxFrame?: number;
  /** above this transport.bufferedAmount(), stream writes wait; default 1 MiB */
  transportHighWater?: number;
}

/** An error with a net-style code: ECONNREFUSED (the peer refused to open), ECONNRESET (reset), ERR_TUNNEL_PROTOCOL. */
export class TunnelError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = "TunnelError";
    this.code = code;
  }
}

/** What a stream needs from its mux, kept off the mux's public surface. */
interface MuxLink {
  readonly window: number;
  readonly maxFrame: number;
  send(type: number, id: number, payload?: Buffer): boolean;
  transportReady(): boolean;
  waitForTransport(stream: TunnelStream): void;
  forget(stream: TunnelStream): void;
}

export class TunnelMux {
  private readonly transport: TunnelTransport;
  private readonly acceptStream: TunnelOptions["accept"];
  private readonly maxStreams: number;
  private readonly transportHighWater: number;
  private readonly link: MuxLink;
  private readonly streams = new Map<number, TunnelStream>();
  // Streams with data and credit that wait for the WebSocket to drain, served in turn.
  private readonly blocked = new Set<TunnelStream>();
  private pollTimer: NodeJS.Timeout | null = null;
  private readonly firstId: number;
  private nextId: number;
  private readonly peerParity: number;
  private closedWith: Error | null = null;

  constructor(transport: TunnelTransport, opts: TunnelOptions = {}) {
    this.transport = transport;
    this.acceptStream = opts.accept;
    const window = limit("window", opts.window, 256 * 1024, MAX_WINDOW);
    const maxFrame = limit("maxFrame", opts.maxFrame, 64 * 1024, MAX_WINDOW);
    this.maxStreams = limit("maxStreams", opts.maxStreams, 4096, 2 ** 30);
    this.transportHighWater = limit("transportHighWater", opts.transportHighWater, 1024 * 1024, Number.MAX_SAFE_INTEGER);
    const role = opts.role ?? (opts.accept ? "server" : "client");
    this.firstId = role === "client" ? 1 : 2;
    this.nextId = this.firstId;
    this.peerParity = role === "client" ? 0 : 1;
    this.link = {
      window,
      maxFrame,
      send: (type, id, payload) => this.send(type, id, payload),
      transportReady: () => this.transport.bufferedAmount() <= this.transportHighWater,
      waitForTransport: (stream) => {
        this.blocked.add(stream);
        this.schedulePoll();
      },
      forget: (stream) => {
        if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id);
        this.blocked.delete(stream);
      },
    };
  }

  /** open streams now */
  get size(): number {
    return this.streams.size;
  }

  /** opens a stream to the peer's accept(); returned at once, writes before it is accepted are buffered; emits "connect" when accepted, "error" (message = the peer's reason) when refused */
  open(meta: Record<string, unknown>): TunnelStream {
    let failure = this.closedWith;
    let body: Buffer | null = null;
    if (!failure) {
      try {
        body = Buffer.from(JSON.stringify(meta));
      } catch (e) {
        failure = e as Error;
      }
      if (body && body.length > MAX_META_BYTES) failure = new TunnelError(`stream meta over ${MAX_META_BYTES} bytes`, "ERR_TUNNEL_PROTOCOL");
      else if (this.streams.size >= this.maxStreams) failure = new TunnelError("too many streams", "ECONNREFUSED");
    }
    if (failure || !body) {
      // Like net.connect: the stream is handed back, the error comes on the next tick.
      const stream = new TunnelStream(this.link, 0);
      stream.peerForgot();
      const err = failure ?? new Error("could not open the stream");
      process.nextTick(() => stream.destroy(err));
      return stream;
    }
    const stream = new TunnelStream(this.link, this.allocateId());
    this.streams.set(stream.id, stream);
    this.send(FRAME.OPEN, stream.id, body);
    stream.grant(this.link.window);
    return stream;
  }

  /** feed one binary frame that arrived from the peer; never throws */
  receive(frame: Buffer | ArrayBuffer | Buffer[]): void {
    if (this.closedWith) return;
    const buf = Buffer.isBuffer(frame)
      ? frame
      : Array.isArray(frame)
        ? Buffer.concat(frame)
        : frame instanceof ArrayBuffer
          ? Buffer.from(frame)
          : null;
    if (!buf || buf.length < FRAME_HEADER) return;
    const type = buf[0];
    const id = buf.readUInt32BE(1);
    const payload = buf.subarray(FRAME_HEADER);
    const stream = this.streams.get(id);
    try {
      this.dispatch(type, id, payload, stream);
    } catch (e) {
      // Only a listener on the stream (a 'data' handler, say) can throw here: it ends that stream, not the tunnel.
      stream?.destroy(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** the transport closed: every stream is destroyed with this error */
  close(err?: Error): void {
    if (this.closedWith) return;
    this.closedWith = err ?? new TunnelError("the tunnel closed", "ECONNRESET");
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    this.blocked.clear();
    const open = [...this.streams.values()];
    this.streams.clear();
    for (const stream of open) {
      stream.peerForgot();
      stream.destroy(this.closedWith);
    }
  }

  private dispatch(type: number, id: number, payload: Buffer, stream: TunnelStream | undefined) {
    const ours = id % 2 !== this.peerParity;
    switch (type) {
      case FRAME.OPEN:
        return this.onOpen(id, payload, stream);
      case FRAME.OPEN_OK:
        if (stream && ours) stream.onOpenOk();
        return;
      case FRAME.OPEN_FAIL:
        if (stream && ours) stream.onOpenFail(readReason(payload));
        return;
      case FRAME.DATA:
        if (stream) stream.onData(payload);
        // Data for a stream this side forgot (reset, or never opened): tell the peer to stop.
        else if (id !== 0 && payload.length > 0) this.send(FRAME.RESET, id, reasonBytes("unknown stream"));
        return;
      case FRAME.WINDOW:
        if (stream && payload.length === 4) stream.onWindow(payload.readUInt32BE(0));
        return;
      case FRAME.END:
        stream?.onEnd();
        return;
      case FRAME.RESET:
        stream?.onReset(readReason(payload));
        return;
    }
  }

  private onOpen(id: number, payload: Buffer, existing: TunnelStream | undefined) {
    if (id === 0 || existing) return; // an id in use is never refused: that would end the stream that owns it
    // The agent must never be able to open a connection into the control plane.
    if (!this.acceptStream) return this.refuse(id, "this side accepts no streams");
    if (id % 2 !== this.peerParity) return this.refuse(id, "wrong stream id parity (both sides have the same role)");
    if (this.streams.size >= this.maxStreams) return this.refuse(id, "too many streams");
    const meta = parseMeta(payload);
    if (!meta) return this.refuse(id, "bad stream meta");
    const stream = new TunnelStream(this.link, id);
    this.streams.set(id, stream);
    void this.attach(stream, meta, this.acceptStream);
  }

  private refuse(id: number, reason: string) {
    this.send(FRAME.OPEN_FAIL, id, reasonBytes(reason));
  }

  /** accept() makes the far end; then the stream and it are piped both ways, half-close and resets carried over */
  private async attach(stream: TunnelStream, meta: Record<string, unknown>, accept: NonNullable<TunnelOptions["accept"]>) {
    // Errors reach the peer as RESET and the far end by destroy(): nobody else listens here.
    stream.on("error", () => {});
    let far: Duplex;
    try {
      far = await accept(meta);
    } catch (e) {
      if (stream.destroyed) return;
      this.refuse(stream.id, e instanceof Error ? e.message : String(e));
      stream.peerForgot();
      stream.destroy();
      return;
    }
    if (stream.destroyed || far.destroyed) {
      far.destroy();
      stream.destroy();
      return;
    }
    stream.accepted();
    far.on("error", (err) => stream.destroy(err));
    far.on("close", () => {
      // Closed before it ended what it sends: the peer must not wait for an END forever.
      if (!stream.writableEnded) return stream.destroy(new TunnelError("the far end closed", "ECONNRESET"));
      // Nothing reads the stream any more: the peer's END still closes it cleanly; data it sends now
      // (or sent that the far end never took) resets it, as TCP answers data for a closed socket with RST.
      stream.unpipe(far);
      stream.on("data", () => stream.destroy(new TunnelError("the far end closed", "ECONNRESET")));
      stream.resume();
      // Nothing is left to carry once both ENDs are out: the stream goes now (or at the peer's END),
      // not when its readable side happens to be drained (unpiped, it may never be: the stream leaked).
      stream.farClosed();
    });
    stream.on("close", () => {
      if (!stream.endedBothWays) far.destroy();
    });
    far.pipe(stream);
    stream.pipe(far);
  }

  private allocateId(): number {
    // Skips ids still in use once the counter wraps; a free one exists since size < maxStreams.
    for (;;) {
      const id = this.nextId;
      this.nextId = this.nextId + 2 > MAX_ID ? this.firstId : this.nextId + 2;
      if (!this.streams.has(id)) return id;
    }
  }

  private send(type: number, id: number, payload?: Buffer): boolean {
    if (this.closedWith) return false;
    const frame = Buffer.allocUnsafe(FRAME_HEADER + (payload?.length ?? 0));
    frame[0] = type;
    frame.writeUInt32BE(id, 1);
    payload?.copy(frame, FRAME_HEADER);
    try {
      this.transport.send(frame);
      return true;
    } catch (e) {
      this.close(e instanceof Error ? e : new Error(String(e)));
      return false;
    }
  }

  private schedulePoll() {
    if (this.pollTimer || this.closedWith) return;
    this.pollTimer = setTimeout(this.pollTransport, TRANSPORT_POLL_MS);
    this.pollTimer.unref();
  }

  private readonly pollTransport = () => {
    this.pollTimer = null;
    if (this.closedWith) return;
    if (!this.link.transportReady()) return this.schedulePoll();
    // Each waiting stream sends until the transport is full again and then queues behind the others.
    const waiting = [...this.blocked];
    this.blocked.clear();
    for (const stream of waiting) stream.pump();
  };
}

/**
 * One stream of the tunnel, usable where Node expects a socket (http.request's createConnection, an
 * http.Agent, ws's createConnection, a raw pipe). Always listen for 'error', as with a net.Socket: a
 * reset by the peer, a refused open and a closed tunnel arrive as errors (code ECONNRESET / ECONNREFUSED).
 */
export class TunnelStream extends Duplex {
  readonly id: number;
  /** like net.Socket: true until the peer accepted the stream */
  connecting: boolean;
  /** payload bytes received from the peer */
  bytesRead = 0;
  /** payload bytes sent to the peer */
  bytesWritten = 0;
  /** like net.Socket's, set by setTimeout() */
  timeout: number | undefined = undefined;
  // There is no address behind a tunnel stream; the fields exist for code that logs them.
  remoteAddress: string | undefined = undefined;
  remotePort: number | undefined = undefined;
  remoteFamily: string | undefined = undefined;
  localAddress: string | undefined = undefined;
  localPort: number | undefined = undefined;
  readonly encrypted = false;

  private readonly link: MuxLink;
  private sendCredit = 0; // bytes the peer lets this side send before its next WINDOW
  private recvAllowance = 0; // bytes the peer may still send: more is a flow-control violation
  private credited = 0; // consumed bytes already handed back as credit
  private pendingWrite: { data: Buffer; done: (err?: Error | null) => void } | null = null;
  private pendingFinal: ((err?: Error | null) => void) | null = null;
  private farIsClosed = false;
  private sentEnd = false;
  private gotEnd = false;
  private peerGone = false; // the peer has forgotten the stream: it gets no RESET
  private idleTimer: NodeJS.Timeout | null = null;

  /** @internal made by TunnelMux only */
  constructor(link: MuxLink, id: number) {
    // The mux sees what the reader consumed through read(); the window is the only buffer bound.
    super({ allowHalfOpen: true, readableHighWaterMark: link.window, writableHighWaterMark: link.maxFrame });
    this.link = link;
    this.id = id;
    this.connecting = true; // the opener until OPEN_OK, the accepting side until its far end is made
  }

  // --- net.Socket look-alikes, for http, http.Agent and ws

  setTimeout(ms: number, callback?: () => void): this {
    const idleMs = Number.isFinite(ms) && ms > 0 ? ms : 0;
    this.timeout = idleMs;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (callback) {
      if (idleMs) this.once("timeout", callback);
      else this.removeListener("timeout", callback);
    }
    if (idleMs && !this.destroyed) {
      this.idleTimer = setTimeout(() => this.emit("timeout"), idleMs);
      this.idleTimer.unref();
    }
    return this;
  }

  setNoDelay(_noDelay?: boolean): this {
    return this;
  }

  setKeepAlive(_enable?: boolean, _initialDelay?: number): this {
    return this;
  }

  // The WebSocket under the tunnel keeps the process alive, not the stream.
  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  address(): Record<string, never> {
    return {};
  }

  get pending(): boolean {
    return this.connecting;
  }

  get readyState(): "opening" | "open" | "readOnly" | "writeOnly" | "closed" {
    if (this.connecting) return "opening";
    if (this.readable && this.writable) return "open";
    if (this.readable) return "readOnly";
    if (this.writable) return "writeOnly";
    return "closed";
  }

  /** like net.Socket: end, then destroy once everything is sent */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once("finish", () => this.destroy());
  }

  // --- Duplex

  // The write's callback is held until its last byte is sent, so a writer out of credit is paused.
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.pendingWrite = { data: chunk, done };
    this.pump();
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, done: (err?: Error | null) => void): void {
    this.pendingWrite = { data: chunks.length === 1 ? chunks[0].chunk : Buffer.concat(chunks.map((c) => c.chunk)), done };
    this.pump();
  }

  override _final(done: (err?: Error | null) => void): void {
    if (this.connecting) {
      this.pendingFinal = done;
      return;
    }
    this.sendEnd();
    done();
  }

  override _read(): void {
    this.returnCredit();
  }

  // Every consumer reads through here (flowing mode and pipe() too), so this is where credit goes back.
  override read(size?: number): Buffer | string | null {
    const chunk = super.read(size);
    this.returnCredit();
    return chunk;
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.pendingWrite = null;
    this.pendingFinal = null;
    this.connecting = false;
    this.link.forget(this);
    if (!this.peerGone && !this.endedBothWays) this.link.send(FRAME.RESET, this.id, reasonBytes(err?.message ?? ""));
    done(err);
  }

  // --- called by the mux

  /** @internal both sides said END: closing now is clean, not a reset */
  get endedBothWays(): boolean {
    return this.sentEnd && this.gotEnd;
  }

  /** @internal sends what credit and the transport allow; runs again on WINDOW, OPEN_OK and when the transport drains */
  pump(): void {
    const w = this.pendingWrite;
    if (!w) return;
    while (w.data.length > 0) {
      if (this.destroyed || this.connecting || this.sendCredit <= 0) return;
      if (!this.link.transportReady()) {
        this.link.waitForTransport(this);
        return;
      }
      const n = Math.min(w.data.length, this.sendCredit, this.link.maxFrame);
      if (!this.link.send(FRAME.DATA, this.id, w.data.subarray(0, n))) return;
      this.sendCredit -= n;
      this.bytesWritten += n;
      w.data = w.data.subarray(n);
      this.idleTimer?.refresh();
    }
    this.pendingWrite = null;
    w.done();
  }

  /** @internal lets the peer send n more bytes */
  grant(n: number): void {
    this.recvAllowance += n;
    this.link.send(FRAME.WINDOW, this.id, u32(n));
  }

  /** @internal the peer forgot the stream (RESET or OPEN_FAIL received, tunnel closed): nothing more is sent */
  peerForgot(): void {
    this.peerGone = true;
  }

  /** @internal the accepting side's far end is ready */
  accepted(): void {
    this.connecting = false;
    this.link.send(FRAME.OPEN_OK, this.id);
    this.grant(this.link.window);
  }

  /** @internal */
  onOpenOk(): void {
    if (!this.connecting || this.destroyed) return;
    this.connecting = false;
    this.emit("connect");
    this.emit("ready");
    this.pump();
    const final = this.pendingFinal;
    this.pendingFinal = null;
    if (final) this._final(final);
  }

  /** @internal */
  onOpenFail(reason: string): void {
    if (!this.connecting) return;
    this.peerGone = true;
    this.destroy(new TunnelError(reason || "the peer refused the stream", "ECONNREFUSED"));
  }

  /** @internal */
  onData(payload: Buffer): void {
    if (payload.length === 0) return;
    // The peer may only send what this side granted: anything more is dropped, not buffered.
    const violation = this.gotEnd ? "data after end" : payload.length > this.recvAllowance ? "flow-control violation" : null;
    if (violation) {
      this.destroy(new TunnelError(violation, "ERR_TUNNEL_PROTOCOL"));
      return;
    }
    this.recvAllowance -= payload.length;
    this.bytesRead += payload.length;
    this.idleTimer?.refresh();
    this.push(payload);
    this.returnCredit();
  }

  /** @internal */
  onWindow(increment: number): void {
    if (increment === 0) return;
    if (this.sendCredit + increment > MAX_WINDOW) {
      this.destroy(new TunnelError("flow-control window overflow", "ERR_TUNNEL_PROTOCOL"));
      return;
    }
    this.sendCredit += increment;
    this.pump();
  }

  /** @internal */
  onEnd(): void {
    if (this.gotEnd) return;
    this.gotEnd = true;
    this.push(null);
    this.closeIfDone();
  }

  /** @internal the accepting side's far end closed after it ended its output: both ENDs out ends the stream */
  farClosed(): void {
    this.farIsClosed = true;
    this.closeIfDone();
  }

  private closeIfDone() {
    if (this.farIsClosed && this.endedBothWays && !this.destroyed) this.destroy();
  }

  /** @internal */
  onReset(reason: string): void {
    this.peerGone = true;
    this.destroy(new TunnelError(reason || "the stream was reset by the peer", "ECONNRESET"));
  }

  private sendEnd() {
    if (this.sentEnd) return;
    this.sentEnd = true;
    this.link.send(FRAME.END, this.id);
    // (after _final has returned: a stream is not destroyed from inside its own _final)
    process.nextTick(() => this.closeIfDone());
  }

  // Credit goes back for what the reader consumed (received minus still buffered), in batches of at
  // least half a window; a reader that stops reading stops its credit, and so its sender.
  private returnCredit() {
    if (this.gotEnd || this.destroyed) return;
    const owed = this.bytesRead - this.readableLength - this.credited;
    if (owed <= 0 || owed * 2 < this.link.window) return;
    this.credited += owed;
    this.grant(owed);
  }
}

function limit(name: string, value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) throw new RangeError(`tunnel ${name} must be an integer from 1 to ${max}`);
  return value;
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n, 0);
  return b;
}

function reasonBytes(reason: string): Buffer {
  return Buffer.from(reason).subarray(0, MAX_REASON_BYTES);
}

// The peer's words end up in errors and logs: bounded, and without control characters.
function readReason(payload: Buffer): string {
  return payload
    .subarray(0, MAX_REASON_BYTES)
    .toString("utf8")
    .replace(/[\u0000-\u001f\u007f]/g, " ");
}

function parseMeta(payload: Buffer): Record<string, unknown> | null {
  if (payload.length > MAX_META_BYTES) return null;
  try {
    const meta: unknown = JSON.parse(payload.toString("utf8"));
    return meta !== null && typeof meta === "object" && !Array.isArray(meta) ? (meta as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
