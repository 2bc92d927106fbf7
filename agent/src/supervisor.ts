// Keeps the gateway running the way the seed's systemd unit does: started at once, restarted on
// failure with exponential backoff (1 s, 2 s, 4 s … 30 s; back to 1 s after a minute of uptime).
// The gateway runs under `bwrap --die-with-parent`, so it never outlives this process.
// It also says honestly what the gateway is doing (`phase`): a gateway that exits again and again,
// or cannot be spawned at all, is `crash-looping` (then `failed`) with its last error line and the
// restart count, never "starting" forever; a restart someone asked for is `restarting`, not a crash.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { get } from "node:http";
import type { Duplex } from "node:stream";

/** What the gateway is doing, as its supervisor sees it. */
export type GatewayPhase = "starting" | "ready" | "restarting" | "crash-looping" | "failed" | "stopped";

/** Exits in a row (each within a minute of its start) after which the gateway is `crash-looping`, then `failed`. */
export const CRASH_LOOP_AFTER = 2;
export const FAILED_AFTER = 4;

export interface Launch {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  readyUrl: string;
  uid: number | null;
  gid: number | null;
  gatewayLog: string;
}

export class Supervisor {
  private launch: Launch;
  private proc: ChildProcess | null = null;
  private startedAt = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopping = false;
  private restartRequested = false;
  private logOffset = 0;
  restarts = 0;
  /** the last error line of the last run that ended (or of a spawn that failed), or null */
  lastError: string | null = null;
  lastExit: string | null = null;
  onEvent: (msg: string) => void = () => {};

  /** how to reach the gateway (in its own network namespace: through the worker); default: readyUrl's host and port */
  dial: (() => Promise<Duplex>) | null = null;

  constructor(launch: Launch) {
    this.launch = launch;
  }

  start() {
    this.stopping = false;
    if (this.proc) return;
    const out = openSync(this.launch.gatewayLog, "a", 0o600);
    this.logOffset = fileSize(this.launch.gatewayLog);
    const p = spawn(this.launch.argv[0]!, this.launch.argv.slice(1), {
      env: this.launch.env,
      cwd: this.launch.cwd,
      stdio: ["ignore", out, out],
      detached: true,
      ...(this.launch.uid !== null ? { uid: this.launch.uid } : {}),
      ...(this.launch.gid !== null ? { gid: this.launch.gid } : {}),
    });
    closeSync(out);
    this.proc = p;
    this.startedAt = Date.now();
    this.onEvent(`gateway started (pid ${p.pid})`);
    // A spawn that fails (no such program, EACCES) emits "error" and maybe no "exit": both end this run, once.
    let ended = false;
    const end = (why: string, error: string | null) => {
      if (ended) return;
      ended = true;
      if (this.proc === p) this.proc = null;
      if (this.stopping) return;
      const upMs = Date.now() - this.startedAt;
      this.failures = upMs > 60_000 ? 1 : this.failures + 1;
      const delay = Math.min(30_000, 1000 * 2 ** (this.failures - 1));
      this.restarts++;
      this.lastExit = why;
      this.lastError = error ?? lastErrorLine(this.launch.gatewayLog, this.logOffset) ?? why;
      this.onEvent(`gateway ${why} after ${Math.round(upMs / 1000)} s; restarting in ${delay / 1000} s`);
      this.timer = setTimeout(() => {
        this.timer = null;
        if (!this.stopping) this.start();
      }, delay);
    };
    p.on("error", (e) => {
      this.onEvent(`gateway could not start: ${e.message}`);
      end("could not start", `could not start the gateway: ${e.message}`);
    });
    p.once("exit", (code, sig) => end(`exited (${code ?? sig})`, null));
  }

  /** What the gateway is doing now (`ready` is the caller's reading of /readyz). */
  phase(ready: boolean): GatewayPhase {
    if (this.restartRequested) return "restarting";
    if (this.stopping && !this.proc) return "stopped";
    if (this.proc && ready) return "ready";
    if (this.failures >= FAILED_AFTER) return "failed";
    if (this.failures >= CRASH_LOOP_AFTER) return "crash-looping";
    return "starting";
  }

  pid(): number | null {
    return this.proc?.pid ?? null;
  }

  /** When the running gateway was started (ms since the epoch), or null. */
  startedAtMs(): number | null {
    return this.proc ? this.startedAt : null;
  }

  uptimeSec(): number | null {
    return this.proc ? Math.round((Date.now() - this.startedAt) / 1000) : null;
  }

  /** RSS of the gateway's whole process tree (bwrap, the sandbox's init and the gateway itself). */
  rssBytes(): number | null {
    const pid = this.pid();
    if (!pid) return null;
    let total = 0;
    for (const p of [pid, ...descendants(pid)]) total += rssOf(p);
    return total;
  }

  /** GET /readyz answers 200 (node:http, not fetch: undici alone would add ~10 MB to the agent's RSS). */
  ready(): Promise<boolean> {
    if (!this.proc) return Promise.resolve(false);
    const dial = this.dial;
    return new Promise((resolve) => {
      const opts = dial
        ? {
            timeout: 2000,
            createConnection: (_o: unknown, cb: (err: Error | null, s?: Duplex) => void) => {
              dial().then(
                (s) => cb(null, s),
                (e: Error) => cb(e),
              );
              return undefined;
            },
          }
        : { timeout: 2000 };
      const req = get(this.launch.readyUrl, opts as Parameters<typeof get>[1], (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve(false));
    });
  }

  async waitReady(timeoutMs = 90_000): Promise<boolean> {
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      if (await this.ready()) return true;
      await sleep(250);
    }
    return false;
  }

  private async kill(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once("exit", () => r()));
    killGroup(p.pid!, "SIGTERM");
    const t = setTimeout(() => killGroup(p.pid!, "SIGKILL"), 10_000);
    await exited;
    clearTimeout(t);
  }

  /** Restart now (no backoff), e.g. after a skill install. */
  async restart(): Promise<void> {
    this.restartRequested = true;
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.kill();
    this.failures = 0;
    this.start();
  }

  /** The restart someone asked for is over (the gateway answered ready, or gave up): phases are read again. */
  restartDone() {
    this.restartRequested = false;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    await this.kill();
  }
}

function killGroup(pid: number, sig: NodeJS.Signals) {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {}
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * The last line of a gateway run's output (from `offset` on) that reads like an error, else its last
 * non-empty line: what a user needs to see when the gateway keeps exiting. At most 64 KiB are read.
 */
export function lastErrorLine(log: string, offset: number): string | null {
  let text = "";
  try {
    const size = fileSize(log);
    const from = Math.max(offset, size - 65_536);
    const fd = openSync(log, "r");
    try {
      const buf = Buffer.alloc(Math.max(0, size - from));
      readSync(fd, buf, 0, buf.length, from);
      text = buf.toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const err = [...lines]
    .reverse()
    .find((l) => /\b(error|fatal|failed|cannot|refus|invalid|EACCES|EROFS|ENOENT|EADDRINUSE|denied|incomplete)\b/i.test(l));
  const line = err ?? lines.at(-1) ?? null;
  return line ? line.slice(0, 500) : null;
}

export function rssOf(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Every descendant of a process, from /proc (children files where available, else a full scan). */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parent.set(Number(d), ppid);
    } catch {}
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) if (pp === p) out.push(c), walk(c);
  };
  walk(pid);
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
