// The instance agent: `node <agent bundle> <instance dir>` (the local provider starts it detached, as
// root). It holds the control plane's token, supervises the sandboxed gateway and dials OUT to the
// control plane over an authenticated WebSocket, reconnecting with backoff; commands are executed one
// at a time in the order sent, acknowledged with their result, and remembered by id, so a command
// delivered again (after a reconnect) is answered from the record instead of run twice.
// It never opens a path the instance can write: every file of the instance and every question to the
// gateway goes to its worker (worker.ts), which runs as the instance's agent user in a sandbox.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer, Server, Socket, connect as tcpConnect } from "node:net";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import WebSocket from "ws";
import { PipeRpc } from "./pipe-rpc.ts";
import { AGENT_GOING_AWAY, AGENT_PATH, AGENT_VERSION, type AckFrame, type AgentStatus, type CommandFrame } from "./protocol.ts";
import { gateProblem } from "./gate-watch.ts";
import {
  Asks,
  answerTokenRequest,
  GOOGLE_TOKEN_PATH,
  newTokenSecret,
  routeLoopback,
  TOKEN_SECRET_ENV,
  TOKEN_URL_ENV,
  TokenCache,
} from "./google-token.ts";
import { TunnelMux } from "./tunnel.ts";
import { type Launch, Supervisor } from "./supervisor.ts";
import { type ServiceRef, ServiceSupervisor, serviceManager } from "./service.ts";

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
  /** how to start the worker (its sandbox, as the agent user) */
  worker: { argv: string[]; env: Record<string, string>; cwd: string };
  /** the part of openclaw.json that decides security, as the control plane wants it */
  desired: Record<string, unknown>;
  /** "worker": the gateway is in the instance's network namespace, reached through the worker; "direct": 127.0.0.1:port */
  dial?: "worker" | "direct";
  port: number;
  /** the network helper to keep running (slirp4netns: the namespace's only way out), or null */
  networkHelper?: string[] | null;
  /** where the gateway finds the control plane's model proxy: 127.0.0.1:modelPort (in its namespace when it has one) */
  modelPort?: number;
  /** host mode (a user's own machine, host/): the gateway is this service of the service manager, not a child */
  service?: ServiceRef;
  /** host mode: the command that removes everything (tropic-host uninstall), run for the `uninstall` command */
  host?: { uninstall: string[] };
};
const startedAt = Date.now();
/** set once a signal asked the agent to stop (nothing is restarted after that) */
let closing = false;
const sup = launch.service ? new ServiceSupervisor(launch, serviceManager(launch.service)) : new Supervisor(launch);
sup.onEvent = log;
// A gateway the control plane stopped (stop_gateway) stays stopped across the agent's restarts.
const stoppedMark = join(dir, "agent-state", "gateway-stopped");
// The gateway starts once the commands the control plane had queued are applied (it says `synced`
// after sending them), so a first start does not meet its config changing under it (OpenClaw then
// refuses to start: "the selected config changed during startup"). Without a control plane (it is
// down: re-adoption) the gateway starts anyway after a few seconds.
let gatewayStarted = false;
let baseWritten: Promise<unknown> = Promise.resolve();
function startGateway() {
  if (gatewayStarted) return;
  gatewayStarted = true;
  if (existsSync(stoppedMark)) {
    log("the gateway stays stopped (the control plane stopped it)");
    return;
  }
  // The security-deciding config is in place before the gateway reads it.
  void baseWritten.finally(() => sup.start());
}
setTimeout(startGateway, 8000);

