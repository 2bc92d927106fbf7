// Harness for the instance tests: a real control plane (in-process, or `bin/tropic serve` as a
// subprocess that a test can kill -9) on a fresh embedded database, real sandboxed gateways from the
// shared runtime cache, and HTTP helpers. Every instance is destroyed at the end (processes, users, dirs).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { type AddressInfo, createServer, connect as netConnect, Server, type Socket } from "node:net";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalProvider } from "@tropic/providers";
import { installRuntime, progressPrinter, testRuntimeDir } from "@tropic/runtime";
import { WebSocket } from "ws";
import type { Config } from "../src/config.ts";
import { type RunningServer, startServer } from "../src/server.ts";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const MASTER_KEY = "07".repeat(32);

export async function ensureRuntime() {
  process.env.TROPIC_RUNTIME_DIR = testRuntimeDir();
  return installRuntime({ dir: testRuntimeDir(), onProgress: progressPrinter(process.stderr) });
}

/** A data directory holding a copy of the migrated template database (initdb is slow). */
export function freshDataDir(): string {
  const dataDir = mkdtempSync(join(tmpdir(), "tropic-inst-"));
  const template = process.env.TROPIC_TEST_PGLITE_TEMPLATE;
  if (template && existsSync(join(template, "pgdata"))) cpSync(join(template, "pgdata"), join(dataDir, "pgdata"), { recursive: true });
  return dataDir;
}

const TEST_SERVER: Partial<Config> = {
  port: 0,
  host: "127.0.0.1",
  masterKey: MASTER_KEY,
  logLevel: "warn",
  databaseUrl: undefined,
  authRateLimit: 1000,
};

/** A control plane in this process that runs no instances (the dashboard and API alone): no runtime needed. */
export function dashboardServer(dataDir: string, overrides: Partial<Config> = {}): Promise<RunningServer> {
  return startServer({ ...TEST_SERVER, dataDir, runInstances: false, ...overrides }, { logger: false });
}

export async function inProcessServer(dataDir: string, healthIntervalMs = 2000, overrides: Partial<Config> = {}): Promise<RunningServer> {
  await ensureRuntime();
  return startServer({ ...TEST_SERVER, dataDir, ...overrides }, { logger: false, healthIntervalMs });
}

