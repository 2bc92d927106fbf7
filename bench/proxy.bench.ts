// Issue 6's gateway-proxy figures, and issue 13's tunnel against today's direct path, measured
// against a real `tropic serve` subprocess (PostgreSQL, TROPIC_INSTANCES=off) with two instances of one
// user whose gateway is the same local echo backend (its own process):
//   - "direct": provider aws, addresses.private = the backend: the proxy dials it over TCP (with the
//     Referer a cloud VM's nginx wants), today's direct path;
//   - "tunnel": provider local, addresses.gateway = the backend: the proxy opens a stream over the
//     WebSocket of a stand-in instance agent (bench/tunnel-agent.ts, its own process, so its CPU is
//     measured apart), which joins each stream to a new connection to the backend (HTTP rides kept-alive streams).
//   a. 1,000 concurrent WebSocket sessions, one small message per session about once a second,
//      directly to the backend and through the proxy on each path (/i/<id>/, `tropic_proxy` cookie
//      like a browser): dropped connections, echo round-trip p50/p90/p99, the latency the proxy adds
//      over the backend and the tunnel adds over the direct path, and the proxy's RSS per 1,000 open
//      sessions (VmRSS of the `tropic serve` process);
//   b. HTTP GET requests/s and latency with autocannon: backend directly, through the proxy (direct
//      path: cookie and Bearer token; tunnel: cookie), and through Debian's nginx (1 worker) as the
//      reference proxy.
// Prints tables, then one JSON line (the last line of stdout) for scripts.
//
// The machine is small (2 cores) and shared by everything here: the load generator (this process),
// the proxy, the stand-in agent, the echo backend, nginx and PostgreSQL. Each phase reports the
// machine's busy share and each process's CPU, so a saturated CPU (rather than the proxy) is visible.
//   TROPIC_BENCH_WS_SESSIONS (1000), TROPIC_BENCH_WS_SECONDS (60), TROPIC_BENCH_WS_DIRECT_SECONDS (20),
//   TROPIC_BENCH_HTTP_SECONDS (10) override the sizes.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { WebSocket } from "ws";
import { sealJson } from "../server/src/instances/tokens.ts";
import { sha256Hex } from "../server/src/lib/tokens.ts";
import { LocalKek } from "../server/src/secrets/envelope.ts";
import {
  freePort,
  freshPgDatabase,
  machineBusyPercent,
  PG_ADMIN_URL,
  pgReachable,
  processCpuMs,
  ROOT,
  type ServeProcess,
  sleep,
  startServe,
  table,
  waitForQuiet,
  withOthersCpu,
  autocannon,
} from "./lib.ts";

const envInt = (name: string, dflt: number) => {
  const n = Number(process.env[name]);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : dflt;
};

const SESSIONS = envInt("TROPIC_BENCH_WS_SESSIONS", 1000);
const RAMP_BATCH = 50;
const RAMP_DEADLINE_MS = 60_000;
const WS_PROXY_S = envInt("TROPIC_BENCH_WS_SECONDS", 60);
const WS_DIRECT_S = envInt("TROPIC_BENCH_WS_DIRECT_SECONDS", 20);
/** Mean gap between a session's messages; each gap is drawn uniformly from 0.5× to 1.5× of it. */
const MSG_INTERVAL_MS = 1000;
const HTTP_CONNECTIONS = 50;
const HTTP_S = envInt("TROPIC_BENCH_HTTP_SECONDS", 10);
const HTTP_WARMUP_S = 2;
const ADDED_P50_TARGET_MS = 1;
const MASTER_KEY_HEX = "0123456789abcdef".repeat(4); // 64 hex characters, fixed
const GATEWAY_TOKEN = "5eed".repeat(12); // 48 hex characters, like a real gateway token
const WATCHDOG_MS = 9 * 60_000;
const SERVE_STOP_GRACE_MS = 10_000;
/** Before each phase, wait (up to QUIET_WAIT_MS) for the machine to be at most QUIET_PERCENT busy. */
const QUIET_PERCENT = 15;
const QUIET_WAIT_MS = 10_000;
/** Above this share of all CPUs taken by processes that are not part of the benchmark, a figure is flagged as disturbed. */
const DISTURBED_PERCENT = 10;
const disturbed = (r: { othersCpuPercent: number | undefined } | undefined) =>
  r?.othersCpuPercent !== undefined && r.othersCpuPercent > DISTURBED_PERCENT;

const log = (s = "") => process.stdout.write(`${s}\n`);
const fmtMs = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? "—" : `${n.toFixed(n < 10 ? 3 : 1)} ms`);
const pct = (n: number | undefined) => (n === undefined ? "?" : `${n.toFixed(0)}%`);
const mb = (n: number | undefined) => (n === undefined ? "?" : `${n.toFixed(1)} MB`);

// ---------------------------------------------------------------------------------------------
// Cleanup: everything started registers its undo here; run in reverse, also on error and signals.

const cleanups: { what: string; fn: () => Promise<unknown> | unknown }[] = [];
const onCleanup = (what: string, fn: () => Promise<unknown> | unknown) => void cleanups.push({ what, fn });
let cleaning: Promise<void> | undefined;
function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length) {
      const c = cleanups.pop()!;
      try {
        await Promise.race([
          Promise.resolve().then(c.fn),
          sleep(20_000).then(() => {
            throw new Error("timed out after 20 s");
          }),
        ]);
      } catch (err) {
        log(`  warning: cleanup of ${c.what} failed: ${(err as Error).message}`);
      }
    }
  })();
  return cleaning;
}
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.once(sig, () => {
    log(`\n${sig}: cleaning up`);
    void cleanupAll().finally(() => process.exit(130));
  });
setTimeout(() => {
  log(`\nwatchdog: the benchmark ran longer than ${WATCHDOG_MS / 60_000} minutes; cleaning up`);
  void cleanupAll().finally(() => process.exit(1));
}, WATCHDOG_MS).unref();

/** SIGTERM, wait for exit (SIGKILL after graceMs). */
async function stopChild(proc: ChildProcess, graceMs = 5000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------
// /proc helpers

/** VmRSS of a process in MB (Linux), undefined elsewhere. */
function rssMb(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/** The soft "Max open files" limit of a process (Linux), undefined elsewhere. */
function openFilesLimit(pid: number | "self"): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, "utf8"));
    return m ? (m[1] === "unlimited" ? Number.POSITIVE_INFINITY : Number(m[1])) : undefined;
  } catch {
    return undefined;
  }
}

/** Direct children of a process (nginx's workers), from /proc/<pid>/stat's ppid field. */
function childPids(parent: number | undefined): number[] {
  if (!parent) return [];
  const out: number[] = [];
  try {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === parent) out.push(Number(entry));
      } catch {
        // exited meanwhile
      }
    }
  } catch {
    // no /proc
  }
  return out;
}