// ---- The worker: the instance's files, as the instance's agent user, in its own sandbox.
let worker: PipeRpc | null = null;
let workerProc: ChildProcess | null = null;
let workerUp: Promise<PipeRpc> = Promise.resolve(null as unknown as PipeRpc);
function startWorker(): Promise<PipeRpc> {
  const w = launch.worker;
  // fd 3: Node's IPC channel, over which the worker hands over connections to the gateway (dialGateway)
  const p = spawn(w.argv[0]!, w.argv.slice(1), { env: w.env, cwd: w.cwd, stdio: ["pipe", "pipe", "pipe", "ipc"] });
  workerProc = p;
  p.on("message", (m: { t?: string; id?: number; ok?: boolean; e?: string }, handle?: unknown) => {
    if (m?.t === "model-listener") {
      if (m.ok && handle instanceof Server) serveModelCalls(handle);
      else log(`no model proxy listener in the namespace: ${m.e ?? "no socket"}`);
      return;
    }
    if (m?.t !== "dialed" || typeof m.id !== "number") return;
    const d = dials.get(m.id);
    if (!d) {
      (handle as Socket | undefined)?.destroy();
      return;
    }
    dials.delete(m.id);
    if (m.ok && handle instanceof Socket) d.resolve(handle);
    else d.reject(new Error(m.e ?? "the gateway did not accept the connection"));
  });
  p.stderr!.on("data", (d) => process.stdout.write(`[worker] ${d}`));
  const rpc = new PipeRpc(p.stdout!, p.stdin!, {
    restartGateway: () => restartGateway(),
    gatewayReady: () => sup.ready(),
    validateConfig: (x: { path: string }) => validateConfig(x.path),
    openclawAudit: () => openclawAudit(),
    status: () => status(),
  });
  p.stdin!.on("error", () => {});
  p.on("error", (e) => log(`the worker could not start: ${e.message}`));
  p.once("exit", (code, sig) => {
    rpc.close(new Error(`the worker exited (${code ?? sig})`));
    for (const d of dials.values()) d.reject(new Error("the worker exited"));
    dials.clear();
    if (worker === rpc) worker = null;
    if (closing) return;
    log(`the worker exited (${code ?? sig}); starting it again in 1 s`);
    setTimeout(() => {
      workerUp = startWorker();
    }, 1000);
  });
  worker = rpc;
  return Promise.resolve(rpc);
}
// Connections to the gateway. In its own network namespace (the agent is not in it), the worker makes
// them and hands over the socket; without a namespace, 127.0.0.1:port.
const dials = new Map<number, { resolve: (s: Socket) => void; reject: (e: Error) => void }>();
let nextDial = 1;
function dialGateway(): Promise<Duplex> {
  if (launch.dial !== "worker") {
    return new Promise((resolve, reject) => {
      const s = tcpConnect({ port: launch.port, host: "127.0.0.1" });
      s.once("connect", () => resolve(s));
      s.once("error", reject);
    });
  }
  const w = workerProc;
  if (!w?.connected) return Promise.reject(new Error("the worker is not running"));
  const id = nextDial++;
  return new Promise<Socket>((resolve, reject) => {
    const timer = setTimeout(() => {
      dials.delete(id);
      reject(new Error("the gateway did not accept the connection in 5 s"));
    }, 5000);
    dials.set(id, {
      resolve: (s) => {
        clearTimeout(timer);
        resolve(s);
      },
      reject: (e) => {
        clearTimeout(timer);
        reject(e);
      },
    });
    w.send({ t: "dial", id }, (err) => {
      if (err) dials.get(id)?.reject(err);
    });
  });
}
sup.dial = dialGateway;

workerUp = startWorker();

