// Keeps the gateway running the way the seed's systemd unit does: started at once, restarted on
// failure with exponential backoff (1 s, 2 s, 4 s … 30 s; back to 1 s after a minute of uptime).
// The gateway runs under `bwrap --die-with-parent`, so it never outlives this process.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";
import { get } from "node:http";

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
  restarts = 0;
  onEvent: (msg: string) => void = () => {};

  constructor(launch: Launch) {
    this.launch = launch;
  }

  start() {
    this.stopping = false;
    if (this.proc) return;
    const out = openSync(this.launch.gatewayLog, "a", 0o600);
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
    p.on("error", (e) => this.onEvent(`gateway could not start: ${e.message}`));
    p.once("exit", (code, sig) => {
      if (this.proc === p) this.proc = null;
      if (this.stopping) return;
      const upMs = Date.now() - this.startedAt;
      this.failures = upMs > 60_000 ? 1 : this.failures + 1;
      const delay = Math.min(30_000, 1000 * 2 ** (this.failures - 1));
      this.restarts++;
      this.onEvent(`gateway exited (${code ?? sig}) after ${Math.round(upMs / 1000)} s; restarting in ${delay / 1000} s`);
      this.timer = setTimeout(() => {
        this.timer = null;
        if (!this.stopping) this.start();
      }, delay);
    });
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
    return new Promise((resolve) => {
      const req = get(this.launch.readyUrl, { timeout: 2000 }, (res) => {
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
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.kill();
    this.failures = 0;
    this.start();
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
