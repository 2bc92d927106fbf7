// Lightweight simulated instance agents for bench/cluster.bench.ts: thousands per process, each a real
// agent connection (the management protocol of agent/src/protocol.ts over the WebSocket at
// /api/v1/agent/connect, the instance's agent token, the tunnel multiplexer) but no gateway: the
// tunnel's streams go to one small HTTP/WebSocket echo server in this process (/readyz answers 200).
// Like the real agent (agent/src/main.ts) each one says hello, reports its status every 15 s, acks
// every command by id (a command delivered again is answered from its record, never applied twice),
// and reconnects after a close: 0.5 s, 1 s, 2 s … capped at 15 s, ±25% jitter; at once (a random
// 0–1 s spread) when the control plane closes with the "going away, reconnect elsewhere" code.
//   node --import tsx bench/cluster-agents.ts <url> <agents.json>   (a child with an IPC channel)
// The parent sends {cmd: "connect"}, {cmd: "report", marker}, {cmd: "close"}; this process answers
// with {type: "progress"|"report"|...}.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocket, WebSocketServer } from "ws";
import { AGENT_GOING_AWAY, AGENT_PATH, AGENT_VERSION, TunnelMux } from "@tropic/agent";
import { dialLocal } from "../server/test/stand-in-agent.ts";

const [url, file] = process.argv.slice(2);
if (!url || !file || !process.send) {
  process.stderr.write("usage: a child of bench/cluster.bench.ts: cluster-agents.ts <url> <agents.json>\n");
  process.exit(2);
}
const send = (m: unknown) => process.send!(m);
const list = JSON.parse(readFileSync(file, "utf8")) as { id: string; token: string }[];

// The stand-in gateway: /readyz → 200 (the health probe), WebSocket → echo (the proxied round trip).
const gateway = createServer((req, res) => res.writeHead(req.url === "/readyz" ? 200 : 404).end("ok"));
const echo = new WebSocketServer({ server: gateway, perMessageDeflate: false });
echo.on("connection", (ws) => ws.on("message", (d, bin) => ws.send(d, { binary: bin })));
await new Promise<void>((r) => gateway.listen(0, "127.0.0.1", () => r()));
const gport = (gateway.address() as AddressInfo).port;

interface Sim {
  id: string;
  token: string;
  ws: WebSocket | null;
  synced: boolean;
  attempt: number;
  /** command id → the answer given (the record a repeat is answered from) */
  done: Map<string, boolean>;
  /** command ids seen again after being applied (delivered twice: answered from the record) */
  repeats: number;
  /** first receipt of each command with a policy marker: marker → epoch ms */
  got: Map<string, number>;
}
const sims: Sim[] = list.map((a) => ({ ...a, ws: null, synced: false, attempt: 0, done: new Map(), repeats: 0, got: new Map() }));
let closing = false;
let applied = 0;

const status = () => ({
  agentPid: process.pid,
  agentRssBytes: 0,
  agentUptimeSec: Math.round(process.uptime()),
  gatewayPid: null,
  gatewayRssBytes: null,
  gatewayUptimeSec: null,
  gatewayRestarts: 0,
  gatewayReady: true,
  gatewayPhase: "ready",
});

function connect(s: Sim) {
  if (closing) return;
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}${AGENT_PATH}`, {
    headers: { authorization: `Bearer ${s.token}` },
    perMessageDeflate: false,
    handshakeTimeout: 30_000,
  });
  s.ws = ws;
  const mux = new TunnelMux({ send: (f) => ws.send(f), bufferedAmount: () => ws.bufferedAmount }, { role: "server", accept: () => dialLocal(gport) });
  let beat: NodeJS.Timeout | null = null;
  ws.on("open", () => {
    s.attempt = 0;
    ws.send(JSON.stringify({ type: "hello", instanceId: s.id, version: AGENT_VERSION, status: status() }));
    // the 15-second status report, at a random phase
    beat = setTimeout(function tick() {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "status", status: status() }));
      beat = setTimeout(tick, 15_000);
    }, Math.random() * 15_000);
  });
  ws.on("message", (data, isBinary) => {
    if (isBinary) return mux.receive(data as Buffer);
    let f: { type: string; id?: string; kind?: string; payload?: Record<string, unknown> };
    try {
      f = JSON.parse(String(data));
    } catch {
      return;
    }
    if (f.type === "synced") s.synced = true;
    if (f.type !== "command" || typeof f.id !== "string") return;
    if (s.done.has(f.id)) s.repeats++;
    else {
      s.done.set(f.id, true);
      applied++;
      const policy = f.payload?.policy;
      const m = typeof policy === "string" ? /marker (\S+)/.exec(policy) : null;
      if (m && !s.got.has(m[1]!)) s.got.set(m[1]!, Date.now());
    }
    ws.send(JSON.stringify({ type: "ack", id: f.id, ok: s.done.get(f.id) }));
  });
  ws.on("unexpected-response", () => ws.terminate());
  ws.on("error", () => {});
  ws.on("close", (code) => {
    mux.close(new Error("closed"));
    if (beat) clearTimeout(beat);
    s.synced = false;
    if (s.ws === ws) s.ws = null;
    if (closing) return;
    // The control plane is going away (a drain): reconnect at once, spread over a second, not backed off.
    const delay = code === AGENT_GOING_AWAY ? Math.random() * 1000 : Math.min(15_000, 500 * 2 ** s.attempt++) * (0.75 + Math.random() * 0.5);
    setTimeout(() => connect(s), delay);
  });
}

const synced = () => sims.filter((s) => s.synced).length;

process.on("message", async (m: { cmd: string; marker?: string; ids?: string[] }) => {
  if (m.cmd === "connect") {
    // ramped: 50 at a time, the next batch once these are open (or failed)
    for (let i = 0; i < sims.length; i += 50) {
      const batch = sims.slice(i, i + 50);
      for (const s of batch) connect(s);
      await new Promise<void>((r) => {
        const t = setInterval(() => {
          if (batch.every((s) => s.synced || !s.ws || s.ws.readyState !== WebSocket.CONNECTING)) {
            clearInterval(t);
            r();
          }
        }, 20);
      });
    }
    send({ type: "connected", synced: synced(), gport });
  } else if (m.cmd === "count") {
    send({ type: "count", synced: synced(), open: sims.filter((s) => s.ws?.readyState === WebSocket.OPEN).length });
  } else if (m.cmd === "report") {
    const times: number[] = [];
    for (const s of sims) {
      const t = s.got.get(m.marker!);
      if (t !== undefined) times.push(t);
    }
    send({ type: "report", times, repeats: sims.reduce((n, s) => n + s.repeats, 0), applied });
  } else if (m.cmd === "close") {
    closing = true;
    for (const s of sims) s.ws?.terminate();
    gateway.close();
    send({ type: "closed" });
    setTimeout(() => process.exit(0), 100);
  }
});
send({ type: "ready", gport });