// The gateway's model calls (instances without a Claude key of their own): it dials 127.0.0.1:modelPort;
// each connection becomes a stream through the tunnel to the control plane's model proxy, which holds
// the platform's key (it never comes here). In a namespace the worker makes the listening socket there
// and hands it over; without one the agent listens itself.
// The same listener serves the instance's Google token endpoint (google-token.ts): a connection asking
// `GET /tropic/google-token` is answered here, with the instance's secret checked.
let modelListener: Server | null = null;
function serveModelCalls(server: Server) {
  modelListener?.close();
  modelListener = server;
  server.on("connection", (c: Socket) => {
    c.on("error", () => {});
    routeLoopback(
      c,
      (head) => void answerTokenRequest(c, head, tokenSecret, googleTokens),
      (first) => {
        const mux = currentMux;
        if (!mux) return c.destroy();
        const s = mux.open({ to: "model-proxy" });
        s.on("error", () => c.destroy());
        s.on("close", () => c.destroy());
        c.on("close", () => s.destroy());
        s.write(first);
        c.pipe(s).pipe(c);
        c.resume();
      },
    );
  });
}
// The instance's token-endpoint secret: made once, kept in the agent's own directory (root's), given to
// the gateway in its .env with the endpoint's URL (the model listener's port on the gateway's loopback).
const tokenSecret = (() => {
  const f = join(dir, "agent-state", "google-token-secret");
  try {
    const s = readFileSync(f, "utf8").trim();
    if (/^[0-9a-f]{64}$/.test(s)) return s;
  } catch {}
  mkdirSync(join(dir, "agent-state"), { recursive: true, mode: 0o700 });
  const s = newTokenSecret();
  writeFileSync(`${f}.tmp`, s, { mode: 0o600 });
  renameSync(`${f}.tmp`, f);
  return s;
})();
const asks = new Asks((frame) => {
  if (socket?.readyState !== WebSocket.OPEN) return false;
  socket.send(frame);
  return true;
});
const googleTokens = new TokenCache(() => asks.ask("google_token"));
if (launch.modelPort && launch.dial !== "worker") {
  const server = createServer();
  server.on("error", (e) => log(`no model proxy listener on 127.0.0.1:${launch.modelPort}: ${e.message}`));
  server.listen(launch.modelPort, "127.0.0.1", () => serveModelCalls(server));
}

// The network helper (slirp4netns): the instance namespace's only way out, kept running while the
// agent runs. Its fd 3 is a pipe from here: it exits when this process ends, however that happens.
let netHelper: ChildProcess | null = null;
function startNetworkHelper() {
  const argv = launch.networkHelper;
  if (!argv?.length || closing) return;
  const out = openSync(join(dir, "network.log"), "a", 0o600);
  const p = spawn(argv[0]!, argv.slice(1), {
    stdio: ["ignore", out, out, "pipe"],
    cwd: dir,
    env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
  });
  closeSync(out);
  netHelper = p;
  p.on("error", (e) => log(`the network helper could not start: ${e.message}`));
  p.once("exit", (code, sig) => {
    if (netHelper === p) netHelper = null;
    if (closing) return;
    log(`the network helper exited (${code ?? sig}); starting it again in 1 s`);
    setTimeout(startNetworkHelper, 1000);
  });
}
startNetworkHelper();

/** One request to the worker (waits for a restarting worker). */
async function ask<T = any>(m: string, p: unknown = {}, timeoutMs?: number): Promise<T> {
  const rpc = worker ?? (await workerUp);
  return rpc.call<T>(m, p, timeoutMs);
}
baseWritten = ask("ensureBase", { desired: launch.desired })
  .catch((e) => log(`could not write the gateway's base config: ${(e as Error).message}`))
  .then(() =>
    // The Google token endpoint's URL and secret in the gateway's environment (docs/skills.md).
    launch.modelPort
      ? ask("command", {
          kind: "write_env",
          payload: {
            vars: {
              [TOKEN_URL_ENV]: `http://127.0.0.1:${launch.modelPort}${GOOGLE_TOKEN_PATH}`,
              [TOKEN_SECRET_ENV]: tokenSecret,
            },
          },
          running: sup.pid() !== null,
        }).catch((e) => log(`could not give the gateway the Google token endpoint: ${(e as Error).message}`))
      : undefined,
  );

// What the gateway last said it runs (agents.list) and whether it refuses its config (config.get),
// asked by the worker (it speaks to the gateway; this process does not parse what the gateway says).
let loaded: { agents: string[] | null; issues: string[]; gate?: AgentStatus["gate"] } = { agents: null, issues: [] };
async function askGateway(): Promise<void> {
  if (!(await sup.ready())) {
    loaded = { agents: null, issues: [] };
    return;
  }
  try {
    loaded = await ask("loaded", {}, 30_000);
  } catch {
    loaded = { agents: null, issues: [] };
  }
}

