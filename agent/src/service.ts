// Host mode (a user's own machine, docs/hosts.md): the gateway is a service of the machine's service
// manager (systemd's openclaw-gateway.service, launchd's ai.openclaw.gateway), not a child of the
// agent, so it survives the agent's restarts and the machine's reboots on its own. The agent drives it
// through the service manager (start/stop/restart; it runs as root there, as on the local provider),
// reads its liveness from the unit's state and its readiness from the gateway itself (GET /readyz on
// 127.0.0.1:<port>, the gateway binds loopback), and reports the same phases as Supervisor.
import { execFile } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { get } from "node:http";
import type { Duplex } from "node:stream";
import { CRASH_LOOP_AFTER, type GatewayPhase, lastErrorLine, type Launch, rssOf, descendants } from "./supervisor.ts";

/** How launch.json names the gateway's service in host mode. */
export type ServiceRef = { manager: "systemd"; unit: string } | { manager: "launchd"; label: string; plist: string };

/** What the service manager says about the gateway's service. */
export interface ServiceState {
  /** running: up; starting: (re)starting, incl. waiting to restart after an exit; failed: given up; stopped */
  state: "running" | "starting" | "failed" | "stopped";
  pid: number | null;
  /** restarts the manager made on its own (systemd's NRestarts; launchd's runs − 1) */
  restarts: number;
  /** when the running process started (ms since the epoch), or null */
  startedAtMs: number | null;
}

export interface ServiceManager {
  start(): Promise<void>;
  stop(): Promise<void>;
  restart(): Promise<void>;
  state(): Promise<ServiceState>;
}

function exec(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: "utf8", timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code as number) : 1) : 0;
      resolve({ code, stdout: stdout ?? "", stderr: stderr ?? (err?.message || "") });
    });
  });
}

