// The instance agent: `node agent/src/main.ts <instance dir>` (Node 24 strips the types; the local
// provider starts it detached). It supervises the sandboxed gateway and dials OUT to the control plane
// over an authenticated WebSocket, reconnecting with backoff; commands are executed one at a time in
// the order sent, acknowledged with their result, and remembered by id, so a command delivered again
// (after a reconnect) is answered from the record instead of run twice.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import WebSocket from "ws";
import { type CommandContext, runCommand } from "./commands.ts";
import { AGENT_PATH, AGENT_VERSION, type AckFrame, type AgentStatus, type CommandFrame } from "./protocol.ts";
import { gateProblem } from "./gate-watch.ts";
import { type Launch, Supervisor } from "./supervisor.ts";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node agent/src/main.ts <instance dir>");
  process.exit(2);
}
const log = (msg: string) => process.stdout.write(`${new Date().toISOString()} ${msg}\n`);

// One agent per instance: the pid file is the lock (a stale one, of a dead process, is taken over).
const pidFile = join(dir, "agent.pid");
const held = (() => {
  try {
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    if (pid && pid !== process.pid && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir)) return pid;
  } catch {}
  return 0;
})();
if (held) {
  log(`another agent (pid ${held}) runs this instance; exiting`);
  process.exit(0);
}
writeFileSync(`${pidFile}.tmp`, String(process.pid), { mode: 0o600 });
renameSync(`${pidFile}.tmp`, pidFile);

type AgentConfig = { instanceId: string; url: string; token: string };
let cfg = JSON.parse(readFileSync(join(dir, "agent.json"), "utf8")) as AgentConfig;
const launch = JSON.parse(readFileSync(join(dir, "launch.json"), "utf8")) as Launch & {
  stateDir: string;
  homeDir?: string;
  configPath: string;
  fileUid: number | null;
  fileGid: number | null;
};
const startedAt = Date.now();
const sup = new Supervisor(launch);
sup.onEvent = log;
sup.start();

const stateDir = join(dir, "agent-state");
mkdirSync(stateDir, { recursive: true, mode: 0o700 });
const acksPath = join(stateDir, "acks.json");
const acks = new Map<string, AckFrame>(existsSync(acksPath) ? (JSON.parse(readFileSync(acksPath, "utf8")) as [string, AckFrame][]) : []);
const saveAcks = () => {
  const keep = [...acks].slice(-500);
  writeFileSync(`${acksPath}.tmp`, JSON.stringify(keep), { mode: 0o600 });
  renameSync(`${acksPath}.tmp`, acksPath);
};

let gateFailure: string | null = null;
let readySince: number | null = null;

async function status(): Promise<AgentStatus> {
  return {
    agentPid: process.pid,
    agentRssBytes: process.memoryUsage.rss(),
    agentUptimeSec: Math.round((Date.now() - startedAt) / 1000),
    gatewayPid: sup.pid(),
    gatewayRssBytes: sup.rssBytes(),
    gatewayUptimeSec: sup.uptimeSec(),
    gatewayRestarts: sup.restarts,
    gatewayReady: await sup.ready(),
    gateFailure,
  };
}

// The gate watch (gate-watch.ts): a ready gateway without the gate is stopped, never left running.
setInterval(async () => {
  const startedAt = sup.startedAtMs();
  readySince = startedAt !== null && (await sup.ready()) ? (readySince ?? Date.now()) : null;
  if (startedAt !== null) gateFailure = null;
  const problem = gateProblem({ stateDir: launch.stateDir, configPath: launch.configPath, gatewayStartedAt: startedAt, readySince, now: Date.now() });
  if (!problem) return;
  gateFailure = problem;
  readySince = null;
  log(problem);
  await sup.stop();
}, 5000);
const writeStatus = async () => {
  const s = await status();
  writeFileSync(join(stateDir, "status.json"), JSON.stringify(s), { mode: 0o600 });
  return s;
};

const ctx: CommandContext = {
  stateDir: launch.stateDir,
  homeDir: launch.homeDir,
  configPath: launch.configPath,
  gatewayLog: launch.gatewayLog,
  owner: launch.fileUid !== null && launch.fileGid !== null ? { uid: launch.fileUid, gid: launch.fileGid } : null,
  async restartGateway() {
    await sup.restart();
    return sup.waitReady(90_000);
  },
  gatewayRunning: () => sup.pid() !== null,
  status,
};