/**
 * OpenClaw's own `config validate`, run the way the gateway runs (in its sandbox, as its user), on a
 * candidate file the worker wrote in the state directory: its issues, or null when the text is valid.
 * This process only names the file to the sandboxed check; it never opens it.
 */
function validateConfig(candidate: string): Promise<string[] | null> {
  const entry = launch.argv.findIndex((a) => a.endsWith("openclaw.mjs"));
  if (entry < 0) return Promise.resolve(null);
  if (!/^\.tropic-candidate-\d+\.json$/.test(candidate.slice(launch.stateDir.length + 1)) || !candidate.startsWith(`${launch.stateDir}/`))
    return Promise.reject(new Error("the config check takes only a candidate file in the state directory"));
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
      reject(new Error(`could not run OpenClaw's config check: ${e.message}`));
    });
    p.on("close", (code) => {
      clearTimeout(timer);
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

/**
 * OpenClaw's own `openclaw security audit --json` (the `audit` command with openclaw: true), run the
 * way the gateway runs (its sandbox, its user, its environment), as the config check above: its output
 * goes to the worker unread (the hardening engine parses it there). It takes 5–22 s and a CLI's memory.
 */
function openclawAudit(): Promise<string> {
  const entry = launch.argv.findIndex((a) => a.endsWith("openclaw.mjs"));
  if (entry < 0) return Promise.reject(new Error("this instance's gateway is not an OpenClaw CLI the agent can run"));
  const argv = [...launch.argv.slice(0, entry + 1), "security", "audit", "--json"];
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0]!, argv.slice(1), {
      env: launch.env,
      cwd: launch.cwd,
      stdio: ["ignore", "pipe", "ignore"],
      ...(launch.uid !== null ? { uid: launch.uid } : {}),
      ...(launch.gid !== null ? { gid: launch.gid } : {}),
    });
    let out = "";
    p.stdout.on("data", (d) => {
      out += d;
      if (out.length > 8_000_000) p.kill("SIGKILL");
    });
    // (documented 5–22 s; the control plane allows a daily audit 120 s in all)
    const timer = setTimeout(() => p.kill("SIGKILL"), 90_000);
    p.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`could not run OpenClaw's security audit: ${e.message}`));
    });
    // (it exits non-zero when it has critical findings: the output is what counts)
    p.on("close", (code, sig) => {
      clearTimeout(timer);
      if (out.includes("{")) resolve(out);
      else reject(new Error(`OpenClaw's security audit printed nothing (${code ?? sig})`));
    });
  });
}

/** What the worker cannot see of the host, for the audit: the isolation the gateway runs in. */
const hostFacts = (() => {
  const vm = existsSync("/etc/tropic/vm.json");
  if (launch.service) {
    const isolation = vm
      ? { kind: "vm" as const, detail: "the instance's own VM" }
      : launch.service.manager === "systemd"
        ? { kind: "systemd" as const, detail: `${launch.service.unit} (its own user)` }
        : { kind: "none" as const, detail: "a launchd daemon under its own user" };
    return { service: true, kind: vm ? ("vm" as const) : ("byo" as const), isolation };
  }
  const bwrap = launch.argv.includes("bwrap");
  return {
    service: false,
    kind: "local" as const,
    isolation: bwrap ? { kind: "bubblewrap" as const, detail: "bubblewrap sandbox, own user and namespaces" } : { kind: "none" as const },
  };
})();

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
/** since when the ready gateway has said the gate is not active (plugins.list), or null */
let gateMissingSince: number | null = null;

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
    gate: ready ? (loaded.gate ?? null) : null,
    gatewayConfigIssues: loaded.issues,
    gateIncidents: incidents,
  };
}