/** CPU use of a set of processes between start() and stop(), as % of one core. */
function cpuMeter(pids: () => (number | undefined)[]) {
  const sum = () => {
    let t = 0;
    for (const p of pids()) t += processCpuMs(p) ?? 0;
    return t;
  };
  const self = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let a = 0;
  let s = 0;
  let t0 = 0;
  return {
    start() {
      a = sum();
      s = self();
      t0 = performance.now();
    },
    /** { procs: % of one core used by `pids`, bench: % of one core used by this process } */
    stop(): { procs: number | undefined; bench: number } {
      const wall = performance.now() - t0;
      const procs = pids().some((p) => p && processCpuMs(p) !== undefined) ? ((sum() - a) / wall) * 100 : undefined;
      return { procs, bench: ((self() - s) / wall) * 100 };
    },
  };
}

function percentile(sorted: Float64Array, p: number): number | undefined {
  if (!sorted.length) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

// ---------------------------------------------------------------------------------------------
// The echo backend: its own process (its CPU and memory are not the proxy's or the load generator's).

const ECHO_BACKEND = `
import { createServer } from "node:http";
import { WebSocketServer } from "ws";
const body = JSON.stringify({ ok: true, service: "echo-backend" });
const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
});
// Longer than nginx's and node's idle keep-alive, so neither proxy races an idle close between phases.
server.keepAliveTimeout = 65000;
server.headersTimeout = 66000;
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on("connection", (ws) => {
  ws.on("error", () => {});
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
});
server.listen(0, "127.0.0.1", () => process.stdout.write("listening " + server.address().port + "\\n"));
process.on("SIGTERM", () => {
  for (const c of wss.clients) c.terminate();
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
`;
const ECHO_BODY = JSON.stringify({ ok: true, service: "echo-backend" });

async function startEchoBackend(): Promise<{ port: number; proc: ChildProcess }> {
  // cwd ROOT: the inline module resolves `ws` from the repository's node_modules.
  const proc = spawn(process.execPath, ["--input-type=module", "-e", ECHO_BACKEND], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  onCleanup("the echo backend", () => stopChild(proc));
  let out = "";
  let err = "";
  proc.stderr!.setEncoding("utf8").on("data", (s: string) => {
    err += s;
  });
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`the echo backend did not start within 10 s: ${err}`)), 10_000);
    proc.stdout!.setEncoding("utf8").on("data", (s: string) => {
      out += s;
      const m = /listening (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePort(Number(m[1]));
      }
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the echo backend exited (${code}): ${err}`));
    });
  });
  return { port, proc };
}

// ---------------------------------------------------------------------------------------------
// nginx as the reference reverse proxy (1 worker, like the proxy's 1 Node process).

const NGINX = "/usr/sbin/nginx";

async function startNginx(backendPort: number): Promise<{ port: number; proc: ChildProcess; pids: () => number[] } | string> {
  if (!existsSync(NGINX)) return `${NGINX} is not installed`;
  const dir = mkdtempSync(join(tmpdir(), "tropic-bench-nginx-"));
  onCleanup("nginx's temporary directory", () => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755); // started as root, nginx's worker runs as nobody and must reach the temp paths
  const port = await freePort();
  const conf = [
    "worker_processes 1;",
    "daemon off;",
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    "events { worker_connections 4096; }",
    "http {",
    "  access_log off;",
    `  client_body_temp_path ${dir}/client_body;`,
    `  proxy_temp_path ${dir}/proxy;`,
    `  fastcgi_temp_path ${dir}/fastcgi;`,
    `  uwsgi_temp_path ${dir}/uwsgi;`,
    `  scgi_temp_path ${dir}/scgi;`,
    `  upstream be { server 127.0.0.1:${backendPort}; keepalive 64; }`,
    "  server {",
    `    listen 127.0.0.1:${port};`,
    '    location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection ""; }',
    "  }",
    "}",
    "",
  ].join("\n");
  writeFileSync(join(dir, "nginx.conf"), conf);
  const proc = spawn(NGINX, ["-p", `${dir}/`, "-e", `${dir}/error.log`, "-c", `${dir}/nginx.conf`], { stdio: ["ignore", "ignore", "pipe"] });
  onCleanup("nginx", () => stopChild(proc));
  let err = "";
  proc.stderr!.setEncoding("utf8").on("data", (s: string) => {
    err += s;
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null)
      return `nginx exited (${proc.exitCode ?? proc.signalCode}): ${err.trim()} ${readFileSafe(join(dir, "error.log")).trim()}`;
    try {
      const res = await fetch(`http://127.0.0.1:${port}/bench`, { signal: AbortSignal.timeout(1000) });
      const text = await res.text();
      if (res.status === 200 && text === ECHO_BODY) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) return `nginx did not answer within 10 s: ${readFileSafe(join(dir, "error.log")).trim()}`;
    await sleep(50);
  }
  return { port, proc, pids: () => [proc.pid!, ...childPids(proc.pid)] };
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

// ---------------------------------------------------------------------------------------------
// The proxy: a user, an API token and one instance whose gateway is the echo backend.