export interface ServeProcess {
  url: string;
  proc: ChildProcess;
  output(): string;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/** `bin/tropic serve` as a subprocess on a fixed port (so agents find it again after a restart). */
export async function serveProcess(
  dataDir: string,
  port: number,
  opts: { runtimeDir?: string; instances?: boolean; env?: Record<string, string> } = {},
): Promise<ServeProcess> {
  // (with instances off no runtime is needed; with a runtime directory the server installs into it itself)
  if (!opts.runtimeDir && opts.instances !== false) await ensureRuntime();
  let out = "";
  const proc = spawn(join(ROOT, "bin", "tropic"), ["serve", "--port", String(port), "--host", "127.0.0.1"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TROPIC_DATA_DIR: dataDir,
      TROPIC_MASTER_KEY: MASTER_KEY,
      TROPIC_RUNTIME_DIR: opts.runtimeDir ?? testRuntimeDir(),
      TROPIC_LOG_LEVEL: "warn",
      TROPIC_AUTH_RATE_LIMIT: "1000",
      // (no host bundle build in the background of every test server: host-install tests ask for it)
      TROPIC_HOST_BUNDLES: "lazy",
      ...(opts.instances === false ? { TROPIC_INSTANCES: "off" } : {}),
      ...opts.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  const t0 = Date.now();
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`tropic serve exited (${proc.exitCode}):\n${out}`);
    if (Date.now() - t0 > 60_000) throw new Error(`tropic serve did not come up:\n${out}`);
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    await sleep(100);
  }
  const exited = () => new Promise<void>((r) => (proc.exitCode !== null || proc.signalCode !== null ? r() : proc.once("exit", () => r())));
  return {
    url,
    proc,
    output: () => out,
    async kill9() {
      proc.kill("SIGKILL");
      await exited();
    },
    async stop() {
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      await exited();
      clearTimeout(t);
    },
  };
}

/** Stops and removes every instance under a data directory (agents, gateways, Linux users, dirs). */
export async function destroyAll(dataDir: string) {
  const p = new LocalProvider({ dataDir, runtime: ensureRuntime });
  const root = join(dataDir, "instances");
  if (!existsSync(root)) return;
  for (const id of readdirSync(root)) await p.destroy(id).catch(() => {});
}

export class Api {
  constructor(
    readonly url: string,
    readonly auth: Record<string, string> = {},
  ) {}
  async call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const r = await fetch(this.url + path, {
      method,
      headers: { ...this.auth, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : null };
  }
  async as(email: string): Promise<Api> {
    const r = await fetch(`${this.url}/api/v1/auth/signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: "correct horse battery" }),
    });
    if (r.status !== 201) throw new Error(`signup: ${r.status} ${await r.text()}`);
    const cookie = String(r.headers.get("set-cookie")).split(";")[0]!;
    const tok = await fetch(`${this.url}/api/v1/tokens`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json" },
      body: JSON.stringify({ name: "test" }),
    }).then((x) => x.json() as Promise<{ token: string }>);
    return new Api(this.url, { authorization: `Bearer ${tok.token}` });
  }
  /** Polls GET path until pred holds; returns the last body. */
  async until(path: string, pred: (j: any) => boolean, timeoutMs: number, what = path): Promise<any> {
    const t0 = Date.now();
    let last: any;
    for (;;) {
      last = (await this.call("GET", path)).json;
      if (pred(last)) return last;
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
      await sleep(200);
    }
  }
}

export function instanceFiles(dataDir: string, id: string) {
  const dir = join(dataDir, "instances", id);
  const state = join(dir, "home", ".openclaw");
  return {
    dir,
    state,
    config: () => JSON.parse(readFileSync(join(state, "openclaw.json"), "utf8")),
    status: () => JSON.parse(readFileSync(join(dir, "agent-state", "status.json"), "utf8")),
    agentPid: () => Number(readFileSync(join(dir, "agent.pid"), "utf8")),
  };
}

/**
 * For tests that talk to a gateway directly (not through Tropic's proxy): the gateway binds loopback in
 * its instance's own network namespace, which the test process is not in. This forwards a port on the
 * host's loopback to it: a small dialer runs inside the namespace (nsenter, as root) and hands each
 * connection's socket back over Node's IPC channel. Test-only: nothing in Tropic listens this way.
 * Without a namespace (an unsandboxed instance), the gateway's own address is returned.
 */
export async function gatewayInNamespace(dataDir: string, id: string): Promise<{ url: string; port: number; close(): void }> {
  const inst = JSON.parse(readFileSync(join(dataDir, "instances", id, "instance.json"), "utf8")) as { port: number; netns?: string | null };
  if (!inst.netns) return { url: `http://127.0.0.1:${inst.port}`, port: inst.port, close() {} };
  const dialer =
    `const net=require("node:net");process.on("message",(m)=>{const s=net.connect(${inst.port},"127.0.0.1");` +
    `s.once("connect",()=>process.send({id:m.id,ok:true},s));s.once("error",(e)=>process.send({id:m.id,ok:false,e:e.message}))})`;
  const child = spawn("nsenter", [`--net=/run/netns/${inst.netns}`, "--", process.execPath, "-e", dialer], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const waiting = new Map<number, (s: Socket | null) => void>();
  child.on("message", (m: { id: number; ok: boolean }, handle: unknown) => {
    waiting.get(m.id)?.(m.ok ? (handle as Socket) : null);
    waiting.delete(m.id);
  });
  let next = 1;
  const server = createServer((client) => {
    const id = next++;
    waiting.set(id, (up) => {
      if (!up) return client.destroy();
      up.pipe(client).pipe(up);
      up.on("error", () => client.destroy());
      client.on("error", () => up.destroy());
      client.on("close", () => up.destroy());
      up.on("close", () => client.destroy());
    });
    child.send({ id });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close() {
      server.close();
      child.kill();
    },
  };
}

/**
 * "The internet" for the instance tests: sandboxes reach only the internet (not this machine, not
 * private ranges), so whatever a test's gateway must call (the scripted model, a web page) is put "on
 * the internet": a network namespace of this test process, joined to this machine by a veth pair on a
 * /30 of 198.18.0.0/15 (the benchmarking range, which no sandbox rule blocks), reached the way the real
 * internet is (through the sandbox's network helper and this machine's routing). `expose(port)` makes a
 * listening socket in that namespace (its address, the same port) and accepts its connections here,
 * joining each to 127.0.0.1:port: a dialer inside the namespace hands over the listening socket.
 * One per test process, removed when it exits.
 */
export interface StandInInternet {
  /** `http://<address on the internet>:<port>` for a server listening on 127.0.0.1:port here */
  expose(port: number): Promise<string>;
  close(): void;
}
let internetP: Promise<StandInInternet> | null = null;
export function standInInternet(): Promise<StandInInternet> {
  internetP ??= makeInternet();
  return internetP;
}
async function makeInternet(): Promise<StandInInternet> {
  const n = (process.pid % 16000) + 1; // 198.18.0.0/15 holds 32768 /30s
  const net = `198.${18 + Math.floor((n * 4) / 65536)}.${Math.floor((n * 4) / 256) % 256}.${(n * 4) % 256}`;
  const [a, b, c, d] = net.split(".").map(Number) as [number, number, number, number];
  const far = `${a}.${b}.${c}.${d + 1}`;
  const hostSide = `${a}.${b}.${c}.${d + 2}`;
  const ns = `tropic-test-inet-${process.pid}`;
  const va = `ti${process.pid}a`.slice(0, 15);
  const vb = `ti${process.pid}b`.slice(0, 15);
  const remove = () =>
    spawnSync("sh", ["-c", `ip link del ${va} 2>/dev/null; ip netns pids ${ns} 2>/dev/null | xargs -r kill; ip netns del ${ns} 2>/dev/null`]);
  remove();
  const r = spawnSync(
    "sh",
    [
      "-c",
      `set -e; ip netns add ${ns}; ip link add ${va} type veth peer name ${vb}; ip link set ${vb} netns ${ns}; ` +
        `ip addr add ${hostSide}/30 dev ${va}; ip link set ${va} up; ip -n ${ns} addr add ${far}/30 dev ${vb}; ` +
        `ip -n ${ns} link set ${vb} up; ip -n ${ns} link set lo up`,
    ],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`could not make the stand-in internet: ${r.stderr}`);
  const listener =
    `const net=require("node:net");process.on("message",(m)=>{const s=net.createServer();s.once("error",(e)=>process.send({port:m.port,ok:false,e:e.message}));` +
    `s.listen(m.port,${JSON.stringify(far)},()=>process.send({port:m.port,ok:true},s,()=>s.close()))})`;
  const child = spawn("nsenter", [`--net=/run/netns/${ns}`, "--", process.execPath, "-e", listener], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  child.unref();
  (child as unknown as { channel?: { unref(): void } }).channel?.unref();
  const waiting = new Map<number, { resolve: (u: string) => void; reject: (e: Error) => void }>();
  const servers: Server[] = [];
  child.on("message", (m: { port: number; ok: boolean; e?: string }, server: unknown) => {
    const w = waiting.get(m.port);
    waiting.delete(m.port);
    if (!m.ok || !(server instanceof Server)) return w?.reject(new Error(`could not listen on the stand-in internet: ${m.e}`));
    servers.push(server);
    server.unref();
    server.on("connection", (inbound) => {
      const local = netConnect(m.port, "127.0.0.1");
      inbound.pipe(local).pipe(inbound);
      inbound.on("error", () => local.destroy());
      local.on("error", () => inbound.destroy());
      inbound.on("close", () => local.destroy());
      local.on("close", () => inbound.destroy());
    });
    w?.resolve(`http://${far}:${m.port}`);
  });
  const close = () => {
    for (const s of servers) s.close();
    child.kill();
    remove();
  };
  process.once("exit", close);
  return {
    expose: (port) =>
      new Promise<string>((resolve, reject) => {
        waiting.set(port, { resolve, reject });
        child.send({ port });
      }),
    close,
  };
}

/** The OpenClaw gateway process (node … openclaw.mjs gateway run) among a process's descendants. */
export function gatewayNodePid(rootPid: number): number {
  const kids = new Map<number, number[]>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(d)]);
    } catch {}
  }
  const stack = [rootPid];
  while (stack.length) {
    const p = stack.pop()!;
    for (const c of kids.get(p) ?? []) {
      try {
        const cmd = readFileSync(`/proc/${c}/cmdline`, "utf8");
        if (cmd.includes("openclaw.mjs") && cmd.includes("gateway")) return c;
      } catch {}
      stack.push(c);
    }
  }
  return 0;
}

export function removeDir(d: string) {
  rmSync(d, { recursive: true, force: true });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Where tests leave screenshots (CI keeps test-artifacts/ as the run's artifacts). */
export const ARTIFACTS = join(ROOT, "test-artifacts");
/** Debian's Chromium; never a downloaded browser. */
export const CHROMIUM = process.env.TROPIC_CHROMIUM ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];

type GatewayFrame = { type: string; id?: string; ok?: boolean; payload?: any; error?: any; event?: string };

/** An OpenClaw gateway client (operator, token auth) over a WebSocket URL, e.g. through the proxy. */
export class ProxiedGatewayClient {
  private ws: WebSocket | null = null;
  readonly events: GatewayFrame[] = [];
  private pending = new Map<string, (f: GatewayFrame) => void>();
  private waiters: { match: (f: GatewayFrame) => boolean; resolve: (f: GatewayFrame) => void }[] = [];

  constructor(
    readonly url: string,
    readonly headers: Record<string, string>,
    readonly token: string,
  ) {}

  async connect() {
    const ws = new WebSocket(this.url, { headers: this.headers });
    this.ws = ws;
    // Listen before "open" resolves: the gateway's connect.challenge can arrive in the same packet as
    // the upgrade answer and is emitted right after "open", before an awaiting caller runs again (it
    // was lost, the client waited 15 s for it, and the gateway closed the handshake: the "flaky" connect).
    ws.on("message", (d) => {
      const f = JSON.parse(String(d)) as GatewayFrame;
      if (f.type === "res" && f.id) return this.pending.get(f.id)?.(f);
      if (f.type !== "event") return;
      this.events.push(f);
      for (const w of [...this.waiters])
        if (w.match(f)) {
          this.waiters = this.waiters.filter((x) => x !== w);
          w.resolve(f);
        }
    });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_q, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    });
    // A connection that drops (the gateway restarting) fails what it was waiting for at once.
    ws.on("close", (code, reason) => {
      const message = `the connection closed (${code}${reason.length ? ` ${String(reason)}` : ""})`;
      for (const [id, done] of this.pending) done({ type: "res", id, ok: false, error: { message } });
    });
    await this.waitFor((f) => f.event === "connect.challenge", 15_000).catch(() => null);
    return this.call("connect", {
      minProtocol: 4,
      maxProtocol: 4,
      client: { id: "gateway-client", version: "tropic-test", platform: process.platform, mode: "backend" },
      role: "operator",
      scopes: ["operator.read", "operator.write", "operator.admin"],
      auth: { token: this.token },
    });
  }

  call(method: string, params: unknown, timeoutMs = 30_000): Promise<any> {
    const id = crypto.randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, (f) => {
        clearTimeout(timer);
        this.pending.delete(id);
        if (f.ok) resolve(f.payload);
        else reject(new Error(`${method}: ${JSON.stringify(f.error)}`));
      });
      this.ws!.send(JSON.stringify({ type: "req", id, method, params }));
    });
  }

  waitFor(match: (f: GatewayFrame) => boolean, timeoutMs: number): Promise<GatewayFrame> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { match, resolve };
      this.waiters.push(w);
      setTimeout(() => {
        if (!this.waiters.includes(w)) return;
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`no matching gateway event in ${timeoutMs} ms; last: ${JSON.stringify(this.events.slice(-5)).slice(0, 800)}`));
      }, timeoutMs).unref();
    });
  }

  close() {
    this.ws?.close();
  }
}