// Incidents the user sees: the gate's config changed by anything but the control plane (restored).
const incidents: { at: string; what: string }[] = [];
// The gate watch (gate-watch.ts): the gate's config is what the control plane wants (restored, with
// an incident, when anything else changed it), and a ready gateway without the gate is stopped.
setInterval(async () => {
  if (closing) return;
  try {
    const r = await ask<{ changed: string[] }>("ensureBase", { desired: launch.desired }, 30_000);
    if (r.changed.length) {
      const what = `the gate's configuration was changed by something other than Tropic (${r.changed.join(", ")}); it was restored`;
      incidents.push({ at: new Date().toISOString(), what });
      incidents.splice(0, incidents.length - 20);
      log(what);
      void report();
    }
  } catch {}
  const startedAt = sup.startedAtMs();
  readySince = startedAt !== null && (await sup.ready()) ? (readySince ?? Date.now()) : null;
  if (startedAt !== null) gateFailure = null;
  // (only while a gateway is ready: there is nothing to ask otherwise)
  if (readySince === null) return;
  const gate = await ask<{ expected: boolean; loaded: boolean | null }>("gateCheck", {}, 30_000).catch(() => ({ expected: true, loaded: null }));
  // Judged on a lasting "not active": a hot reload (the gate's config restored above, a policy edit)
  // briefly unloads and loads the plugin again, and must not stop a gateway.
  gateMissingSince = gate.loaded === false ? (gateMissingSince ?? Date.now()) : null;
  const since = Math.max(readySince, gateMissingSince ?? Date.now());
  const problem = gateProblem({ ...gate, gatewayStartedAt: startedAt, readySince: since, now: Date.now() });
  if (!problem) return;
  gateFailure = problem;
  readySince = null;
  gateMissingSince = null;
  log(problem);
  await sup.stop();
}, 5000);
const writeStatus = async () => {
  const s = await status();
  writeFileSync(join(stateDir, "status.json"), JSON.stringify(s), { mode: 0o600 });
  return s;
};

async function restartGateway(): Promise<boolean> {
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
}

