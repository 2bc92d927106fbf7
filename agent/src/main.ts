// The instance agent: `node agent/src/main.ts <instance dir>` (Node 24 strips the types; the local
// provider starts it detached). It supervises the sandboxed gateway and dials OUT to the control plane
// over an authenticated WebSocket, reconnecting with backoff; commands are executed one at a time in
// the order sent, acknowledged with their result, and remembered by id, so a command delivered again
// (after a reconnect) is answered from the record instead of run twice.
import { spawn } from "node:child_process";
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import WebSocket from "ws";
import { type CommandContext, readConfig, runCommand } from "./commands.ts";
import { type GatewayAddress, loadedState } from "./gateway-rpc.ts";
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

type AgentConfig = { instanceId: string; url: string; token: string; gatewayToken?: string };
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
// The gateway starts once the commands the control plane had queued are applied (it says `synced`
// after sending them), so a first start does not meet its config changing under it (OpenClaw then
// refuses to start: "the selected config changed during startup"). Without a control plane (it is
// down: re-adoption) the gateway starts anyway after a few seconds.
let gatewayStarted = false;
function startGateway() {
  if (gatewayStarted) return;
  gatewayStarted = true;
  sup.start();
}
setTimeout(startGateway, 8000);

// The gateway's RPC address: its loopback port and the token the control plane gave this agent (not
// read from openclaw.json, which the gateway's user can write; older agent.json files fall back to it).
const gateway: GatewayAddress = {
  url: launch.readyUrl.replace(/^http:/, "ws:").replace(/\/readyz$/, ""),
  token: cfg.gatewayToken ?? String(readConfig({ configPath: launch.configPath } as CommandContext).gateway?.auth?.token ?? ""),
};
// What the gateway last said it runs (agents.list) and whether it refuses its config (config.get).
let loaded: { agents: string[] | null; issues: string[] } = { agents: null, issues: [] };
async function askGateway(): Promise<void> {
  if (!(await sup.ready())) {
    loaded = { agents: null, issues: [] };
    return;
  }
  try {
    const s = await loadedState(gateway);
    loaded = { agents: s.agents, issues: s.config.valid ? [] : s.config.issues };
  } catch {
    loaded = { agents: null, issues: [] };
  }
}

/**
 * OpenClaw's own `config validate`, run the way the gateway runs (in its sandbox, as its user), on a
 * candidate file in the state directory: its issues, or null when the text is valid.
 */
function validateConfig(text: string): Promise<string[] | null> {
  const entry = launch.argv.findIndex((a) => a.endsWith("openclaw.mjs"));
  if (entry < 0) return Promise.resolve(null);
  const candidate = join(launch.stateDir, `.tropic-candidate-${process.pid}.json`);
  rmSync(candidate, { force: true });
  writeFileSync(candidate, text, { mode: 0o600, flag: "wx" });
  if (launch.fileUid !== null && launch.fileGid !== null) chownSync(candidate, launch.fileUid, launch.fileGid);
  const argv = [...launch.argv.slice(0, entry + 1), "config", "validate", "--json"];
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0]!, argv.slice(1), {
      env: { ...launch.env, OPENCLAW_CONFIG_PATH: candidate },
      cwd: launch.cwd,
      stdio: ["ignore", "pipe", "pipe"],
      ...(launch.uid !== null ? { uid: launch.uid } : {}),
      ...(launch.gid !== null ? { gid: launch.gid } : {}),
    });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => {
      out += d;
      if (out.length > 1_000_000) p.kill();
    });
    p.stderr.on("data", (d) => {
      err = (err + d).slice(-4000);
    });
    const timer = setTimeout(() => p.kill("SIGKILL"), 60_000);
    p.on("error", (e) => {
      clearTimeout(timer);
      rmSync(candidate, { force: true });
      reject(new Error(`could not run OpenClaw's config check: ${e.message}`));
    });
    p.on("close", (code) => {
      clearTimeout(timer);
      rmSync(candidate, { force: true });
      let r: { valid?: boolean; issues?: { path?: string; message?: string }[]; error?: { message?: string } } | null = null;
      try {
        r = JSON.parse(out.slice(out.indexOf("{")));
      } catch {}
      if (r?.valid === true) return resolve(null);
      if (r && Array.isArray(r.issues) && r.issues.length)
        return resolve(r.issues.map((i) => `${i.path ?? ""}: ${i.message ?? ""}`.replace(/^: /, "")));
      // The check itself did not work (no answer we understand): fail closed, with what it printed.
      reject(new Error(`OpenClaw's config check failed (exit ${code}): ${(r?.error?.message ?? `${out}${err}`).trim().slice(-500)}`));
    });
  });
}

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
  const ready = await sup.ready();
  const gatewayStartedAt = sup.startedAtMs();
  return {
    agentPid: process.pid,
    agentRssBytes: process.memoryUsage.rss(),
    agentUptimeSec: Math.round((Date.now() - startedAt) / 1000),
    gatewayPid: sup.pid(),
    gatewayRssBytes: sup.rssBytes(),
    gatewayUptimeSec: sup.uptimeSec(),
    gatewayRestarts: sup.restarts,
    gatewayReady: ready,
    gateFailure,
    gatewayPhase: gateFailure ? "failed" : sup.phase(ready),
    gatewayLastError: gateFailure ?? sup.lastError,
    gatewayStartedAt: gatewayStartedAt ? new Date(gatewayStartedAt).toISOString() : null,
    gatewayAgents: ready ? loaded.agents : null,
    gatewayConfigIssues: loaded.issues,
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
    // The control plane shows `restarting` (not a crash) until the gateway answers again.
    const restarting = sup.restart();
    void report();
    await restarting;
    try {
      return await sup.waitReady(90_000);
    } finally {
      sup.restartDone();
      await askGateway();
      void report();
    }
  },
  gatewayRunning: () => sup.pid() !== null,
  status,
  gateway,
  gatewayReady: () => sup.ready(),
  validateConfig,
  gatewayTrouble: () => {
    const phase = sup.phase(false);
    return sup.lastError ? `${phase}: ${sup.lastError}` : phase;
  },
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
      if (CONFIG_COMMANDS.has(f.kind)) {
        await askGateway();
        void report();
      }
    }
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(ack));
    else pendingAcks.push(ack);
  });
}
// After these the gateway's roster may differ: it is asked again and the control plane told at once.
const CONFIG_COMMANDS = new Set(["register_agent", "remove_agent", "install_skill", "remove_skill", "set_gate_config", "write_env"]);
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
      await askGateway();
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
    else if ((f as { type: string }).type === "synced") chain = chain.then(startGateway);
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

/** Sends the status now (a phase changed), besides the 15-second beat. */
async function report() {
  const s = await writeStatus().catch(() => null);
  if (s && socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "status", status: s }));
}

// Readiness and phase changes (ready, crash-looping, failed…) are reported at once (the control plane
// marks the instance running without waiting for its next health check); polled every 0.5 s while not
// ready, every 5 s once ready.
let lastSeen = "";
async function watchReady() {
  if (closing) return;
  const ready = await sup.ready();
  const seen = `${ready}:${sup.phase(ready)}:${sup.restarts}`;
  if (seen !== lastSeen) {
    lastSeen = seen;
    if (ready) await askGateway();
    await report();
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