async function api(url: string, path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${url}${path}`, {
    method: init.method ?? "GET",
    headers: { ...(init.body !== undefined ? { "content-type": "application/json" } : {}), ...init.headers },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = { text };
  }
  return { status: res.status, headers: res.headers, text, body };
}

interface Seeded {
  token: string;
  /** provider aws: the proxy dials addresses.private over TCP (today's direct path) */
  directId: string;
  /** provider local: the proxy reaches addresses.gateway through the agent's tunnel */
  tunnelId: string;
  /** the tunnel instance's agent token (only its sha256 is stored) */
  agentToken: string;
}

async function seedInstances(server: ServeProcess, dbUrl: string, echoPort: number): Promise<Seeded> {
  const signup = await api(server.url, "/api/v1/auth/signup", {
    method: "POST",
    body: { email: `bench-proxy-${Date.now()}@example.com`, password: "correct horse battery staple" },
  });
  if (signup.status !== 201) throw new Error(`signup: ${signup.status} ${signup.text}`);
  const session = /tropic_session=[^;,\s]+/.exec(signup.headers.get("set-cookie") ?? "")?.[0];
  if (!session) throw new Error("signup set no tropic_session cookie");
  const tok = await api(server.url, "/api/v1/tokens", { method: "POST", headers: { cookie: session }, body: { name: "bench" } });
  if (tok.status !== 201) throw new Error(`create token: ${tok.status} ${tok.text}`);
  const token = tok.body.token as string;
  const create = async (name: string) => {
    const inst = await api(server.url, "/api/v1/instances", { method: "POST", headers: { authorization: `Bearer ${token}` }, body: { name } });
    if (inst.status !== 201) throw new Error(`create instance ${name}: ${inst.status} ${inst.text}`);
    return inst.body.id as string;
  };
  const directId = await create("bench-direct");
  const tunnelId = await create("bench-tunnel");
  const agentToken = randomBytes(32).toString("hex");

  // What the providers record once a gateway runs: a cloud VM's private address, or a local gateway's
  // loopback address and its agent's token hash; and the gateway's sealed token.
  const sealed = JSON.stringify(await sealJson(new LocalKek(Buffer.from(MASTER_KEY_HEX, "hex")), GATEWAY_TOKEN));
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    const d = await c.query("UPDATE instances SET provider = 'aws', addresses = $1::jsonb, gateway_token_enc = $2::jsonb WHERE id = $3", [
      JSON.stringify({ private: `http://127.0.0.1:${echoPort}` }),
      sealed,
      directId,
    ]);
    if (d.rowCount !== 1) throw new Error(`UPDATE instances (direct) matched ${d.rowCount} rows`);
    const t = await c.query(
      "UPDATE instances SET provider = 'local', addresses = $1::jsonb, gateway_token_enc = $2::jsonb, agent_token_hash = $3 WHERE id = $4",
      [JSON.stringify({ gateway: `http://127.0.0.1:${echoPort}` }), sealed, sha256Hex(agentToken), tunnelId],
    );
    if (t.rowCount !== 1) throw new Error(`UPDATE instances (tunnel) matched ${t.rowCount} rows`);
  } finally {
    await c.end();
  }
  return { token, directId, tunnelId, agentToken };
}

/** The stand-in instance agent (bench/tunnel-agent.ts) in its own process; resolves once it is connected. */
async function startTunnelAgent(baseUrl: string, agentToken: string, instanceId: string, echoPort: number): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ["--import", "tsx", "bench/tunnel-agent.ts", baseUrl, agentToken, instanceId, String(echoPort)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  onCleanup("the stand-in agent", () => {
    agentStopping = true;
    return stopChild(proc);
  });
  let out = "";
  let err = "";
  let ready = false;
  proc.stderr!.setEncoding("utf8").on("data", (s: string) => {
    err += s;
    if (ready) log(`  stand-in agent: ${s.trim()}`);
  });
  await new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`the stand-in agent was not ready within 30 s: ${err.trim()}`)), 30_000);
    proc.stdout!.setEncoding("utf8").on("data", (s: string) => {
      out += s;
      if (/^ready\b/m.test(out)) {
        ready = true;
        clearTimeout(timer);
        resolveReady();
      }
    });
    proc.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the stand-in agent exited (${code ?? signal}): ${err.trim()}`));
    });
  });
  if (err.trim()) log(`  stand-in agent: ${err.trim()}`);
  proc.once("exit", (code, signal) => {
    if (agentStopping) return;
    agentExited = `the stand-in agent exited during the benchmark (${code ?? signal}): ${err.trim()}`;
    log(`  warning: ${agentExited}`);
  });
  return proc;
}
let agentStopping = false;
let agentExited: string | undefined;
/** Ours in every phase (its idle CPU is not "others"); reported only in the tunnel's phases. */
let standInAgentPid: number | undefined;

/** A proxied GET; returns the fresh `tropic_proxy` cookie (name=value) it set. */
async function proxiedGet(url: string, headers: Record<string, string>, what: string): Promise<string> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (res.status !== 200 || text !== ECHO_BODY) throw new Error(`${what}: ${res.status} ${text.slice(0, 300)} (expected 200 ${ECHO_BODY})`);
  const cookie = /tropic_proxy=[^;,\s]+/.exec(res.headers.get("set-cookie") ?? "")?.[0];
  if (!cookie) throw new Error(`${what}: no tropic_proxy cookie in the response`);
  return cookie;
}

/** Opens one WebSocket, sends a message, expects it echoed, closes. */
async function wsEchoOnce(url: string, headers: Record<string, string>, what: string): Promise<void> {
  const ws = new WebSocket(url, { headers, perMessageDeflate: false, handshakeTimeout: 5000 });
  try {
    await new Promise<void>((resolveOpen, reject) => {
      const timer = setTimeout(() => reject(new Error("no echo within 5 s")), 5000);
      ws.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      ws.once("open", () => ws.send("hello through the proxy"));
      ws.once("message", (data) => {
        clearTimeout(timer);
        const got = String(data);
        if (got === "hello through the proxy") resolveOpen();
        else reject(new Error(`echoed ${JSON.stringify(got)}`));
      });
    });
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`);
  } finally {
    ws.terminate();
  }
}

// ---------------------------------------------------------------------------------------------
// WebSocket sessions

interface WsRun {
  /** direct: to the backend; proxy: through the proxy on the direct path; tunnel: through the proxy and the agent's tunnel */
  target: "direct" | "proxy" | "tunnel";
  auth: string;
  sessionsRequested: number;
  opened: number;
  failedOpens: number;
  droppedAfterOpen: number;
  /** failed opens + sessions that closed or errored before the benchmark closed them */
  drops: number;
  dropReasons: Record<string, number>;
  openAtEnd: number;
  rampMs: number;
  measuredS: number;
  messagesSent: number;
  echoesReceived: number;
  /** ticks where the previous message's echo had not come back yet (no new message was sent then) */
  stalls: number;
  /** messages without an echo 2 s after the measured window */
  unanswered: number;
  rttSamples: number;
  rttP50Ms: number | undefined;
  rttP90Ms: number | undefined;
  rttP99Ms: number | undefined;
  rttMaxMs: number | undefined;
  machineBusyPercent: number | undefined;
  othersCpuPercent: number | undefined;
  proxyCpuPercent: number | undefined;
  echoCpuPercent: number | undefined;
  /** the stand-in agent process (tunnel runs), % of one core */
  agentCpuPercent: number | undefined;
  benchCpuPercent: number;
  proxyRssMb: { beforeOpen?: number; allOpen?: number; endOfRun?: number; afterClose?: number };
  /** VmRSS of the stand-in agent (tunnel runs) at the end of the measured window */
  agentRssMbEndOfRun: number | undefined;
}

interface Session {
  ws: WebSocket;
  open: boolean;
  dropped: boolean;
  seq: number;
  pending: boolean;
  sentAt: number;
  timer?: NodeJS.Timeout;
}