// Commands run strictly one after another, in arrival order.
let chain: Promise<void> = Promise.resolve();
function handle(ws: WebSocket, f: CommandFrame) {
  chain = chain.then(async () => {
    let ack = acks.get(f.id);
    if (!ack) {
      try {
        const result =
          f.kind === "status"
            ? await status()
            : AGENT_COMMANDS.has(f.kind)
              ? await agentCommand(f.kind)
              : await ask("command", { kind: f.kind, payload: f.payload ?? {}, running: sup.pid() !== null, facts: hostFacts });
        ack = { type: "ack", id: f.id, ok: true, result };
      } catch (e) {
        ack = { type: "ack", id: f.id, ok: false, error: (e as Error).message };
      }
      // live readings (and the token, which is not to be copied anywhere) are not remembered; nor are
      // audits (a report is tens of KB; a re-delivered audit runs again, which is harmless)
      if (!UNRECORDED.has(f.kind)) {
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
    if (f.kind === "uninstall" && ack.ok) runUninstall();
  });
}
const UNRECORDED = new Set<string>(["status", "read_gateway_token", "read_gate_audit", "audit", "integrity", "whatsapp_login", "whatsapp_status"]);
// Commands the agent runs itself (the gateway's service, the host), not its worker.
const AGENT_COMMANDS = new Set<string>(["start_gateway", "stop_gateway", "uninstall"]);
async function agentCommand(kind: string): Promise<unknown> {
  if (kind === "start_gateway") {
    rmSync(stoppedMark, { force: true });
    gatewayStarted = true;
    sup.start();
    return { started: true };
  }
  if (kind === "stop_gateway") {
    writeFileSync(stoppedMark, new Date().toISOString(), { mode: 0o600 });
    await sup.stop();
    return { stopped: true };
  }
  // uninstall: acked first (the control plane deletes the instance), then run (see runUninstall)
  if (!launch.host?.uninstall?.length) throw new Error("uninstall is for a user's own machine (tropic-host); this instance is not one");
  return { uninstalling: true };
}
/**
 * tropic-host uninstall, outside this agent: it stops this service (and with it everything the agent
 * started), so on Linux it runs as a transient unit of its own (systemd-run), on macOS detached.
 */
function runUninstall() {
  const argv = launch.host?.uninstall;
  if (!argv?.length) return;
  log("uninstalling this host (the control plane asked)");
  const cmd =
    launch.service?.manager === "systemd"
      ? ["systemd-run", "--unit", `tropic-uninstall-${Date.now()}`, "--collect", "--no-block", "--", ...argv]
      : argv;
  const p = spawn(cmd[0]!, cmd.slice(1), { detached: true, stdio: "ignore", env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" } });
  p.on("error", (e) => log(`could not start the uninstaller: ${e.message}`));
  p.unref();
}
// After these the gateway's roster may differ: it is asked again and the control plane told at once.
const CONFIG_COMMANDS = new Set(["register_agent", "remove_agent", "install_skill", "remove_skill", "set_gate_config", "write_env"]);
// Acks that could not be sent (the connection dropped while the command ran) go out on reconnect.
const pendingAcks: AckFrame[] = [];

let attempt = 0;
let socket: WebSocket | null = null;
/** the tunnel of the open connection to the control plane, or null while there is none */
let currentMux: TunnelMux | null = null;
function connect() {
  if (closing) return;
  // Re-read at every attempt: a re-adopting control plane may have moved (new URL in agent.json).
  try {
    cfg = JSON.parse(readFileSync(join(dir, "agent.json"), "utf8")) as AgentConfig;
  } catch {}
  const url = cfg.url.replace(/\/$/, "") + (cfg.url.endsWith(AGENT_PATH) ? "" : AGENT_PATH);
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${cfg.token}` }, handshakeTimeout: 10_000 });
  socket = ws;
  // The tunnel: the control plane's proxy and health checks open streams here (binary frames), each
  // joined to a new connection to the gateway. Only the gateway: a stream names no destination.
  const mux = new TunnelMux(
    { send: (frame) => ws.send(frame), bufferedAmount: () => ws.bufferedAmount },
    { role: "server", accept: () => dialGateway() },
  );
  let statusTimer: NodeJS.Timeout | null = null;
  ws.on("open", async () => {
    attempt = 0;
    currentMux = mux;
    log(`connected to ${new URL(url).origin}`);
    ws.send(JSON.stringify({ type: "hello", instanceId: cfg.instanceId, version: AGENT_VERSION, status: await status() }));
    while (pendingAcks.length) ws.send(JSON.stringify(pendingAcks.shift()));
    statusTimer = setInterval(async () => {
      await askGateway();
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "status", status: await writeStatus() }));
    }, 15_000);
  });
  ws.on("message", (data, isBinary) => {
    if (isBinary) return mux.receive(data as Buffer);
    let f: CommandFrame;
    try {
      f = JSON.parse(String(data));
    } catch {
      return;
    }
    if (f.type === "command" && typeof f.id === "string") handle(ws, f);
    else if ((f as { type: string }).type === "answer") asks.answer(f as never);
    else if ((f as { type: string }).type === "synced") chain = chain.then(startGateway);
  });
  ws.on("unexpected-response", (_req, res) => {
    log(`the control plane refused the connection: HTTP ${res.statusCode}`);
    ws.terminate();
  });
  ws.on("error", () => {});
  ws.on("close", (code) => {
    if (currentMux === mux) currentMux = null;
    mux.close(new Error("the control plane's connection closed"));
    asks.closeAll();
    if (statusTimer) clearInterval(statusTimer);
    if (socket === ws) socket = null;
    if (closing) return;
    // Backoff with jitter: 0.5 s, 1 s, 2 s … capped at 15 s. A control-plane node going away (its
    // drain) says so: reconnect at once, spread over a second, and the load balancer picks another node.
    const delay = code === AGENT_GOING_AWAY ? Math.random() * 1000 : Math.min(15_000, 500 * 2 ** attempt++) * (0.75 + Math.random() * 0.5);
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
  // On a host the gateway is a service of its own and keeps running; here it is this agent's child.
  if (sup instanceof ServiceSupervisor) sup.detach();
  else await sup.stop();
  workerProc?.kill("SIGTERM");
  netHelper?.kill("SIGTERM");
  try {
    if (readFileSync(pidFile, "utf8").trim() === String(process.pid)) rmSync(pidFile, { force: true });
  } catch {}
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
closeSync(openSync(join(stateDir, "started"), "w"));
