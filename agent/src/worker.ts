// The instance agent's file worker. Everything the agent does with the instance's files (workspace,
// openclaw.json, .env, skills, authorized_keys, the gate's audit log and load mark) and every question
// to the gateway runs here, as the instance's agent user (neither root nor the gateway's user), in a
// sandbox that shows it only this instance's home. A symlink the gateway plants can then at worst
// point it at files that user may not open anyway: other tenants' homes are closed to it, and root's
// files are not in its sandbox. The agent proper (root: the control plane's token, the gateway's
// sandbox) asks it over stdin/stdout (pipe-rpc.ts) and never opens a path the instance can write.
//
// openclaw.json and .env are the agent user's files, group-readable by the gateway's group, in a state
// directory with the sticky bit: the gateway reads them and can neither change nor replace them.
import { chmodSync, existsSync, lstatSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { type CommandContext, ensureBaseConfig, runCommand, tropicWrote } from "./commands.ts";
import { gateExpected } from "./gate-watch.ts";
import { gateLoaded, loadedState } from "./gateway-rpc.ts";
import type { HostFacts } from "./hardening.ts";
import { spawnHardening } from "./hardening-child.ts";
import { PipeRpc } from "./pipe-rpc.ts";
import type { CommandKind } from "./protocol.ts";
import { bundleCli, installSeedScripts } from "./seed-scripts.ts";

/** What the agent tells its worker (the TROPIC_WORKER environment variable, JSON). */
export interface WorkerConfig {
  homeDir: string;
  stateDir: string;
  configPath: string;
  gatewayLog: string;
  /** ws://127.0.0.1:<port> and the gateway's token, to ask it what it runs */
  gateway: { url: string; token: string };
  /** the port on the gateway's loopback where it finds the model proxy (the agent serves it) */
  modelPort?: number;
  /** the listening socket for it is made here (the instance's own network namespace) and handed to the agent */
  modelListenHere?: boolean;
}

/** Directory modes: the gateway's group may write (setgid keeps that group), only owners may replace (sticky). */
export const STATE_DIR_MODE = 0o3770;

export function runWorker() {
  const conf = JSON.parse(process.env.TROPIC_WORKER ?? "null") as WorkerConfig | null;
  if (!conf) {
    process.stderr.write("the worker needs TROPIC_WORKER\n");
    process.exit(2);
  }
  process.umask(0o007);
  // Requests from the agent are answered here; the worker's own questions (restart the gateway, run
  // OpenClaw's config check) go the other way.
  let running = false;
  const ctx: CommandContext = {
    stateDir: conf.stateDir,
    homeDir: conf.homeDir,
    configPath: conf.configPath,
    gatewayLog: conf.gatewayLog,
    owner: null,
    restartGateway: () => rpc.call<boolean>("restartGateway"),
    gatewayRunning: () => running,
    status: () => rpc.call("status"),
    gateway: conf.gateway,
    gatewayReady: () => rpc.call<boolean>("gatewayReady"),
    async validateConfig(text) {
      // The candidate is the worker's file (O_EXCL: never through a planted link); the agent names it to
      // OpenClaw's check in the gateway's sandbox, which reads it as the gateway's user.
      const candidate = join(conf.stateDir, `.tropic-candidate-${process.pid}.json`);
      rmSync(candidate, { force: true });
      writeFileSync(candidate, text, { mode: 0o640, flag: "wx" });
      chmodSync(candidate, 0o640);
      try {
        return await rpc.call<string[] | null>("validateConfig", { path: candidate }, 120_000);
      } finally {
        rmSync(candidate, { force: true });
      }
    },
    gatewayTrouble: () => null,
    ...(conf.modelPort ? { modelPort: conf.modelPort } : {}),
    // The hardening engine, in a child with a heap of its own (hardening-child.ts)
    hardening: (req) => spawnHardening(req),
    // OpenClaw's own audit runs where the gateway runs (the agent has its runtime and sandbox)
    openclawAudit: () => rpc.call<string>("openclawAudit", {}, 100_000),
    hardeningCli: bundleCli(),
  };
  let scriptsInstalled = false;
  const rpc: PipeRpc = new PipeRpc(process.stdin, process.stdout, {
    async command(p: { kind: CommandKind; payload: Record<string, unknown>; running: boolean; facts?: HostFacts }) {
      running = p.running;
      if (p.facts) ctx.hostFacts = p.facts;
      return runCommand(ctx, p.kind, p.payload ?? {});
    },
    async ensureBase(p: { desired: Record<string, unknown> }) {
      ensureStateDir(conf);
      if (typeof p.desired.whatsappPluginDir === "string") ctx.whatsappPluginDir = p.desired.whatsappPluginDir;
      const r = ensureBaseConfig(ctx, p.desired);
      // the agent's own change of the protected config (a new plugin path, a rotated token) is no incident
      if (r.changed.length) await tropicWrote(ctx, { config: true, gate: true });
      if (!scriptsInstalled) {
        scriptsInstalled = true;
        try {
          installSeedScripts(conf.stateDir, ctx.hardeningCli ?? null);
        } catch (e) {
          process.stderr.write(`could not install the seed's scripts: ${(e as Error).message}\n`);
        }
      }
      return r;
    },
    gateCheck: async () => ({ expected: gateExpected(conf.configPath), loaded: await gateLoaded(conf.gateway) }),
    async loaded() {
      const s = await loadedState(conf.gateway);
      return { agents: s.agents, issues: s.config.valid ? [] : s.config.issues, gate: s.gate };
    },
  });
  // The agent closing the pipe ends the worker.
  process.stdin.on("end", () => process.exit(0));
  serveDials(conf);
  listenForModelCalls(conf);
}

/**
 * The listening socket for the gateway's model calls, made here (in the instance's network namespace,
 * which the agent is not in) and handed to the agent, which accepts its connections itself.
 */
function listenForModelCalls(conf: WorkerConfig) {
  const send = process.send?.bind(process);
  if (!send || !conf.modelPort || !conf.modelListenHere) return;
  const server = createServer();
  server.once("error", (e) => send({ t: "model-listener", ok: false, e: e.message }));
  server.listen(conf.modelPort, "127.0.0.1", () => send({ t: "model-listener", ok: true }, server as never, () => server.close()));
}

/**
 * Connections to the gateway for the agent: the worker lives in the instance's network namespace, the
 * agent does not, so the worker connects (to the gateway's port, never anywhere else) and hands the
 * agent the connected socket over the IPC channel (SCM_RIGHTS). Bytes then flow between the agent and
 * the gateway without passing through here.
 */
function serveDials(conf: WorkerConfig) {
  const send = process.send?.bind(process);
  if (!send) return;
  const port = Number(new URL(conf.gateway.url.replace(/^ws/, "http")).port);
  process.on("message", (m: { t?: string; id?: number }) => {
    if (m?.t !== "dial" || typeof m.id !== "number") return;
    const id = m.id;
    const s = connect({ port, host: "127.0.0.1" });
    const fail = (e: Error) => send({ t: "dialed", id, ok: false, e: e.message });
    s.once("error", fail);
    s.once("connect", () => {
      s.off("error", fail);
      send({ t: "dialed", id, ok: true }, s as never);
    });
  });
}

/** ~/.openclaw and its first directories, the agent user's, with the modes above. Refuses a symlink. */
function ensureStateDir(conf: WorkerConfig) {
  for (const d of [conf.stateDir, join(conf.stateDir, "workspace"), join(conf.stateDir, "skills")]) {
    if (existsSync(d) && lstatSync(d).isSymbolicLink()) throw new Error(`refusing the symlink ${d}`);
    if (!existsSync(d)) mkdirSync(d, { mode: STATE_DIR_MODE });
    try {
      chmodSync(d, d === conf.stateDir ? STATE_DIR_MODE : 0o2770);
    } catch {} // a directory the gateway made: it stays as it is
  }
}