async function must(cmd: string, args: string[]) {
  const r = await exec(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${(r.stderr || r.stdout).trim().slice(0, 500)}`);
}

/** `systemctl show` output (KEY=value lines) → the gateway's state. */
export function parseSystemdShow(text: string, uptimeSec: number, now = Date.now()): ServiceState {
  const kv = new Map(
    text
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1).trim()] as const),
  );
  const active = kv.get("ActiveState") ?? "inactive";
  const sub = kv.get("SubState") ?? "";
  const pid = Number(kv.get("MainPID") ?? 0) || null;
  const restarts = Number(kv.get("NRestarts") ?? 0) || 0;
  const mono = Number(kv.get("ExecMainStartTimestampMonotonic") ?? 0);
  const startedAtMs = pid && mono > 0 ? Math.round(now - (uptimeSec * 1e6 - mono) / 1000) : null;
  let state: ServiceState["state"];
  if (active === "active" && sub === "running") state = "running";
  else if (active === "activating" || active === "reloading" || sub === "auto-restart" || (active === "active" && sub !== "exited"))
    state = "starting";
  else if (active === "failed") state = "failed";
  else state = "stopped";
  return { state, pid: state === "running" ? pid : null, restarts, startedAtMs: state === "running" ? startedAtMs : null };
}

export class SystemdService implements ServiceManager {
  private unit: string;
  constructor(unit: string) {
    this.unit = unit;
  }
  start() {
    // a unit the start limit stopped (failed) can be started again
    return exec("systemctl", ["reset-failed", this.unit]).then(() => must("systemctl", ["start", "--no-block", this.unit]));
  }
  stop() {
    return must("systemctl", ["stop", this.unit]);
  }
  restart() {
    return exec("systemctl", ["reset-failed", this.unit]).then(() => must("systemctl", ["restart", "--no-block", this.unit]));
  }
  async state(): Promise<ServiceState> {
    const r = await exec("systemctl", [
      "show",
      this.unit,
      "-p",
      "ActiveState",
      "-p",
      "SubState",
      "-p",
      "MainPID",
      "-p",
      "NRestarts",
      "-p",
      "ExecMainStartTimestampMonotonic",
    ]);
    const uptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    return parseSystemdShow(r.stdout, uptime);
  }
}

/** `launchctl print system/<label>` → the gateway's state. */
export function parseLaunchctlPrint(text: string, found: boolean): ServiceState {
  if (!found) return { state: "stopped", pid: null, restarts: 0, startedAtMs: null };
  const pid = Number(/\bpid = (\d+)/.exec(text)?.[1] ?? 0) || null;
  const runs = Number(/\bruns = (\d+)/.exec(text)?.[1] ?? 0);
  const st = /\bstate = (\w+)/.exec(text)?.[1] ?? "";
  const state: ServiceState["state"] = st === "running" && pid ? "running" : st === "not running" || !st ? "starting" : "starting";
  return { state, pid, restarts: Math.max(0, runs - 1), startedAtMs: null };
}

export class LaunchdService implements ServiceManager {
  private label: string;
  private plist: string;
  constructor(label: string, plist: string) {
    this.label = label;
    this.plist = plist;
  }
  async start() {
    const r = await exec("launchctl", ["print", `system/${this.label}`]);
    if (r.code !== 0) await must("launchctl", ["bootstrap", "system", this.plist]);
    await must("launchctl", ["kickstart", `system/${this.label}`]);
  }
  async stop() {
    await exec("launchctl", ["bootout", `system/${this.label}`]);
  }
  async restart() {
    const r = await exec("launchctl", ["print", `system/${this.label}`]);
    if (r.code !== 0) await must("launchctl", ["bootstrap", "system", this.plist]);
    await must("launchctl", ["kickstart", "-k", `system/${this.label}`]);
  }
  async state(): Promise<ServiceState> {
    const r = await exec("launchctl", ["print", `system/${this.label}`]);
    return parseLaunchctlPrint(r.stdout, r.code === 0);
  }
}

export function serviceManager(ref: ServiceRef): ServiceManager {
  return ref.manager === "systemd" ? new SystemdService(ref.unit) : new LaunchdService(ref.label, ref.plist);
}

/**
 * Supervisor's interface over a service: the same phases, restart count and last error line, with
 * the service manager doing the restarting (Restart=on-failure, with back-off, in the unit).
 */
export class ServiceSupervisor {
  private launch: Launch;
  private svc: ServiceManager;
  private last: ServiceState = { state: "stopped", pid: null, restarts: 0, startedAtMs: null };
  private baseRestarts: number | null = null;
  private stopping = false;
  private restartRequested = false;
  private runLogOffset = 0;
  private lastPid: number | null = null;
  private timer: NodeJS.Timeout;
  /** restarts since the agent started (the manager's own count, from where it was then) */
  restarts = 0;
  lastError: string | null = null;
  onEvent: (msg: string) => void = () => {};
  dial: (() => Promise<Duplex>) | null = null;

  constructor(launch: Launch, svc: ServiceManager, pollMs = 2000) {
    this.launch = launch;
    this.svc = svc;
    this.timer = setInterval(() => void this.poll(), pollMs);
    this.timer.unref();
    void this.poll();
  }

  /** Reads the service's state now (also every pollMs). */
  async poll(): Promise<ServiceState> {
    let s: ServiceState;
    try {
      s = await this.svc.state();
    } catch (e) {
      this.lastError = `the service manager did not answer: ${(e as Error).message}`;
      return this.last;
    }
    this.baseRestarts ??= s.restarts;
    if (s.restarts < this.baseRestarts) this.baseRestarts = 0; // the manager's count was reset (a new start)
    this.restarts = s.restarts - this.baseRestarts;
    if (s.pid !== this.lastPid) {
      if (this.lastPid !== null && s.state !== "running") {
        this.lastError = lastErrorLine(this.launch.gatewayLog, this.runLogOffset);
        this.onEvent(`gateway (pid ${this.lastPid}) ended; the service manager says ${s.state}`);
      }
      if (s.pid !== null) {
        this.runLogOffset = fileSize(this.launch.gatewayLog);
        this.onEvent(`gateway running as pid ${s.pid}`);
      }
      this.lastPid = s.pid;
    }
    if (s.state === "failed" && this.last.state !== "failed")
      this.lastError = lastErrorLine(this.launch.gatewayLog, this.runLogOffset) ?? this.lastError;
    this.last = s;
    return s;
  }

  start() {
    this.stopping = false;
    void this.svc.start().then(
      () => this.poll(),
      (e: Error) => {
        this.lastError = `could not start the gateway's service: ${e.message}`;
        this.onEvent(this.lastError);
      },
    );
  }

  phase(ready: boolean): GatewayPhase {
    if (this.restartRequested) return "restarting";
    const s = this.last.state;
    if (s === "running" && ready) return "ready";
    if (s === "failed") return "failed";
    if (s === "stopped") return this.stopping ? "stopped" : "starting";
    if (s === "starting" && this.restarts >= CRASH_LOOP_AFTER) return "crash-looping";
    return "starting";
  }

  pid(): number | null {
    return this.last.pid;
  }

  startedAtMs(): number | null {
    return this.last.startedAtMs;
  }

  uptimeSec(): number | null {
    return this.last.startedAtMs ? Math.round((Date.now() - this.last.startedAtMs) / 1000) : null;
  }

  rssBytes(): number | null {
    const pid = this.pid();
    if (!pid) return null;
    let total = 0;
    for (const p of [pid, ...descendants(pid)]) total += rssOf(p);
    return total;
  }

  /** The gateway's own /readyz, on its loopback port (never the unit's state alone). */
  ready(): Promise<boolean> {
    if (this.last.state !== "running") return Promise.resolve(false);
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
      await this.poll();
      if (await this.ready()) return true;
      await new Promise((r) => setTimeout(r, 500));
    }
    return false;
  }

  async restart(): Promise<void> {
    this.restartRequested = true;
    this.stopping = false;
    try {
      await this.svc.restart();
    } catch (e) {
      this.lastError = `could not restart the gateway's service: ${(e as Error).message}`;
    }
    await this.poll();
  }

  restartDone() {
    this.restartRequested = false;
  }

  /** Stops the gateway's service (a stop command, a gate that did not load). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.svc.stop().catch((e: Error) => {
      this.lastError = `could not stop the gateway's service: ${e.message}`;
    });
    await this.poll();
  }

  /** The agent is going away: the gateway's service keeps running on its own. */
  detach() {
    clearInterval(this.timer);
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