// Commands run strictly one after another, in arrival order.
let chain: Promise<void> = Promise.resolve();
function handle(ws: WebSocket, f: CommandFrame) {
  chain = chain.then(async () => {
    let ack = acks.get(f.id);
    if (!ack) {
      try {
        ack = { type: "ack", id: f.id, ok: true, result: await runCommand(ctx, f.kind, f.payload ?? {}) };
      } catch (e) {
        ack = { type: "ack", id: f.id, ok: false, error: (e as Error).message };
      }
      // live readings (and the token, which is not to be copied anywhere) are not remembered
      if (f.kind !== "status" && f.kind !== "read_gateway_token" && f.kind !== "read_gate_audit") {
        acks.set(f.id, ack);
        saveAcks();
      }
      log(`command ${f.kind} ${f.id}: ${ack.ok ? "ok" : `failed: ${ack.error}`}`);
    }
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(ack));
    else pendingAcks.push(ack);
  });
}
// Acks that could not be sent (the connection dropped while the command ran) go out on reconnect.
const pendingAcks: AckFrame[] = [];

let attempt = 0;
let socket: WebSocket | null = null;
let closing = false;
function connect() {
  if (closing) return;
  // Re-read at every attempt: a re-adopting control plane may have moved (new URL in agent.json).
  try {
    cfg = JSON.parse(readFileSync(join(dir, "agent.json"), "utf8")) as AgentConfig;
  } catch {}
  const url = cfg.url.replace(/\/$/, "") + (cfg.url.endsWith(AGENT_PATH) ? "" : AGENT_PATH);
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${cfg.token}` }, handshakeTimeout: 10_000 });
  socket = ws;
  let statusTimer: NodeJS.Timeout | null = null;
  ws.on("open", async () => {
    attempt = 0;
    log(`connected to ${new URL(url).origin}`);
    ws.send(JSON.stringify({ type: "hello", instanceId: cfg.instanceId, version: AGENT_VERSION, status: await status() }));
    while (pendingAcks.length) ws.send(JSON.stringify(pendingAcks.shift()));
    statusTimer = setInterval(async () => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "status", status: await writeStatus() }));
    }, 15_000);
  });
  ws.on("message", (data) => {
    let f: CommandFrame;
    try {
      f = JSON.parse(String(data));
    } catch {
      return;
    }
    if (f.type === "command" && typeof f.id === "string") handle(ws, f);
  });
  ws.on("unexpected-response", (_req, res) => {
    log(`the control plane refused the connection: HTTP ${res.statusCode}`);
    ws.terminate();
  });
  ws.on("error", () => {});
  ws.on("close", () => {
    if (statusTimer) clearInterval(statusTimer);
    if (socket === ws) socket = null;
    if (closing) return;
    // Backoff with jitter: 0.5 s, 1 s, 2 s … capped at 15 s.
    const delay = Math.min(15_000, 500 * 2 ** attempt++) * (0.75 + Math.random() * 0.5);
    setTimeout(connect, delay);
  });
}
connect();

// Readiness changes are reported at once (the control plane marks the instance running without
// waiting for its next health check); polled every 0.5 s while not ready, every 5 s once ready.
let lastReady = false;
async function watchReady() {
  if (closing) return;
  const ready = await sup.ready();
  if (ready !== lastReady) {
    lastReady = ready;
    const s = await writeStatus().catch(() => null);
    if (s && socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "status", status: s }));
  }
  setTimeout(watchReady, ready ? 5000 : 500);
}
void watchReady();
const statusFileTimer = setInterval(() => void writeStatus().catch(() => {}), 15_000);
void writeStatus().catch(() => {});

async function shutdown(sig: string) {
  if (closing) return;
  closing = true;
  log(`${sig}: stopping the gateway`);
  clearInterval(statusFileTimer);
  socket?.close();
  await sup.stop();
  try {
    if (readFileSync(pidFile, "utf8").trim() === String(process.pid)) rmSync(pidFile, { force: true });
  } catch {}
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
closeSync(openSync(join(stateDir, "started"), "w"));
