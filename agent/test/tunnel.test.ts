// The tunnel (src/tunnel.ts): streams over one transport, both over an in-memory link and a real `ws`
// WebSocket, to real net/http/ws servers on 127.0.0.1. It carries HTTP (a 5 MB body, byte for byte)
// and WebSockets; a reader that never reads stalls only its own stream while the buffers stay within
// one window; a hostile peer's frames are refused without throwing; closing the transport ends every
// stream with its error; half-close and resets behave like TCP's.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { Duplex, Readable } from "node:stream";
import { test } from "node:test";
import WebSocket, { WebSocketServer } from "ws";
import { FRAME, type TunnelOptions, TunnelMux, type TunnelStream } from "../src/tunnel.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const WINDOW = 256 * 1024;

async function until(pred: () => boolean, ms: number, what: string) {
  const t0 = Date.now();
  while (!pred()) {
    assert.ok(Date.now() - t0 < ms, `timed out waiting for ${what}`);
    await sleep(5);
  }
}

// --- the accept side: dials a server on 127.0.0.1, as the agent dials its gateway

type Accept = NonNullable<TunnelOptions["accept"]>;

const dialLocal: Accept = (meta) =>
  new Promise((resolve, reject) => {
    if (typeof meta.port !== "number") return reject(new Error("no port in the stream meta"));
    const socket = net.connect(meta.port, "127.0.0.1");
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });

// --- two muxes joined by a transport: "control" opens, "agent" accepts

interface Pair {
  control: TunnelMux;
  agent: TunnelMux;
  /** bytes sent toward the agent not yet delivered */
  toAgent(): number;
  close(): Promise<void>;
}

function memoryPair(accept: Accept = dialLocal, opts: TunnelOptions = {}, agentOpts: TunnelOptions = {}): Pair {
  const queued = { toAgent: 0, toControl: 0 };
  const link = (key: "toAgent" | "toControl", peer: () => TunnelMux) => ({
    send(frame: Buffer) {
      queued[key] += frame.length;
      setImmediate(() => {
        queued[key] -= frame.length;
        peer().receive(frame);
      });
    },
    bufferedAmount: () => queued[key],
  });
  const control: TunnelMux = new TunnelMux(
    link("toAgent", () => agent),
    opts,
  );
  const agent: TunnelMux = new TunnelMux(
    link("toControl", () => control),
    { ...opts, ...agentOpts, accept },
  );
  return {
    control,
    agent,
    toAgent: () => queued.toAgent,
    async close() {
      control.close();
      agent.close();
    },
  };
}

async function wsPair(accept: Accept = dialLocal, opts: TunnelOptions = {}): Promise<Pair> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await once(wss, "listening");
  const accepted = once(wss, "connection");
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  const [[server]] = (await Promise.all([accepted, once(client, "open")])) as [[WebSocket], unknown];
  // The control plane's end of the agent's WebSocket, and the agent's.
  const control = new TunnelMux({ send: (f) => server.send(f), bufferedAmount: () => server.bufferedAmount }, opts);
  const agent = new TunnelMux({ send: (f) => client.send(f), bufferedAmount: () => client.bufferedAmount }, { ...opts, accept });
  server.on("message", (data, isBinary) => isBinary && control.receive(data));
  client.on("message", (data, isBinary) => isBinary && agent.receive(data));
  server.on("close", () => control.close());
  client.on("close", () => agent.close());
  return {
    control,
    agent,
    toAgent: () => server.bufferedAmount,
    async close() {
      client.terminate();
      await new Promise((r) => wss.close(r));
    },
  };
}

const transports = { memory: async (a?: Accept, o?: TunnelOptions) => memoryPair(a, o), ws: wsPair };

// --- servers on 127.0.0.1

async function listen<T extends net.Server>(server: T): Promise<T & { port: number }> {
  server.listen({ host: "127.0.0.1", port: 0, backlog: 2048 });
  await once(server, "listening");
  return Object.assign(server, { port: (server.address() as AddressInfo).port });
}

const BIG = randomBytes(3 * 1024 * 1024);

