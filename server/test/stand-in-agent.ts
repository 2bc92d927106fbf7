// The instance agent's side of the tunnel, for tests and benchmarks whose "gateway" is a stand-in on
// 127.0.0.1 (an echo server): every stream the control plane opens becomes a new TCP connection to it.
// `memoryTunnels` joins both ends in this process (the proxy's GatewayTunnels, no WebSocket);
// `connectStandInAgent` dials a running control plane's agent endpoint like the real agent does.
import { connect } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocket } from "ws";
import { AGENT_PATH, AGENT_VERSION, TunnelMux } from "@tropic/agent";
import type { GatewayTunnels } from "../src/proxy/upstream.ts";

/** A connection to 127.0.0.1:port, resolved once connected. */
export function dialLocal(port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: "127.0.0.1" });
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

/** Both ends of a tunnel in this process; streams lead to 127.0.0.1:port. */
export function memoryTunnels(port: number): GatewayTunnels & { close(): void } {
  let controlPlane: TunnelMux | null = null;
  const agent = new TunnelMux(
    { send: (f) => setImmediate(() => controlPlane?.receive(f)), bufferedAmount: () => 0 },
    { accept: () => dialLocal(port) },
  );
  controlPlane = new TunnelMux({ send: (f) => setImmediate(() => agent.receive(f)), bufferedAmount: () => 0 });
  const cp = controlPlane;
  return {
    openStream: () => cp.open({ to: "gateway" }),
    close() {
      cp.close(new Error("closed"));
      agent.close(new Error("closed"));
    },
  };
}

/**
 * A stand-in instance agent connected to a control plane (`base`: http://host:port) with the
 * instance's agent token: it says hello, acknowledges nothing (unless `answer` is given: then every
 * command is acked with what it returns; `undefined` leaves the command unanswered), and serves the tunnel to `port`.
 */
export async function connectStandInAgent(o: {
  base: string;
  token: string;
  instanceId: string;
  port: number;
  /** fields of the hello's status over the defaults (a gateway that is ready) */
  status?: Record<string, unknown>;
  answer?: (kind: string, payload: Record<string, unknown>) => Promise<{ ok: boolean; result?: unknown; error?: string } | undefined>;
}): Promise<{ ws: WebSocket; mux: TunnelMux; close(): void }> {
  const ws = new WebSocket(`${o.base.replace(/^http/, "ws")}${AGENT_PATH}`, { headers: { authorization: `Bearer ${o.token}` } });
  const mux = new TunnelMux(
    { send: (f) => ws.send(f), bufferedAmount: () => ws.bufferedAmount },
    { role: "server", accept: () => dialLocal(o.port) },
  );
  ws.on("message", (data, isBinary) => {
    if (isBinary) return mux.receive(data as Buffer);
    if (!o.answer) return;
    const f = JSON.parse(String(data));
    if (f.type !== "command") return;
    void o.answer(f.kind, f.payload).then((a) => {
      if (a && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ack", id: f.id, ...a }));
    });
  });
  ws.on("close", () => mux.close(new Error("closed")));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
    ws.once("unexpected-response", (_q, res) => reject(new Error(`the control plane refused the stand-in agent: HTTP ${res.statusCode}`)));
  });
  const status = {
    agentPid: process.pid,
    agentRssBytes: 0,
    agentUptimeSec: 0,
    gatewayPid: null,
    gatewayRssBytes: null,
    gatewayUptimeSec: null,
    gatewayRestarts: 0,
    gatewayReady: true,
    ...o.status,
  };
  ws.send(JSON.stringify({ type: "hello", instanceId: o.instanceId, version: AGENT_VERSION, status }));
  return { ws, mux, close: () => ws.close() };
}