async function wsRun(
  target: WsRun["target"],
  url: string,
  headers: Record<string, string>,
  auth: string,
  measuredS: number,
  pids: { proxy?: number; echo?: number; agent?: number },
): Promise<WsRun> {
  const sessions: Session[] = [];
  const rtts: number[] = [];
  const dropReasons: Record<string, number> = {};
  const reason = (why: string) => {
    dropReasons[why] = (dropReasons[why] ?? 0) + 1;
  };
  let measuring = false;
  let closing = false;
  let failedOpens = 0;
  let droppedAfterOpen = 0;
  let sent = 0;
  let received = 0;
  let stalls = 0;
  const payloadTail = ":ping-0123456789abcdef"; // ~25-byte text frames

  const tick = (s: Session) => {
    if (closing || s.ws.readyState !== WebSocket.OPEN) return;
    if (s.pending) stalls++;
    else {
      s.seq++;
      s.pending = true;
      s.sentAt = performance.now();
      s.ws.send(`${s.seq}${payloadTail}`);
      sent++;
    }
    s.timer = setTimeout(tick, MSG_INTERVAL_MS * (0.5 + Math.random()), s);
  };

  const openOne = () =>
    new Promise<Session | null>((settle) => {
      const ws = new WebSocket(url, { headers, perMessageDeflate: false, handshakeTimeout: 10_000 });
      const s: Session = { ws, open: false, dropped: false, seq: 0, pending: false, sentAt: 0 };
      let settled = false;
      const failOpen = (why: string) => {
        if (settled) return;
        settled = true;
        failedOpens++;
        reason(`open failed: ${why}`);
        ws.terminate();
        settle(null);
      };
      const drop = (why: string) => {
        if (closing || s.dropped) return;
        s.dropped = true;
        droppedAfterOpen++;
        reason(why);
      };
      ws.once("open", () => {
        settled = true;
        s.open = true;
        settle(s);
        s.timer = setTimeout(tick, Math.random() * MSG_INTERVAL_MS, s);
      });
      ws.on("error", (err) => (s.open ? drop(`error: ${err.message}`) : failOpen(err.message)));
      ws.on("close", (code) => {
        clearTimeout(s.timer);
        if (s.open) drop(`closed by the other side (${code})`);
        else failOpen(`closed (${code})`);
      });
      ws.on("message", (data) => {
        const now = performance.now();
        received++;
        const text = String(data);
        if (s.pending && Number(text.slice(0, text.indexOf(":"))) === s.seq) {
          s.pending = false;
          if (measuring) rtts.push(now - s.sentAt);
        }
      });
    });

  // Ramp up in batches, so the upgrade path is not what the RTT figures measure.
  const r0 = performance.now();
  for (let i = 0; i < SESSIONS && performance.now() - r0 < RAMP_DEADLINE_MS; i += RAMP_BATCH) {
    const batch = await Promise.all(Array.from({ length: Math.min(RAMP_BATCH, SESSIONS - i) }, openOne));
    for (const s of batch) if (s) sessions.push(s);
  }
  const rampMs = performance.now() - r0;
  if (sessions.length < SESSIONS) log(`  only ${sessions.length} of ${SESSIONS} sessions opened within ${RAMP_DEADLINE_MS / 1000} s`);
  await sleep(2000); // the last batch's first messages, and the proxy's heap after the upgrades
  const rssAllOpen = rssMb(pids.proxy);

  const procMeter = cpuMeter(() => [pids.proxy]);
  const echoMeter = cpuMeter(() => [pids.echo]);
  const agentMeter = cpuMeter(() => [pids.agent]);
  measuring = true;
  procMeter.start();
  echoMeter.start();
  agentMeter.start();
  const { value: busy, othersPercent } = await withOthersCpu(
    () => [pids.proxy, pids.echo, standInAgentPid],
    () => machineBusyPercent(measuredS * 1000),
  );
  measuring = false;
  const proxyCpu = procMeter.stop();
  const echoCpu = echoMeter.stop();
  const agentCpu = agentMeter.stop();
  const rssEnd = rssMb(pids.proxy);
  const agentRssEnd = rssMb(pids.agent);
  await sleep(2000); // let the last messages' echoes arrive
  const openAtEnd = sessions.filter((s) => s.ws.readyState === WebSocket.OPEN && !s.dropped).length;
  const unanswered = sessions.filter((s) => s.pending && performance.now() - s.sentAt > 2000).length;

  closing = true;
  for (const s of sessions) {
    clearTimeout(s.timer);
    if (s.ws.readyState === WebSocket.OPEN) s.ws.close(1000, "bench done");
  }
  const c0 = Date.now();
  while (sessions.some((s) => s.ws.readyState !== WebSocket.CLOSED) && Date.now() - c0 < 5000) await sleep(50);
  for (const s of sessions) if (s.ws.readyState !== WebSocket.CLOSED) s.ws.terminate();
  await sleep(2000);
  const rssAfterClose = rssMb(pids.proxy);

  const sorted = Float64Array.from(rtts).sort();
  return {
    target,
    auth,
    sessionsRequested: SESSIONS,
    opened: sessions.length,
    failedOpens,
    droppedAfterOpen,
    drops: failedOpens + droppedAfterOpen,
    dropReasons,
    openAtEnd,
    rampMs,
    measuredS,
    messagesSent: sent,
    echoesReceived: received,
    stalls,
    unanswered,
    rttSamples: sorted.length,
    rttP50Ms: percentile(sorted, 50),
    rttP90Ms: percentile(sorted, 90),
    rttP99Ms: percentile(sorted, 99),
    rttMaxMs: sorted.length ? sorted[sorted.length - 1] : undefined,
    machineBusyPercent: busy,
    othersCpuPercent: othersPercent,
    proxyCpuPercent: target === "direct" ? undefined : proxyCpu.procs,
    echoCpuPercent: echoCpu.procs,
    agentCpuPercent: target === "tunnel" ? agentCpu.procs : undefined,
    benchCpuPercent: proxyCpu.bench,
    proxyRssMb: { allOpen: rssAllOpen, endOfRun: rssEnd, afterClose: rssAfterClose },
    agentRssMbEndOfRun: target === "tunnel" ? agentRssEnd : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP

interface HttpRun {
  target: string;
  url: string;
  connections: number;
  durationS: number;
  warmupS: number;
  requestsPerSec: number;
  requestsTotal: number;
  /** from every response's own latency (autocannon's histogram rounds to whole milliseconds) */
  p50Ms: number | undefined;
  p90Ms: number | undefined;
  p99Ms: number | undefined;
  maxMs: number | undefined;
  autocannonP50Ms: number;
  autocannonP99Ms: number;
  non2xx: number;
  /** non-2xx responses by status code (a phase with any is not a figure for its path: the run fails) */
  non2xxByStatus: Record<string, number>;
  errors: number;
  timeouts: number;
  machineBusyPercent: number | undefined;
  othersCpuPercent: number | undefined;
  /** the proxy under test (tropic serve or nginx master + worker), % of one core */
  proxyCpuPercent: number | undefined;
  echoCpuPercent: number | undefined;
  /** the stand-in agent process (tunnel runs), % of one core */
  agentCpuPercent: number | undefined;
  benchCpuPercent: number;
}

async function httpRun(
  target: string,
  url: string,
  headers: Record<string, string>,
  proxyPids: () => (number | undefined)[],
  echoPid: number | undefined,
  agentPid?: number,
) {
  await quiet(`HTTP ${target}`);
  await autocannon({ url, connections: HTTP_CONNECTIONS, duration: HTTP_WARMUP_S, headers }); // JIT, pools, keep-alive connections
  const latencies: number[] = [];
  const non2xxByStatus: Record<string, number> = {};
  const proxyMeter = cpuMeter(proxyPids);
  const echoMeter = cpuMeter(() => [echoPid]);
  const agentMeter = cpuMeter(() => [agentPid]);
  proxyMeter.start();
  echoMeter.start();
  agentMeter.start();
  const { value, othersPercent } = await withOthersCpu(
    () => [...proxyPids(), echoPid, standInAgentPid],
    () => {
      const run = autocannon({ url, connections: HTTP_CONNECTIONS, duration: HTTP_S, headers });
      run.on("response", (_c, status, _b, ms) => {
        if (status >= 200 && status < 300) latencies.push(ms);
        else non2xxByStatus[status] = (non2xxByStatus[status] ?? 0) + 1;
      });
      return Promise.all([run, machineBusyPercent(HTTP_S * 1000 - 100)]);
    },
  );
  const [r, busy] = value;
  const p = proxyMeter.stop();
  const e = echoMeter.stop();
  const ag = agentMeter.stop();
  const sorted = Float64Array.from(latencies).sort();
  const result: HttpRun = {
    target,
    url,
    connections: HTTP_CONNECTIONS,
    durationS: HTTP_S,
    warmupS: HTTP_WARMUP_S,
    requestsPerSec: r.requests.average,
    requestsTotal: r.requests.total,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length ? sorted[sorted.length - 1] : undefined,
    autocannonP50Ms: r.latency.p50,
    autocannonP99Ms: r.latency.p99,
    non2xx: r.non2xx,
    non2xxByStatus,
    errors: r.errors,
    timeouts: r.timeouts,
    machineBusyPercent: busy,
    othersCpuPercent: othersPercent,
    proxyCpuPercent: target === "direct" ? undefined : p.procs,
    echoCpuPercent: e.procs,
    agentCpuPercent: agentPid ? ag.procs : undefined,
    benchCpuPercent: p.bench,
  };
  log(
    `  ${target}: ${result.requestsPerSec.toFixed(0)} req/s, p50 ${fmtMs(result.p50Ms)}, p99 ${fmtMs(result.p99Ms)}, ` +
      `${result.non2xx} non-2xx, ${result.errors} errors; machine ${pct(busy)} busy`,
  );
  if (result.non2xx > 0) {
    const by = Object.entries(non2xxByStatus)
      .map(([k, v]) => `${v}× ${k}`)
      .join(", ");
    failed = true;
    errors.push(
      `HTTP ${target}: ${result.non2xx} of ${result.requestsTotal} responses were not 2xx (${by}); its requests/s is not a figure for this path`,
    );
    log(`  FAILED: ${errors[errors.length - 1]}`);
  }
  return result;
}

async function quiet(what: string): Promise<void> {
  const busy = await waitForQuiet(QUIET_PERCENT, QUIET_WAIT_MS);
  if (busy !== undefined && busy > QUIET_PERCENT)
    log(`  note: the machine was still ${busy.toFixed(0)}% busy after waiting ${QUIET_WAIT_MS / 1000} s before ${what}`);
}

// ---------------------------------------------------------------------------------------------
// main

log(`gateway proxy benchmark: ${availableParallelism()} CPU(s) (${cpus()[0]?.model ?? "?"}), node ${process.version}`);
log("The load generator (this process), the proxy, the echo backend, nginx and PostgreSQL all share these CPUs.\n");

if (!(await pgReachable())) {
  log(`SKIPPED: PostgreSQL is not reachable at ${PG_ADMIN_URL} (the proxy benchmark runs tropic serve on PostgreSQL).`);
  log(JSON.stringify({ bench: "proxy", at: new Date().toISOString(), skipped: `PostgreSQL not reachable at ${PG_ADMIN_URL}` }));
  process.exit(0);
}

const fdSelf = openFilesLimit("self");
const fdNeed = SESSIONS + HTTP_CONNECTIONS + 200;
let failed = false;
const errors: string[] = [];
const ws: { direct?: WsRun; proxy?: WsRun; tunnel?: WsRun } = {};
const http: Record<string, HttpRun> = {};
const skipped: Record<string, string> = {};
let rssBefore: number | undefined;
let rssBeforeTunnel: number | undefined;
let wsAuth = "";
let fdServe: number | undefined;

try {
  if (fdSelf !== undefined && fdSelf < fdNeed)
    throw new Error(`this process may open only ${fdSelf} files but needs about ${fdNeed} sockets; raise \`ulimit -n\``);

  const echo = await startEchoBackend();
  log(`echo backend: pid ${echo.proc.pid}, http://127.0.0.1:${echo.port} (node:http + ws, its own process)`);

  const db = await freshPgDatabase("tropic_bench_proxy");
  onCleanup(`database ${db.name}`, () => db.drop());
  const tmp = mkdtempSync(join(tmpdir(), "tropic-bench-proxy-"));
  onCleanup("the data directory", () => rmSync(tmp, { recursive: true, force: true }));
  const server = await startServe({
    dataDir: join(tmp, "data"),
    env: { DATABASE_URL: db.url, TROPIC_MASTER_KEY: MASTER_KEY_HEX, TROPIC_AUTH_RATE_LIMIT: "100000" },
  });
  onCleanup("tropic serve", async () => {
    const t0 = performance.now();
    const code = await server.stop(SERVE_STOP_GRACE_MS);
    if (code !== 0)
      log(
        `  warning: tropic serve did not exit cleanly on SIGTERM: ${code === null ? `${server.proc.signalCode} after ${Math.round(performance.now() - t0)} ms` : `exit code ${code}`}`,
      );
  });
  const servePid = server.proc.pid;
  fdServe = servePid ? openFilesLimit(servePid) : undefined;
  log(`proxy: tropic serve pid ${servePid}, ${server.url}, PostgreSQL database ${db.name}, TROPIC_INSTANCES=off`);
  log(`open-file limits: this process ${fdSelf ?? "?"} (needs ~${fdNeed}), tropic serve ${fdServe ?? "?"} (needs ~${2 * SESSIONS + 100})`);
  if (fdServe !== undefined && fdServe < 2 * SESSIONS + 100) log("  warning: tropic serve's open-file limit is below what the sessions need");

  const seeded = await seedInstances(server, db.url, echo.port);
  const { token, directId, tunnelId } = seeded;
  const bearer = { authorization: `Bearer ${token}` };
  const httpBase = `${server.url}/i/${directId}`;
  const wsBase = `ws://127.0.0.1:${server.port}/i/${directId}`;
  const tunnelHttpBase = `${server.url}/i/${tunnelId}`;
  const tunnelWsBase = `ws://127.0.0.1:${server.port}/i/${tunnelId}`;

  const agent = await startTunnelAgent(server.url, seeded.agentToken, tunnelId, echo.port);
  standInAgentPid = agent.pid;
  log(`stand-in agent: pid ${agent.pid}, connected to ${server.url}/api/v1/agent/connect for instance ${tunnelId} (its own process)`);

  // Verify both paths once before measuring: the proxied GET returns the backend's body and both
  // auth forms reach the echoing WebSocket.
  const cookie = await proxiedGet(`${httpBase}/bench`, bearer, "proxied GET (direct path, Bearer)");
  await proxiedGet(`${httpBase}/bench`, { cookie }, "proxied GET (direct path, tropic_proxy cookie)");
  await wsEchoOnce(`ws://127.0.0.1:${echo.port}/`, {}, "direct WebSocket");
  // A browser sends its page's Origin on a WebSocket: the proxy's own origin, as the Control UI would.
  const origin = server.url;
  await wsEchoOnce(`${wsBase}/`, { ...bearer, origin }, "proxied WebSocket (direct path, Bearer)");
  await wsEchoOnce(`${wsBase}/`, { cookie, origin }, "proxied WebSocket (direct path, tropic_proxy cookie)");
  log(
    `verified: direct path (instance ${directId}, provider aws): proxied GET returns the backend's body and proxied WebSocket echoes (Bearer and cookie)`,
  );
  const tunnelCookie = await proxiedGet(`${tunnelHttpBase}/bench`, bearer, "proxied GET (tunnel, Bearer)");
  await wsEchoOnce(`${tunnelWsBase}/`, { cookie: tunnelCookie, origin }, "proxied WebSocket (tunnel, tropic_proxy cookie)");
  log(`verified: tunnel (instance ${tunnelId}, provider local): proxied GET returns the backend's body; proxied WebSocket echoes\n`);

  // a. WebSocket sessions. A browser cannot set Authorization on a WebSocket: it sends the
  // tropic_proxy cookie the Control UI page load set, so that is what the sessions use.
  wsAuth = "tropic_proxy cookie + Origin";
  log(
    `a. WebSocket: ${SESSIONS} sessions (ramped ${RAMP_BATCH} at a time), one ~25-byte message each per ~${MSG_INTERVAL_MS / 1000} s (±50% jitter)`,
  );
  await quiet("the direct WebSocket run");
  log(
    `  direct to the echo backend, ${WS_DIRECT_S} s measured${WS_DIRECT_S < WS_PROXY_S ? ` (shorter than the proxy runs' ${WS_PROXY_S} s, to save time)` : ""} ...`,
  );
  ws.direct = await wsRun("direct", `ws://127.0.0.1:${echo.port}/`, {}, "none", WS_DIRECT_S, { echo: echo.proc.pid });
  log(`    ${describeWs(ws.direct)}`);

  await quiet("the proxied WebSocket run (direct path)");
  // The proxy cookie lives 10 minutes from its last renewal (HTTP only): take a fresh one.
  const wsCookie = await proxiedGet(`${httpBase}/bench`, bearer, "proxied GET (direct path, fresh cookie)");
  await sleep(1000);
  rssBefore = rssMb(servePid);
  log(`  through the proxy, direct path (${wsAuth}), ${WS_PROXY_S} s measured; proxy RSS before opening: ${mb(rssBefore)} ...`);
  ws.proxy = await wsRun("proxy", `${wsBase}/`, { cookie: wsCookie, origin }, wsAuth, WS_PROXY_S, { proxy: servePid, echo: echo.proc.pid });
  ws.proxy.proxyRssMb.beforeOpen = rssBefore;
  log(`    ${describeWs(ws.proxy)}`);

  await quiet("the proxied WebSocket run (tunnel)");
  const wsTunnelCookie = await proxiedGet(`${tunnelHttpBase}/bench`, bearer, "proxied GET (tunnel, fresh cookie)");
  await sleep(1000);
  rssBeforeTunnel = rssMb(servePid);
  log(`  through the proxy, tunnel (${wsAuth}), ${WS_PROXY_S} s measured; proxy RSS before opening: ${mb(rssBeforeTunnel)} ...`);
  ws.tunnel = await wsRun("tunnel", `${tunnelWsBase}/`, { cookie: wsTunnelCookie, origin }, wsAuth, WS_PROXY_S, {
    proxy: servePid,
    echo: echo.proc.pid,
    agent: agent.pid,
  });
  ws.tunnel.proxyRssMb.beforeOpen = rssBeforeTunnel;
  log(`    ${describeWs(ws.tunnel)}\n`);

  // b. HTTP
  log(`b. HTTP GET: autocannon, ${HTTP_CONNECTIONS} connections, ${HTTP_WARMUP_S} s warm-up + ${HTTP_S} s measured per target`);
  const echoPid = echo.proc.pid;
  http.direct = await httpRun("direct", `http://127.0.0.1:${echo.port}/bench`, {}, () => [], echoPid);
  const nginx = await startNginx(echo.port);
  if (typeof nginx === "string") {
    skipped.nginx = nginx;
    log(`  nginx: SKIPPED (${nginx})`);
  } else {
    http.nginx = await httpRun("nginx (1 worker)", `http://127.0.0.1:${nginx.port}/bench`, {}, nginx.pids, echoPid);
    await stopChild(nginx.proc);
  }
  const httpCookie = await proxiedGet(`${httpBase}/bench`, bearer, "proxied GET (direct path, fresh cookie)");
  http.proxyCookie = await httpRun("proxy, direct path (cookie)", `${httpBase}/bench`, { cookie: httpCookie }, () => [servePid], echoPid);
  const httpTunnelCookie = await proxiedGet(`${tunnelHttpBase}/bench`, bearer, "proxied GET (tunnel, fresh cookie)");
  http.proxyTunnelCookie = await httpRun(
    "proxy, tunnel (cookie)",
    `${tunnelHttpBase}/bench`,
    { cookie: httpTunnelCookie },
    () => [servePid],
    echoPid,
    agent.pid,
  );
  http.proxyBearer = await httpRun("proxy, direct path (Bearer)", `${httpBase}/bench`, bearer, () => [servePid], echoPid);
  if (agentExited) throw new Error(agentExited);

  const logs = server
    .stdout()
    .split("\n")
    .filter((l) => l.trim());
  if (logs.length) log(`  tropic serve logged ${logs.length} line(s) at warn or above; first: ${logs[0]!.slice(0, 300)}`);
} catch (err) {
  failed = true;
  errors.push((err as Error).message);
  log(`  FAILED: ${(err as Error).stack ?? (err as Error).message}`);
} finally {
  await cleanupAll();
}

function describeWs(r: WsRun): string {
  const reasons = Object.entries(r.dropReasons)
    .map(([k, v]) => `${v}× ${k}`)
    .join(", ");
  return (
    `${r.opened}/${r.sessionsRequested} opened in ${(r.rampMs / 1000).toFixed(1)} s, ${r.drops} dropped${reasons ? ` (${reasons})` : ""}, ` +
    `${r.rttSamples} RTTs: p50 ${fmtMs(r.rttP50Ms)}, p99 ${fmtMs(r.rttP99Ms)}; machine ${pct(r.machineBusyPercent)} busy`
  );
}

// ---------------------------------------------------------------------------------------------
// Results

log("\nResults");
type RttKey = "rttP50Ms" | "rttP99Ms";
const diff = (a: WsRun | undefined, b: WsRun | undefined, k: RttKey) => (a?.[k] !== undefined && b?.[k] !== undefined ? a[k]! - b[k]! : undefined);
const signed = (n: number | undefined) => (n === undefined ? "—" : `${n >= 0 ? "+" : ""}${fmtMs(n)}`);
const metText = (m: boolean | null) => (m === null ? "—" : m ? "met" : "NOT MET");
// Added by the proxy over the backend (direct path), and by the tunnel over the proxy's direct path.
const addedP50 = diff(ws.proxy, ws.direct, "rttP50Ms");
const addedP99 = diff(ws.proxy, ws.direct, "rttP99Ms");
const tunnelVsBackendP50 = diff(ws.tunnel, ws.direct, "rttP50Ms");
const tunnelVsBackendP99 = diff(ws.tunnel, ws.direct, "rttP99Ms");
const tunnelAddedP50 = diff(ws.tunnel, ws.proxy, "rttP50Ms");
const tunnelAddedP99 = diff(ws.tunnel, ws.proxy, "rttP99Ms");
const wsRow = (r: WsRun | undefined, label: string) =>
  r
    ? [
        label,
        `${r.measuredS} s`,
        `${r.opened}/${r.sessionsRequested}`,
        String(r.drops),
        String(r.rttSamples),
        fmtMs(r.rttP50Ms),
        fmtMs(r.rttP90Ms),
        fmtMs(r.rttP99Ms),
        fmtMs(r.rttMaxMs),
        r === ws.direct ? "—" : signed(diff(r, ws.direct, "rttP50Ms")),
        r === ws.tunnel ? signed(tunnelAddedP50) : "—",
        String(r.unanswered),
        pct(r.machineBusyPercent),
        `${pct(r.othersCpuPercent)}${disturbed(r) ? " DISTURBED" : ""}`,
        r.proxyCpuPercent === undefined ? "—" : pct(r.proxyCpuPercent),
        r.agentCpuPercent === undefined ? "—" : pct(r.agentCpuPercent),
        pct(r.echoCpuPercent),
        pct(r.benchCpuPercent),
      ]
    : [label, "—", "—", "—", "—", "—", "—", "—", "—", "—", "—", "—", "—", "—", "—", "—", "—", "FAILED"];
log(
  table(
    [
      "WebSocket echo",
      "measured",
      "open",
      "dropped",
      "RTTs",
      "p50",
      "p90",
      "p99",
      "max",
      "p50 added vs backend",
      "p50 added vs proxy-direct",
      "unanswered",
      "machine busy",
      "others",
      "proxy CPU",
      "agent CPU",
      "echo CPU",
      "bench CPU",
    ],
    [wsRow(ws.direct, "direct to backend"), wsRow(ws.proxy, "proxy, direct path (aws)"), wsRow(ws.tunnel, "proxy, tunnel (local)")],
  ),
);
log(
  `(sessions authenticate with the ${wsAuth || "tropic_proxy cookie"}. CPU: % of one core during the measured window; agent: the stand-in agent process; machine busy: % of all ${availableParallelism()} CPUs; others: of that, processes not part of this benchmark (nor PostgreSQL), DISTURBED above ${DISTURBED_PERCENT}%. dropped: failed opens + sessions closed or errored before the end.)`,
);
const addedP50Met = addedP50 === undefined ? null : addedP50 <= ADDED_P50_TARGET_MS;
const tunnelAddedP50Met = tunnelAddedP50 === undefined ? null : tunnelAddedP50 <= ADDED_P50_TARGET_MS;
const tunnelDropsMet = ws.tunnel ? ws.tunnel.drops === 0 && ws.tunnel.opened === SESSIONS : null;
log(
  `added by the proxy (direct path) over the backend: p50 ${signed(addedP50)} (target ≤ ${ADDED_P50_TARGET_MS} ms: ${metText(addedP50Met)}), ` +
    `p99 ${signed(addedP99)}; dropped connections: direct ${ws.direct?.drops ?? "—"}, proxy ${ws.proxy?.drops ?? "—"} (target 0: ${ws.proxy ? (ws.proxy.drops === 0 ? "met" : "NOT MET") : "—"})`,
);
log(
  `added by the tunnel over the proxy's direct path (tunnel − proxy-direct): p50 ${signed(tunnelAddedP50)} (target ≤ ${ADDED_P50_TARGET_MS} ms: ${metText(tunnelAddedP50Met)}), ` +
    `p99 ${signed(tunnelAddedP99)}; tunnel over the backend: p50 ${signed(tunnelVsBackendP50)}, p99 ${signed(tunnelVsBackendP99)}`,
);
log(
  `tunnel: ${ws.tunnel ? `${ws.tunnel.opened}/${SESSIONS} sessions for ${ws.tunnel.measuredS} s, ${ws.tunnel.drops} dropped` : "—"} ` +
    `(target ${SESSIONS} sessions, ${WS_PROXY_S} s, 0 dropped: ${metText(tunnelDropsMet)}); stand-in agent CPU ${pct(ws.tunnel?.agentCpuPercent)} of one core, ` +
    `RSS ${mb(ws.tunnel?.agentRssMbEndOfRun)}\n`,
);

const perThousandOf = (r: WsRun | undefined, at: "allOpen" | "endOfRun") => {
  const m = r?.proxyRssMb;
  return m?.beforeOpen !== undefined && m[at] !== undefined && r!.opened > 0 ? ((m[at]! - m.beforeOpen) / r!.opened) * 1000 : undefined;
};
const perThousand = perThousandOf(ws.proxy, "allOpen");
const perThousandEnd = perThousandOf(ws.proxy, "endOfRun");
const perThousandTunnel = perThousandOf(ws.tunnel, "allOpen");
const perThousandTunnelEnd = perThousandOf(ws.tunnel, "endOfRun");
const rssRow = (r: WsRun | undefined, label: string) => {
  const m = r?.proxyRssMb;
  return [
    label,
    mb(m?.beforeOpen),
    mb(m?.allOpen),
    mb(m?.endOfRun),
    mb(m?.afterClose),
    `${mb(perThousandOf(r, "allOpen"))} (just opened), ${mb(perThousandOf(r, "endOfRun"))} (end of run)`,
  ];
};
log(
  table(
    ["proxy RSS (tropic serve VmRSS)", "before opening", `${SESSIONS} open`, `after ${WS_PROXY_S} s`, "after closing", "per 1,000 sessions"],
    [rssRow(ws.proxy, "direct path"), rssRow(ws.tunnel, "tunnel")],
  ),
);
log(
  '(VmRSS of the whole process: "just opened" includes garbage V8 has not collected yet, "end of run" is after a minute of traffic and GC; ' +
    'memory V8 freed is not necessarily returned to the OS, so "after closing" need not fall back; the tunnel run starts from what the direct-path run left.)\n',
);

const httpRow = (r: HttpRun | undefined, label: string, note?: string) =>
  r
    ? [
        label,
        r.requestsPerSec.toFixed(0),
        fmtMs(r.p50Ms),
        fmtMs(r.p90Ms),
        fmtMs(r.p99Ms),
        fmtMs(r.maxMs),
        String(r.non2xx),
        `${r.errors}${r.timeouts ? ` (${r.timeouts} timeouts)` : ""}`,
        pct(r.machineBusyPercent),
        `${pct(r.othersCpuPercent)}${disturbed(r) ? " DISTURBED" : ""}`,
        r.proxyCpuPercent === undefined ? "—" : pct(r.proxyCpuPercent),
        r.agentCpuPercent === undefined ? "—" : pct(r.agentCpuPercent),
        pct(r.echoCpuPercent),
        pct(r.benchCpuPercent),
        http.direct && r !== http.direct ? `${((100 * r.requestsPerSec) / http.direct.requestsPerSec).toFixed(0)}%` : "—",
      ]
    : [label, "—", "—", "—", "—", "—", "—", "—", "—", "—", "—", "—", "—", "—", note ?? "FAILED"];
log(
  table(
    [
      "HTTP GET",
      "req/s",
      "p50",
      "p90",
      "p99",
      "max",
      "non-2xx",
      "errors",
      "machine busy",
      "others",
      "proxy CPU",
      "agent CPU",
      "echo CPU",
      "bench CPU",
      "of direct",
    ],
    [
      httpRow(http.direct, "direct to backend"),
      httpRow(http.nginx, "nginx 1.x, 1 worker", skipped.nginx ? "SKIPPED" : undefined),
      httpRow(http.proxyCookie, "proxy, direct path (cookie)"),
      httpRow(http.proxyTunnelCookie, "proxy, tunnel (cookie)"),
      httpRow(http.proxyBearer, "proxy, direct path (Bearer)"),
    ],
  ),
);
log(
  `(${HTTP_CONNECTIONS} connections, ${HTTP_S} s each after ${HTTP_WARMUP_S} s warm-up; latency percentiles from every 2xx response's own time, ` +
    "autocannon runs in this process (bench CPU). proxy CPU: tropic serve, or nginx's master + worker; agent CPU: the stand-in agent.)",
);
if (http.proxyCookie && http.nginx)
  log(`proxy (cookie) vs nginx: ${((100 * http.proxyCookie.requestsPerSec) / http.nginx.requestsPerSec).toFixed(0)}% of nginx's requests/s`);
if (http.proxyTunnelCookie && http.proxyCookie && !http.proxyTunnelCookie.non2xx && !http.proxyCookie.non2xx)
  log(
    `proxy tunnel vs direct path (cookie): ${((100 * http.proxyTunnelCookie.requestsPerSec) / http.proxyCookie.requestsPerSec).toFixed(0)}% of the requests/s, ` +
      `p50 ${signed(http.proxyTunnelCookie.p50Ms !== undefined && http.proxyCookie.p50Ms !== undefined ? http.proxyTunnelCookie.p50Ms - http.proxyCookie.p50Ms : undefined)}`,
  );

log(
  JSON.stringify({
    bench: "proxy",
    at: new Date().toISOString(),
    cpus: availableParallelism(),
    node: process.version,
    openFilesLimit: { bench: fdSelf ?? null, serve: fdServe ?? null },
    websocket: {
      sessions: SESSIONS,
      rampBatch: RAMP_BATCH,
      messageIntervalMs: MSG_INTERVAL_MS,
      auth: wsAuth,
      direct: ws.direct ?? null,
      proxy: ws.proxy ?? null,
      tunnel: ws.tunnel ?? null,
      addedP50Ms: addedP50 ?? null,
      addedP99Ms: addedP99 ?? null,
      addedP50TargetMs: ADDED_P50_TARGET_MS,
      addedP50Met,
      proxyRssPer1000SessionsMb: perThousand ?? null,
      proxyRssPer1000SessionsEndOfRunMb: perThousandEnd ?? null,
      tunnelVsBackendP50Ms: tunnelVsBackendP50 ?? null,
      tunnelVsBackendP99Ms: tunnelVsBackendP99 ?? null,
      tunnelAddedP50Ms: tunnelAddedP50 ?? null,
      tunnelAddedP99Ms: tunnelAddedP99 ?? null,
      tunnelAddedP50Met,
      tunnelDropsMet,
      tunnelProxyRssPer1000SessionsMb: perThousandTunnel ?? null,
      tunnelProxyRssPer1000SessionsEndOfRunMb: perThousandTunnelEnd ?? null,
    },
    http: {
      direct: http.direct ?? null,
      nginx: http.nginx ?? null,
      proxyCookie: http.proxyCookie ?? null,
      proxyTunnelCookie: http.proxyTunnelCookie ?? null,
      proxyBearer: http.proxyBearer ?? null,
    },
    skipped,
    errors,
  }),
);
process.exit(failed ? 1 : 0);