function httpServer() {
  return listen(
    http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      if (req.url === "/hello") {
        res.setHeader("x-tunnel", "yes");
        res.setHeader("content-type", "text/plain");
        res.end(`hello ${req.headers["x-who"]}`);
      } else if (req.url === "/big") res.end(BIG);
      else if (req.url === "/hash") res.end(JSON.stringify({ method: req.method, bytes: body.length, sha256: sha256(body) }));
      else if (req.url?.startsWith("/n/")) res.end(`reply ${req.url.slice(3)}`);
      else res.writeHead(404).end();
    }),
  );
}

function echoServer() {
  return listen(net.createServer((socket) => socket.pipe(socket)));
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function request(
  mux: TunnelMux,
  port: number,
  path: string,
  opts: { method?: string; body?: Buffer; headers?: http.OutgoingHttpHeaders; agent?: http.Agent } = {},
) {
  return new Promise<Reply>((resolve, reject) => {
    const req = http.request(
      {
        host: "gateway.invalid",
        path,
        method: opts.method ?? "GET",
        headers: opts.headers,
        ...(opts.agent ? { agent: opts.agent } : { createConnection: () => mux.open({ port }) }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

// An http.Agent that makes its connections through the tunnel, as the proxy's would.
class TunnelAgent extends http.Agent {
  readonly mux: TunnelMux;
  readonly port: number;
  constructor(mux: TunnelMux, port: number) {
    super({ keepAlive: false });
    this.mux = mux;
    this.port = port;
  }
  override createConnection(): Duplex {
    return this.mux.open({ port: this.port });
  }
}

for (const [name, makePair] of Object.entries(transports)) {
  test(`${name}: http through the tunnel: GET, a 3 MB download and a 5 MB POST, byte for byte; through an http.Agent too`, async () => {
    const server = await httpServer();
    const pair = await makePair();
    try {
      const hello = await request(pair.control, server.port, "/hello", { headers: { "x-who": "tunnel" } });
      assert.equal(hello.status, 200);
      assert.equal(hello.headers["x-tunnel"], "yes");
      assert.equal(hello.body.toString(), "hello tunnel");

      const big = await request(pair.control, server.port, "/big");
      assert.equal(big.body.length, BIG.length);
      assert.equal(sha256(big.body), sha256(BIG));

      const upload = randomBytes(5 * 1024 * 1024);
      const posted = await request(pair.control, server.port, "/hash", { method: "POST", body: upload });
      assert.deepEqual(JSON.parse(posted.body.toString()), { method: "POST", bytes: upload.length, sha256: sha256(upload) });

      const agent = new TunnelAgent(pair.control, server.port);
      const viaAgent = await Promise.all([1, 2, 3].map((i) => request(pair.control, 0, `/n/${i}`, { agent })));
      assert.deepEqual(
        viaAgent.map((r) => r.body.toString()),
        ["reply 1", "reply 2", "reply 3"],
      );
      await until(() => pair.control.size === 0 && pair.agent.size === 0, 2000, "every stream to close");
    } finally {
      await pair.close();
      server.close();
    }
  });

  test(`${name}: WebSockets through the tunnel, by ws's createConnection and by a raw Upgrade piped both ways`, async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await once(wss, "listening");
    const wsPort = (wss.address() as AddressInfo).port;
    wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
    // The proxy's way: a client's socket and a tunnel stream piped both ways, the Upgrade just bytes.
    const proxy = await listen(
      net.createServer((clientSocket) => {
        const upstream = pair.control.open({ port: wsPort });
        upstream.on("error", () => clientSocket.destroy());
        clientSocket.on("error", () => upstream.destroy());
        upstream.pipe(clientSocket);
        clientSocket.pipe(upstream);
      }),
    );
    const pair = await makePair();
    const roundTrip = async (ws: WebSocket) => {
      await once(ws, "open");
      const big = randomBytes(1024 * 1024);
      const replies: { data: Buffer; isBinary: boolean }[] = [];
      ws.on("message", (data, isBinary) => replies.push({ data: data as Buffer, isBinary }));
      ws.send("ping");
      ws.send(big);
      await until(() => replies.length === 2, 5000, "the echoes");
      assert.equal(replies[0].data.toString(), "ping");
      assert.equal(replies[0].isBinary, false);
      assert.equal(sha256(replies[1].data), sha256(big));
      ws.close();
      await once(ws, "close");
    };
    try {
      await roundTrip(
        new WebSocket(`ws://gateway.invalid:${wsPort}/`, {
          createConnection: (() => pair.control.open({ port: wsPort })) as unknown as typeof net.createConnection,
        }),
      );
      await roundTrip(new WebSocket(`ws://127.0.0.1:${proxy.port}/`));
      await until(() => pair.control.size === 0 && pair.agent.size === 0, 2000, "every stream to close");
    } finally {
      await pair.close();
      proxy.close();
      wss.close();
    }
  });
}

test("back-pressure: a reader that never reads stalls only its own stream; buffers stay within one window", async () => {
  const TOTAL = 50 * 1024 * 1024;
  const pattern = randomBytes(64 * 1024);
  const sourceHash = createHash("sha256");
  let produced = 0; // by the far end of stream A, toward a reader that does not read
  let sinkReceived = 0; // by the far end of stream S, which never reads after its first write
  const accept: Accept = async (meta) => {
    if (meta.kind === "source")
      return new Duplex({
        read() {
          if (produced >= TOTAL) return void this.push(null);
          const chunk = pattern.subarray(0, Math.min(pattern.length, TOTAL - produced));
          produced += chunk.length;
          sourceHash.update(chunk);
          this.push(chunk);
        },
        write: (_c, _e, done) => done(),
      });
    if (meta.kind === "sink")
      return new Duplex({
        read() {},
        write(chunk: Buffer) {
          sinkReceived += chunk.length; // and never calls back: this far end reads no more
        },
      });
    return dialLocal(meta);
  };
  const echo = await echoServer();
  const pair = await wsPair(accept);
  const b = pair.control.open({ port: echo.port });
  const bReplies: Buffer[] = [];
  b.on("data", (c: Buffer) => bReplies.push(c));
  const roundTrips = async (n: number) => {
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = Date.now();
      const msg = `ping ${i} `;
      const before = Buffer.concat(bReplies).length;
      b.write(msg);
      await until(() => Buffer.concat(bReplies).length >= before + msg.length, 2000, `echo ${i} on stream B`);
      times.push(Date.now() - t0);
    }
    return times;
  };
  try {
    // A: the far end produces 50 MB; nobody reads A here.
    const a = pair.control.open({ kind: "source" });
    a.on("error", assert.fail);
    // S: this side writes 50 MB toward a far end that never reads.
    const s = pair.control.open({ kind: "sink" });
    s.on("error", () => {});
    let written = 0;
    const producer = new Readable({
      read() {
        if (written >= TOTAL) return void this.push(null);
        written += pattern.length;
        this.push(pattern);
      },
    });
    producer.pipe(s);
    await Promise.all([once(a, "connect"), once(s, "connect")]);
    await sleep(400);

    // B still round-trips quickly over the same WebSocket.
    const stalled = await roundTrips(20);
    assert.ok(Math.max(...stalled) < 250, `B's round trips while A and S are stalled: ${stalled.join(", ")} ms`);

    // A: the reader's side holds at most one window; the producer got no further than that plus pipe buffers.
    assert.ok(a.readableLength <= WINDOW, `A buffered ${a.readableLength} bytes`);
    assert.ok(a.bytesRead <= WINDOW, `A received ${a.bytesRead} bytes`);
    assert.ok(produced <= WINDOW + 512 * 1024, `A's far end produced ${produced} bytes`);
    // S: what this side sent and the far end did not take is within one window.
    assert.ok(s.bytesWritten - sinkReceived <= WINDOW + 64 * 1024, `S in flight: ${s.bytesWritten - sinkReceived} bytes`);
    assert.ok(written <= s.bytesWritten + 512 * 1024, `S's producer got ${written} bytes in`);
    assert.ok(pair.toAgent() < 1024 * 1024, "the WebSocket's buffer did not grow");

    // Now A reads all 50 MB, while B keeps round-tripping beside it.
    const readerHash = createHash("sha256");
    let got = 0;
    a.on("data", (c: Buffer) => {
      got += c.length;
      readerHash.update(c);
    });
    const t0 = Date.now();
    const [busy] = await Promise.all([roundTrips(10), once(a, "end")]);
    assert.equal(got, TOTAL);
    assert.equal(readerHash.digest("hex"), sourceHash.digest("hex"));
    assert.ok(Math.max(...busy) < 500, `B's round trips while A streams: ${busy.join(", ")} ms`);
    assert.ok(Date.now() - t0 < 8000, `50 MB took ${Date.now() - t0} ms`);
    s.destroy();
    a.end();
    b.end();
    await until(() => pair.agent.size === 0 && pair.control.size === 0, 2000, "every stream to close");
  } finally {
    await pair.close();
    echo.close();
  }
});

test("a full transport holds stream data but not the small frames (WINDOW) it must still send", async () => {
  let buffered = 10 * 1024 * 1024;
  const sent: Buffer[] = [];
  const mux = new TunnelMux({ send: (f) => sent.push(f), bufferedAmount: () => buffered });
  const s = mux.open({});
  mux.receive(frame(FRAME.OPEN_OK, s.id));
  mux.receive(frame(FRAME.WINDOW, s.id, u32(WINDOW)));
  assert.equal(s.connecting, false);
  s.write(Buffer.alloc(1000, 1));
  const dataFrames = () => sent.filter((f) => f[0] === FRAME.DATA);
  await sleep(30);
  assert.equal(dataFrames().length, 0, "no DATA while the transport is over its high water");
  mux.receive(frame(FRAME.DATA, s.id, Buffer.alloc(WINDOW)));
  s.read();
  assert.ok(
    sent.some((f) => f[0] === FRAME.WINDOW && f.readUInt32BE(5) === WINDOW),
    "credit goes back at once",
  );
  buffered = 0;
  await until(() => dataFrames().length === 1, 1000, "the held DATA");
  assert.equal(dataFrames()[0].length, 5 + 1000);
  s.destroy();
});

// --- a hostile peer: hand-made frames

function frame(type: number, id: number, payload: Buffer = Buffer.alloc(0)) {
  const header = Buffer.alloc(5);
  header[0] = type;
  header.writeUInt32BE(id, 1);
  return Buffer.concat([header, payload]);
}

function u32(n: number) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** a mux whose peer is this test: frames it sends are collected */
function rawMux(opts: TunnelOptions = {}) {
  const sent: Buffer[] = [];
  const mux = new TunnelMux({ send: (f) => sent.push(f), bufferedAmount: () => 0 }, opts);
  const framesFor = (id: number, type?: number) => sent.filter((f) => f.readUInt32BE(1) === id && (type === undefined || f[0] === type));
  const reason = (f: Buffer) => f.subarray(5).toString();
  return { mux, sent, framesFor, reason };
}

test("hostile peer: DATA beyond the granted window resets the stream and is dropped", async () => {
  const received: Buffer[] = [];
  const far = new Duplex({
    read() {},
    write(chunk: Buffer, _e, done) {
      received.push(chunk);
      done();
    },
  });
  const { mux, framesFor, reason } = rawMux({ accept: async () => far, window: 1024 });
  mux.receive(frame(FRAME.OPEN, 1, Buffer.from(JSON.stringify({ port: 1 }))));
  await until(() => framesFor(1, FRAME.OPEN_OK).length === 1, 1000, "OPEN_OK");
  assert.equal(framesFor(1, FRAME.WINDOW)[0].readUInt32BE(5), 1024, "the initial grant is the window");
  mux.receive(frame(FRAME.DATA, 1, Buffer.alloc(1024, 7))); // exactly the window: fine
  await until(() => received.length === 1, 1000, "the first 1024 bytes at the far end");
  assert.equal(framesFor(1, FRAME.WINDOW).length, 2, "consumed, so credited again");
  mux.receive(frame(FRAME.DATA, 1, Buffer.alloc(1025, 8))); // one byte over
  const [reset] = framesFor(1, FRAME.RESET);
  assert.equal(reason(reset), "flow-control violation");
  await until(() => far.destroyed, 1000, "the far end to be destroyed");
  assert.equal(received.length, 1, "the excess data never reached the far end");
  assert.equal(mux.size, 0);
});

test("hostile peer: the opener's side too refuses DATA beyond its window and WINDOW overflow", async () => {
  const { mux, framesFor, reason } = rawMux({ window: 4096 });
  const a = mux.open({});
  const aError = once(a, "error");
  mux.receive(frame(FRAME.OPEN_OK, a.id));
  mux.receive(frame(FRAME.DATA, a.id, Buffer.alloc(4097)));
  const [err] = (await aError) as [NodeJS.ErrnoException];
  assert.equal(err.message, "flow-control violation");
  assert.equal(err.code, "ERR_TUNNEL_PROTOCOL");
  assert.equal(reason(framesFor(a.id, FRAME.RESET)[0]), "flow-control violation");
  assert.equal(a.readableLength, 0, "nothing was buffered");

  const b = mux.open({});
  b.on("error", () => {});
  mux.receive(frame(FRAME.OPEN_OK, b.id));
  mux.receive(frame(FRAME.WINDOW, b.id, u32(1000)));
  mux.receive(frame(FRAME.WINDOW, b.id, u32(2 ** 31 - 1)));
  assert.equal(reason(framesFor(b.id, FRAME.RESET)[0]), "flow-control window overflow");
  assert.equal(b.destroyed, true);
  assert.equal(mux.size, 0);
});

test("hostile peer: garbage never throws; bad OPENs are refused; a reused id is ignored", async () => {
  let accepts = 0;
  const { mux, sent, framesFor, reason } = rawMux({
    accept: async () => {
      accepts++;
      return new Duplex({ read() {}, write: (_c, _e, done) => done() });
    },
  });
  const junk = [
    Buffer.alloc(0),
    Buffer.from([FRAME.DATA]),
    Buffer.from([FRAME.WINDOW, 0, 0, 0]),
    frame(99, 1, Buffer.from("what")),
    frame(FRAME.WINDOW, 1, Buffer.from([1, 2])),
    frame(FRAME.OPEN_OK, 7),
    frame(FRAME.OPEN_FAIL, 7, Buffer.from("no")),
    frame(FRAME.END, 7),
    frame(FRAME.RESET, 7),
    frame(FRAME.OPEN, 0, Buffer.from("{}")),
  ];
  for (const f of junk) mux.receive(f);
  for (let i = 0; i < 5000; i++) mux.receive(randomBytes(Math.floor(Math.random() * 48)));
  mux.receive(frame(FRAME.DATA, 9, Buffer.from("for nobody")));
  assert.equal(reason(framesFor(9, FRAME.RESET)[0]), "unknown stream");

  const bad: [number, Buffer][] = [
    [101, Buffer.from("not json")],
    [103, Buffer.from("[1,2]")],
    [105, Buffer.from("null")],
    [107, Buffer.from(JSON.stringify({ pad: "x".repeat(5000) }))],
  ];
  for (const [id, meta] of bad) mux.receive(frame(FRAME.OPEN, id, meta));
  for (const [id] of bad) assert.equal(reason(framesFor(id, FRAME.OPEN_FAIL)[0]), "bad stream meta");
  mux.receive(frame(FRAME.OPEN, 200, Buffer.from("{}"))); // even: this side's own ids
  assert.match(reason(framesFor(200, FRAME.OPEN_FAIL)[0]), /parity/);

  const before = accepts;
  mux.receive(frame(FRAME.OPEN, 301, Buffer.from("{}")));
  await until(() => framesFor(301, FRAME.OPEN_OK).length === 1, 1000, "the good OPEN to be accepted");
  mux.receive(frame(FRAME.OPEN, 301, Buffer.from("{}")));
  await sleep(20);
  assert.equal(accepts, before + 1, "a reused id opens nothing");
  assert.equal(framesFor(301, FRAME.OPEN_OK).length, 1);
  assert.ok(
    sent.every((f) => f.length >= 5 && f[0] >= FRAME.OPEN && f[0] <= FRAME.RESET),
    "only well-formed frames went out",
  );
  mux.close();
});

test("OPEN toward a side without accept is refused, and the opener's stream errors; accept's rejection reaches the opener", async () => {
  const { mux, framesFor, reason } = rawMux();
  mux.receive(frame(FRAME.OPEN, 2, Buffer.from("{}")));
  assert.equal(reason(framesFor(2, FRAME.OPEN_FAIL)[0]), "this side accepts no streams");

  const pair = memoryPair(async (meta) => {
    if (meta.kind === "refuse") throw new Error("no gateway here");
    return dialLocal(meta);
  });
  try {
    // The agent may not open anything into the control plane.
    const reverse = pair.agent.open({ port: 80 });
    const [err] = (await once(reverse, "error")) as [NodeJS.ErrnoException];
    assert.equal(err.message, "this side accepts no streams");
    assert.equal(err.code, "ECONNREFUSED");

    const refused = pair.control.open({ kind: "refuse" });
    assert.equal(refused.connecting, true);
    const [err2] = (await once(refused, "error")) as [Error];
    assert.equal(err2.message, "no gateway here");

    const gone = await echoServer();
    gone.close();
    await once(gone, "close");
    const noServer = pair.control.open({ port: gone.port });
    const [err3] = (await once(noServer, "error")) as [Error];
    assert.match(err3.message, /ECONNREFUSED/, "the dial's own error is the reason");
    await until(() => pair.control.size === 0 && pair.agent.size === 0, 1000, "nothing left open");
  } finally {
    await pair.close();
  }
});

test("maxStreams is enforced on accept", async () => {
  const echo = await echoServer();
  const pair = memoryPair(dialLocal, {}, { maxStreams: 2 });
  try {
    const ok = [pair.control.open({ port: echo.port }), pair.control.open({ port: echo.port })];
    await Promise.all(ok.map((s) => once(s, "connect")));
    const third = pair.control.open({ port: echo.port });
    const [err] = (await once(third, "error")) as [NodeJS.ErrnoException];
    assert.equal(err.message, "too many streams");
    assert.equal(err.code, "ECONNREFUSED");
    // A stream ended frees its place.
    ok[0].destroy();
    await until(() => pair.agent.size === 1, 1000, "the agent to forget the first stream");
    const fourth = pair.control.open({ port: echo.port });
    await once(fourth, "connect");
    fourth.destroy();
    ok[1].destroy();
  } finally {
    await pair.close();
    echo.close();
  }
});

test("1000 concurrent streams each make a request and all complete; close(err) then destroys every open stream with err", async () => {
  const server = await httpServer();
  const echo = await echoServer();
  const pair = await wsPair();
  try {
    const replies = await Promise.all(Array.from({ length: 1000 }, (_, i) => request(pair.control, server.port, `/n/${i}`)));
    replies.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), `reply ${i}`);
    });
    await until(() => pair.control.size === 0 && pair.agent.size === 0, 5000, "all 1000 streams to close");

    const open = Array.from({ length: 50 }, () => pair.control.open({ port: echo.port }));
    await Promise.all(open.map((s) => once(s, "connect")));
    assert.equal(pair.control.size, 50);
    const errors: Error[] = [];
    for (const s of open) s.on("error", (e) => errors.push(e));
    const closed = Promise.all(open.map((s) => new Promise((r) => s.on("close", r))));
    const gone = new Error("the agent's WebSocket closed");
    pair.control.close(gone);
    await closed;
    assert.equal(errors.length, 50);
    assert.ok(errors.every((e) => e === gone));
    assert.equal(pair.control.size, 0);
    // A stream opened after close fails the same way.
    const late = pair.control.open({ port: echo.port });
    assert.equal((await once(late, "error"))[0], gone);
  } finally {
    await pair.close();
    server.close();
    echo.close();
  }
});

test("half-close: end() ends the other side's reading while it can still write back", async () => {
  const server = await listen(
    net.createServer({ allowHalfOpen: true }, (socket) => {
      const chunks: Buffer[] = [];
      socket.on("data", (c) => chunks.push(c));
      socket.on("end", () => socket.end(`got: ${Buffer.concat(chunks)}`));
    }),
  );
  const pair = memoryPair();
  try {
    const s = pair.control.open({ port: server.port });
    let errored = false;
    s.on("error", () => {
      errored = true;
    });
    const closed = new Promise((r) => s.on("close", r));
    s.end("hello"); // written and ended before the stream is even accepted
    const chunks: Buffer[] = [];
    s.on("data", (c: Buffer) => chunks.push(c));
    await once(s, "end");
    assert.equal(Buffer.concat(chunks).toString(), "got: hello");
    await closed;
    assert.equal(errored, false, "a clean end both ways is no error");
    await until(() => pair.agent.size === 0 && pair.control.size === 0, 1000, "both sides to forget the stream");
  } finally {
    await pair.close();
    server.close();
  }
});

test("destroy() on either side resets the stream on the other; a clean end does not", async () => {
  const fars: Duplex[] = [];
  const pair = memoryPair(async () => {
    const far = new Duplex({ read() {}, write: (_c, _e, done) => done() });
    far.on("error", () => {});
    fars.push(far);
    return far;
  });
  try {
    // The opener destroys: the far end is destroyed, the accepting side forgets the stream.
    const a = pair.control.open({});
    await once(a, "connect");
    a.destroy();
    await once(fars[0], "close");
    await until(() => pair.agent.size === 0 && pair.control.size === 0, 1000, "stream A forgotten");

    // The far end fails: the opener gets its reason as an ECONNRESET error, then 'close'.
    const b = pair.control.open({});
    await once(b, "connect");
    const bClosed = new Promise((r) => b.on("close", r));
    fars[1].destroy(new Error("gateway went away"));
    const [err] = (await once(b, "error")) as [NodeJS.ErrnoException];
    assert.equal(err.message, "gateway went away");
    assert.equal(err.code, "ECONNRESET");
    await bClosed;
    assert.equal(b.destroyed, true);

    // The far end ends cleanly, the opener too: both close without an error.
    const c = pair.control.open({});
    let cErrored = false;
    c.on("error", () => {
      cErrored = true;
    });
    await once(c, "connect");
    fars[2].push("bye");
    fars[2].push(null);
    const got: Buffer[] = [];
    c.on("data", (d: Buffer) => got.push(d));
    await once(c, "end");
    assert.equal(Buffer.concat(got).toString(), "bye");
    c.end("and bye");
    await once(c, "close");
    assert.equal(cErrored, false);
    await until(() => pair.agent.size === 0 && pair.control.size === 0, 1000, "stream C forgotten");
  } finally {
    await pair.close();
  }
});

test("socket look-alike: connecting until accepted, setTimeout emits 'timeout' when idle, the rest is harmless", async () => {
  const echo = await echoServer();
  const pair = memoryPair();
  try {
    const s: TunnelStream = pair.control.open({ port: echo.port });
    assert.equal(s.connecting, true);
    assert.equal(s.readyState, "opening");
    assert.equal(s.setNoDelay(true).setKeepAlive(true, 1000).ref().unref(), s);
    assert.equal(s.encrypted, false);
    await once(s, "connect");
    assert.equal(s.connecting, false);
    assert.equal(s.readyState, "open");

    let timeouts = 0;
    s.setTimeout(60, () => timeouts++);
    assert.equal(s.timeout, 60);
    // Activity (an echo every 20 ms) keeps it from timing out.
    s.on("data", () => {});
    for (let i = 0; i < 6; i++) {
      s.write("x");
      await sleep(20);
    }
    assert.equal(timeouts, 0);
    await once(s, "timeout");
    assert.equal(timeouts, 1);
    s.setTimeout(0);
    assert.equal(s.timeout, 0);
    s.destroy();
  } finally {
    await pair.close();
    echo.close();
  }
});

test("a far end that answers and closes before the opener ends: the stream is gone on both sides once both ENDs are out (no leak)", async () => {
  // The server answers each request and closes its socket at once (an HTTP server with
  // `connection: close`); the opener ends its side only after it has read the answer.
  const server = await listen(
    net.createServer((s) => {
      s.once("data", () => s.end("answer"));
      s.on("error", () => {});
    }),
  );
  for (const make of [() => Promise.resolve(memoryPair()), () => wsPair()]) {
    const pair = await make();
    const rounds = 300;
    await Promise.all(
      Array.from({ length: rounds }, async () => {
        const stream = pair.control.open({ port: server.port });
        stream.on("error", () => {});
        stream.write("question");
        let got = "";
        for await (const chunk of stream) got += chunk;
        assert.equal(got, "answer");
        stream.end();
      }),
    );
    await until(
      () => pair.agent.size === 0 && pair.control.size === 0,
      5000,
      `both sides forget all ${rounds} streams (agent: ${pair.agent.size}, control: ${pair.control.size})`,
    );
    await pair.close();
  }
  server.close();
});
