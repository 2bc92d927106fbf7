// The `local` provider (the embedded default): every instance is a real OpenClaw gateway on this
// machine, in its own bubblewrap sandbox, supervised by its own instance agent.
//
//   $TROPIC_DATA_DIR/instances/<id>/          0700, the control plane's
//     instance.json   port, owner, Linux user (no secrets)
//     agent.json      0600: the instance API token and the control plane's URL (never visible to the gateway)
//     launch.json     the sandboxed gateway command line the agent runs (rewritten at every start)
//     agent.pid, agent.log, gateway.log, agent-state/
//     home/           HOME of the instance (owned by its Linux user when we are root)
//       .openclaw/    OPENCLAW_STATE_DIR: openclaw.json, .env, workspace/<slug>/, skills/
//
// The agent is started detached (its own session), so instances keep running when the control plane
// stops; the control plane finds it again through agent.pid (re-adoption). The gateway runs under
// `bwrap --die-with-parent`, so it dies with its agent. Every method is idempotent.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  closeSync,
  lchownSync,
  lstatSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createHash } from "node:crypto";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { installRuntime, type Progress, type RuntimeInfo, runtimeDir, whatsappPluginDir } from "@tropic/runtime";
import { ensureNetns, networkHelperArgv, networkHelpers, netnsPath, removeNetns, SLIRP_DNS } from "./netns.ts";
import { gatewayBasePath, type InstanceProvider, type InstanceSpec, type NetworkRules, type ObservedInstance, ProviderError } from "./provider.ts";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const AGENT_MAIN = join(REPO, "agent", "src", "entry.ts");
const AGENT_BUNDLE_DIR = join(REPO, "agent", ".build");
export const PLUGIN_ID = "tropic-gate";
/** Where the runtime is mounted inside every sandbox (its real location may be in a private directory). */
export const SANDBOX_RUNTIME = "/run/tropic-runtime";

export interface LocalProviderOptions {
  /** $TROPIC_DATA_DIR: instances go to <dataDir>/instances/<id>/ */
  dataDir: string;
  /** the OpenClaw runtime; default: installed on first use into $TROPIC_RUNTIME_DIR or <dataDir>/runtime, with progress */
  runtime?: () => Promise<RuntimeInfo>;
  /** the directory of the tropic-gate plugin linked into every instance */
  pluginDir?: () => Promise<string>;
  /** "auto" (bwrap when installed), "bwrap" (required) or "none" (refuses a second user's instances) */
  sandbox?: "auto" | "bwrap" | "none";
  /** a Linux user per instance; default: when running as root */
  perInstanceUsers?: boolean;
  /** the control plane's own uid (tests: to be judged as an ordinary user while running as root) */
  uid?: number;
  /** each instance's limits (as strict as OpenClaw's own fleet cells by default: 2 GiB, 512 processes) */
  limits?: { memoryBytes: number; pids: number };
  /** files to hide from every sandbox besides the data directory (e.g. a master key file elsewhere) */
  hiddenPaths?: string[];
  log?: (msg: string) => void;
}

/** Runtime install progress as one line a user reads on the instance ("installing the OpenClaw runtime: …"). */
export function runtimeProgressText(p: Progress): string {
  const secs = `${Math.round(p.elapsedMs / 1000)} s`;
  // (openclaw ships its dependencies inside its own package: a package count says little)
  if (p.phase === "download")
    return `installing the OpenClaw runtime (first start): downloading OpenClaw and Node 24 from the npm registry (~840 MB unpacked), ${secs}`;
  // (this server's host bundle build, started at `tropic serve`, installs the same runtime)
  if (p.phase === "lock") return "installing the OpenClaw runtime (first start): another install of it is running; waiting for it";
  if (p.phase === "lifecycle") return `installing the OpenClaw runtime: completing OpenClaw's install scripts, ${secs}`;
  if (p.phase === "verify") return `installing the OpenClaw runtime: verifying, ${secs}`;
  if (p.phase === "done") return `OpenClaw runtime ready (${secs})`;
  return "checking the OpenClaw runtime";
}

interface InstanceFile {
  instanceId: string;
  ownerId: string;
  port: number;
  /** the gateway's user (the tenant) */
  user: string | null;
  uid: number | null;
  gid: number | null;
  /** the agent's user (its file worker), in the gateway's group */
  agentUser?: string | null;
  agentUid?: number | null;
  agentGid?: number | null;
  /** (root-only file) what the agent puts in openclaw.json as the gateway's token */
  gatewayToken?: string;
  /** 2: the home belongs to the gateway's user, openclaw.json and .env to the agent's */
  layout?: number;
  /** the instance's own network namespace (`ip netns` name), when it has one (root, sandboxed) */
  netns?: string | null;
  /** without a namespace: the host loopback port where the agent serves the gateway's model calls */
  modelPort?: number | null;
  createdAt: string;
}

/** The instance file layout this version writes (see InstanceFile.layout). */
const LAYOUT = 2;
/** The instance's home: the gateway's, writable by its group (the agent's user), setgid, sticky. */
const HOME_MODE = 0o3770;

export interface LaunchFile {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  port: number;
  homeDir: string;
  stateDir: string;
  configPath: string;
  readyUrl: string;
  uid: number | null;
  gid: number | null;
  gatewayLog: string;
  /** how the agent starts its file worker (as the agent's user, in its own sandbox) */
  worker: { argv: string[]; env: Record<string, string>; cwd: string };
  /** the limits this machine enforces on the gateway's sandbox, in words (empty: none) */
  limits: string[];
  /** the part of openclaw.json that decides security, as the control plane wants it */
  desired: { gatewayToken: string; basePath: string; pluginDir: string; workspace: string; whatsappPluginDir?: string | null };
  /**
   * How the agent reaches the gateway: "worker" (the gateway is in its own network namespace; the
   * worker, which lives there, dials it and hands the agent the connected socket) or "direct" (no
   * namespace: 127.0.0.1:port).
   */
  dial: "worker" | "direct";
  /** the network helper the agent runs and keeps running (slirp4netns for the namespace), or null */
  networkHelper: string[] | null;
  /** 127.0.0.1:modelPort (in the namespace when there is one): the agent's way to the control plane's model proxy; 0: none */
  modelPort: number;
}

/** In its own namespace every instance's loopback is its own: the model proxy's port can be the same everywhere. */
export const MODEL_PORT_IN_NAMESPACE = 18790;

export function hasBwrap(): boolean {
  return spawnSync("bwrap", ["--version"], { stdio: "ignore" }).status === 0;
}

const BWRAP_HELP =
  "bubblewrap (bwrap) is not installed, so local instances cannot be sandboxed from each other. Install it " +
  "(Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap; Arch: pacman -S bubblewrap) " +
  "and restart Tropic. Without it this machine runs the instances of one user only.";

const ROOT_NEEDS_BWRAP =
  "Tropic runs as root, and as root local instances run only in a bubblewrap sandbox (as their own Linux user, " +
  "which cannot reach the control plane's private data directory otherwise). Install bubblewrap " +
  "(Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap; Arch: pacman -S bubblewrap) and restart Tropic, " +
  "or run Tropic as an ordinary user for unsandboxed single-user instances.";

/**
 * How local instances will run on this machine, or why they cannot: what `tropic serve` says at start.
 * Unsandboxed instances run as the control plane's own user, so as root they need the sandbox.
 */
export function localSandboxPlan(
  mode: "auto" | "bwrap" | "none" = "auto",
  isRoot = process.getuid?.() === 0,
  bwrap = hasBwrap(),
): {
  ok: boolean;
  sandboxed: boolean;
  message: string;
} {
  if (mode !== "none" && bwrap) return { ok: true, sandboxed: true, message: "local instances run in bubblewrap sandboxes" };
  if (mode === "bwrap") return { ok: false, sandboxed: false, message: BWRAP_HELP };
  if (isRoot) return { ok: false, sandboxed: false, message: ROOT_NEEDS_BWRAP };
  return {
    ok: true,
    sandboxed: false,
    message: `local instances run WITHOUT a sandbox, as this user${mode === "none" ? " (TROPIC_SANDBOX=none)" : " (bubblewrap is not installed)"}: only one Tropic user's instances can run on this machine`,
  };
}

export class LocalProvider implements InstanceProvider {
  readonly id = "local" as const;
  readonly root: string;
  private readonly opts: LocalProviderOptions;
  private bwrap: boolean | undefined;
  private runtimeP: Promise<RuntimeInfo> | undefined;

  constructor(opts: LocalProviderOptions) {
    this.opts = opts;
    this.root = join(resolve(opts.dataDir), "instances");
  }

  reference(spec: Pick<InstanceSpec, "instanceId">): string {
    checkId(spec.instanceId);
    return spec.instanceId;
  }

  dir(ref: string) {
    checkId(ref);
    const dir = join(this.root, ref);
    const home = join(dir, "home");
    const state = join(home, ".openclaw");
    return {
      dir,
      home,
      state,
      config: join(state, "openclaw.json"),
      instance: join(dir, "instance.json"),
      agent: join(dir, "agent.json"),
      launch: join(dir, "launch.json"),
      pid: join(dir, "agent.pid"),
      agentLog: join(dir, "agent.log"),
      gatewayLog: join(dir, "gateway.log"),
      status: join(dir, "agent-state", "status.json"),
    };
  }

  private sandboxed(): boolean {
    this.bwrap ??= hasBwrap();
    const plan = localSandboxPlan(this.opts.sandbox ?? "auto", (this.opts.uid ?? process.getuid?.()) === 0, this.bwrap);
    if (!plan.ok) throw new ProviderError(plan.message, "sandbox_unavailable");
    return plan.sandboxed;
  }

  /** A Linux user per instance (as root, always sandboxed); unsandboxed instances run as our own user. */
  private users(): boolean {
    return this.opts.perInstanceUsers ?? ((this.opts.uid ?? process.getuid?.()) === 0 && this.sandboxed());
  }

  private progressListeners = new Set<(p: Progress) => void>();

  private runtime(progress?: (message: string) => void): Promise<RuntimeInfo> {
    const listener = progress ? (p: Progress) => progress(runtimeProgressText(p)) : null;
    if (listener) this.progressListeners.add(listener);
    this.runtimeP ??= (
      this.opts.runtime ??
      (() =>
        installRuntime({
          dir: runtimeDir(),
          onProgress: (p) => {
            for (const l of this.progressListeners) l(p);
            if (p.phase !== "download" || (p.packages ?? 0) % 100 === 0) this.opts.log?.(runtimeProgressText(p));
          },
        }))
    )().catch((e) => {
      this.runtimeP = undefined;
      throw new ProviderError(`the OpenClaw runtime is not available: ${(e as Error).message}`, "runtime_unavailable");
    });
    const p = this.runtimeP;
    if (listener) void p.finally(() => this.progressListeners.delete(listener)).catch(() => {});
    return p;
  }

  private async pluginDir(): Promise<string> {
    if (this.opts.pluginDir) return this.opts.pluginDir();
    return defaultPluginDir();
  }

  async create(spec: InstanceSpec, progress?: (message: string) => void): Promise<ObservedInstance> {
    const p = this.dir(this.reference(spec));
    if (!/^[0-9a-f]{48}$/.test(spec.gatewayToken)) throw new ProviderError("the gateway token must be 48 hex characters", "failed");
    if (!this.sandboxed()) this.refuseSecondUser(spec.ownerId);
    await this.runtime(progress); // installs on first use, with progress
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    mkdirSync(p.dir, { recursive: true, mode: 0o700 });
    mkdirSync(join(p.dir, "agent-state"), { recursive: true, mode: 0o700 });
    const prev = readJson<InstanceFile>(p.instance);
    const port = prev?.port ?? (await freePort());
    // Two users per instance: the gateway's (the tenant) and the agent's (its worker writes the
    // instance's files), who is also in the gateway's group.
    let gw: { user: string; uid: number; gid: number } | null = null;
    let agent: { user: string; uid: number; gid: number } | null = null;
    if (this.users()) {
      this.requireNetworkHelpers();
      const hex = spec.instanceId.replace(/-/g, "").slice(0, 12);
      gw = ensureUser(`tropic-${hex}`, p.home);
      agent = ensureUser(`tropic-a-${hex}`, p.home, gw.user);
    }
    // Root makes the home once, in its own directory, and never looks inside it again: what is in
    // there (openclaw.json, workspaces, skills) is written by the agent's worker, as the agent's user.
    if (!existsSync(p.home)) {
      mkdirSync(p.home, { mode: 0o700 });
      if (gw) chownSync(p.home, gw.uid, gw.gid);
      chmodSync(p.home, HOME_MODE);
    } else if (gw && (prev?.layout ?? 1) < LAYOUT && !this.agentPid(spec.instanceId)) migrateHome(p.home, p.state, gw, agent!);
    // The agent holds this token for the control plane; the gateway's token goes to it too, so it never
    // needs what the gateway's user can write into openclaw.json.
    writeJsonAtomic(
      p.agent,
      { instanceId: spec.instanceId, url: spec.controlPlaneUrl, token: spec.agentToken, gatewayToken: spec.gatewayToken },
      0o600,
    );
    const file: InstanceFile = {
      instanceId: spec.instanceId,
      ownerId: spec.ownerId,
      port,
      user: gw?.user ?? null,
      uid: gw?.uid ?? null,
      gid: gw?.gid ?? null,
      agentUser: agent?.user ?? null,
      agentUid: agent?.uid ?? null,
      agentGid: agent?.gid ?? null,
      // Its own network namespace wherever it has its own users (as root): see netns.ts.
      netns: gw ? `tropic-${spec.instanceId.replace(/-/g, "").slice(0, 12)}` : null,
      modelPort: gw ? null : (prev?.modelPort ?? (await freePort())),
      gatewayToken: spec.gatewayToken,
      layout: LAYOUT,
      createdAt: prev?.createdAt ?? new Date().toISOString(),
    };
    writeJsonAtomic(p.instance, file, 0o600);
    return this.describe(spec.instanceId);
  }

  /** A sandboxed instance gets its own network namespace; without the programs for it, none starts (fail closed). */
  private requireNetworkHelpers() {
    const h = networkHelpers();
    if (!h.ok)
      throw new ProviderError(
        `local instances run in a network namespace of their own, which needs ${h.missing.join(", ")}: install ` +
          "them (Debian/Ubuntu: apt-get install slirp4netns nftables iproute2) and restart Tropic",
        "sandbox_unavailable",
      );
  }

  /** Without a sandbox, instances of two users would see each other's files: refuse the second user. */
  private refuseSecondUser(ownerId: string) {
    if (!existsSync(this.root)) return;
    for (const id of readdirSync(this.root)) {
      const f = readJson<InstanceFile>(join(this.root, id, "instance.json"));
      if (f && f.ownerId !== ownerId) throw new ProviderError(BWRAP_HELP, "sandbox_unavailable");
    }
  }

  /** The sandboxed gateway command line for an instance (what the agent runs and restarts). */
  async launchFile(ref: string): Promise<LaunchFile> {
    const p = this.dir(ref);
    const inst = readJson<InstanceFile>(p.instance);
    if (!inst) throw new ProviderError(`instance ${ref} is not created`, "not_found");
    const rt = await this.runtime();
    const gatewayArgs = ["gateway", "run", "--allow-unconfigured", "--port", String(inst.port), "--bind", "loopback"];
    const env: Record<string, string> = {
      PATH: "/usr/local/bin:/usr/bin:/bin",
      LANG: process.env.LANG ?? "C.UTF-8",
      HOME: p.home,
      OPENCLAW_STATE_DIR: p.state,
      TMPDIR: "/tmp",
      NO_COLOR: "1",
      // Node's compile cache in the instance's own home (the sandbox's /tmp is empty at every start).
      NODE_COMPILE_CACHE: join(p.home, ".cache", "node-compile-cache"),
      // openclaw.json is Tropic's (the instance agent writes it; the gateway hot-reloads it): OpenClaw's
      // own writers (Control UI settings, onboarding, `openclaw config set` from a tool call) refuse, saying so.
      OPENCLAW_CONFIG_READONLY: "1",
    };
    let argv: string[];
    let limits: string[] = [];
    const pluginDir = await this.pluginDir();
    // OpenClaw's WhatsApp channel plugin (docs/whatsapp.md): in the runtime (seen at SANDBOX_RUNTIME), or a
    // directory of its own that the sandbox shows read-only; loaded only once the user pairs WhatsApp.
    const waDir = whatsappPluginDir(rt.prefix);
    const waInRuntime = waDir !== null && waDir.startsWith(`${rt.prefix}/`);
    const bundle = await agentBundle();
    const asRoot = process.getuid?.() === 0;
    const dataDir = resolve(this.opts.dataDir);
    // The agent's worker: the instance's files, as the agent's user (in the gateway's group), in a
    // sandbox that shows it only this instance's home (and the agent bundle it runs).
    const workerEnv: Record<string, string> = {
      // the IPC channel (fd 3) over which the worker hands the agent connections to the gateway
      NODE_CHANNEL_FD: "3",
      PATH: "/usr/local/bin:/usr/bin:/bin",
      LANG: process.env.LANG ?? "C.UTF-8",
      HOME: p.home,
      TROPIC_WORKER: JSON.stringify({
        homeDir: p.home,
        stateDir: p.state,
        configPath: p.config,
        gatewayLog: p.gatewayLog,
        gateway: { url: `ws://127.0.0.1:${inst.port}`, token: inst.gatewayToken ?? "" },
        ...(inst.netns ? { modelPort: MODEL_PORT_IN_NAMESPACE, modelListenHere: true } : inst.modelPort ? { modelPort: inst.modelPort } : {}),
      }),
    };
    const workerCmd = [process.execPath, "--max-old-space-size=16", "--max-semi-space-size=1", "--lite-mode", bundle, "--worker"];
    let worker: { argv: string[]; env: Record<string, string>; cwd: string };
    // In its own network namespace, the sandbox's DNS is slirp's forwarder (this machine's resolver
    // may sit at an address the namespace rejects); the file is root's, bound read-only.
    const netns = inst.netns ?? null;
    let resolv: { src: string; dest: string } | null = null;
    if (netns) {
      resolv = { src: join(p.dir, "resolv.conf"), dest: resolvConfTarget() };
      writeFileAtomic(resolv.src, `nameserver ${SLIRP_DNS}\n`, 0o644);
    }
    const inNetns = (argv: string[]) => (netns ? ["nsenter", `--net=${netnsPath(netns)}`, "--", ...argv] : argv);
    if (this.sandboxed()) {
      const prefix = rt.prefix;
      const rel = (f: string) => join(SANDBOX_RUNTIME, f.slice(prefix.length));
      // As strict as OpenClaw's fleet cells: no capabilities, no new privileges, memory and process limits.
      const cg = asRoot ? instanceCgroups(ref, this.opts.limits ?? DEFAULT_LIMITS) : { dirs: [], enforced: [] };
      // The skills' commands (<state>/skills-bin, written by the agent, docs/skills.md) and the runtime's node first.
      env.PATH = `${join(p.state, "skills-bin")}:${dirname(rel(rt.node))}:${env.PATH}`;
      argv = inNetns(
        inCgroups(cg.dirs, [
          ...sandboxArgs({
            home: p.home,
            dataDir,
            runtimePrefix: prefix,
            readOnly: [pluginDir, ...(waDir && !waInRuntime ? [waDir] : [])],
            ...(resolv ? { files: [resolv] } : {}),
            hidden: this.opts.hiddenPaths ?? [],
            env,
            uid: inst.uid,
            gid: inst.gid,
            asRoot,
            umask: "0007",
          }),
          rel(rt.node),
          rel(rt.openclaw),
          ...gatewayArgs,
        ]),
      );
      limits = cg.enforced;
      const execDir = dirname(realpathSync(process.execPath));
      worker = {
        argv: inNetns([
          ...sandboxArgs({
            home: p.home,
            dataDir,
            runtimePrefix: null,
            // (and the gate plugin's files: the worker's audit and integrity check read them)
            readOnly: [dirname(bundle), pluginDir, ...(execDir.startsWith("/usr/") ? [] : [execDir])],
            hidden: this.opts.hiddenPaths ?? [],
            env: workerEnv,
            uid: inst.agentUid ?? inst.uid,
            gid: inst.agentGid ?? inst.gid,
            groups: inst.gid !== null ? [inst.gid] : [],
            asRoot,
          }),
          ...workerCmd,
        ]),
        env: {},
        cwd: p.home,
      };
    } else {
      env.PATH = `${join(p.state, "skills-bin")}:${dirname(rt.node)}:${env.PATH}`;
      argv = [rt.node, rt.openclaw, ...gatewayArgs];
      worker = { argv: workerCmd, env: workerEnv, cwd: p.home };
    }
    return {
      argv,
      env,
      cwd: p.home,
      port: inst.port,
      homeDir: p.home,
      stateDir: p.state,
      configPath: p.config,
      readyUrl: `http://127.0.0.1:${inst.port}/readyz`,
      uid: null,
      gid: null,
      gatewayLog: p.gatewayLog,
      worker,
      limits,
      dial: netns ? "worker" : "direct",
      modelPort: netns ? MODEL_PORT_IN_NAMESPACE : (inst.modelPort ?? 0),
      networkHelper: netns ? networkHelperArgv(netns) : null,
      desired: {
        gatewayToken: inst.gatewayToken ?? "",
        basePath: gatewayBasePath(ref),
        pluginDir,
        workspace: join(p.state, "workspace"),
        whatsappPluginDir: waDir && waInRuntime && this.sandboxed() ? join(SANDBOX_RUNTIME, waDir.slice(rt.prefix.length)) : waDir,
      },
    };
  }

  async start(ref: string): Promise<void> {
    const p = this.dir(ref);
    if (!existsSync(p.instance)) throw new ProviderError(`instance ${ref} is not created`, "not_found");
    if (this.agentPid(ref)) return; // already running: adopt it
    const inst = readJson<InstanceFile>(p.instance);
    if (inst?.netns) {
      this.requireNetworkHelpers();
      try {
        ensureNetns(inst.netns);
      } catch (e) {
        throw new ProviderError(`could not make the instance's network namespace: ${(e as Error).message}`, "failed");
      }
    }
    writeJsonAtomic(p.launch, await this.launchFile(ref), 0o600);
    const entry = await agentBundle();
    const out = openSync(p.agentLog, "a", 0o600);
    // The agent, bundled into one ES module, on the control plane's Node 20 (smaller than Node 24 here)
    // with a small heap and no optimising compiler: ~50 MB RSS.
    const child: ChildProcess = spawn(process.execPath, ["--max-old-space-size=16", "--max-semi-space-size=1", "--lite-mode", entry, p.dir], {
      detached: true,
      stdio: ["ignore", out, out],
      cwd: p.dir,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: process.env.LANG ?? "C.UTF-8" },
    });
    closeSync(out);
    child.unref();
    const t0 = Date.now();
    while (Date.now() - t0 < 10_000) {
      if (this.agentPid(ref)) return;
      if (child.exitCode !== null) break;
      await sleep(50);
    }
    throw new ProviderError(`the instance agent did not start:\n${tail(p.agentLog)}`, "failed");
  }

  /** The live agent's pid (pid file + the process is that agent), or 0. */
  agentPid(ref: string): number {
    const p = this.dir(ref);
    let pid = 0;
    try {
      pid = Number(readFileSync(p.pid, "utf8").trim());
    } catch {
      return 0;
    }
    if (!pid) return 0;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      return cmd.includes(AGENT_BUNDLE_DIR) && cmd.includes(p.dir) ? pid : 0;
    } catch {
      return 0;
    }
  }

  async stop(ref: string): Promise<void> {
    const pid = this.agentPid(ref);
    if (!pid) return;
    try {
      process.kill(pid, "SIGTERM");
    } catch {}
    const t0 = Date.now();
    while (Date.now() - t0 < 15_000 && this.agentPid(ref)) await sleep(100);
    if (this.agentPid(ref)) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {}
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
      while (this.agentPid(ref)) await sleep(50);
    }
  }

  async destroy(ref: string): Promise<void> {
    const p = this.dir(ref);
    await this.stop(ref);
    const inst = readJson<InstanceFile>(p.instance);
    // The sandboxes die with the agent, a moment after it; userdel refuses while a process of the user lives.
    // Whatever of the instance's own users still runs is killed: a gateway left behind by an agent that
    // died oddly would otherwise keep a deleted instance running (seen once in CI, spinning a core).
    for (const user of [inst?.agentUser, inst?.user]) {
      if (user) spawnSync("pkill", ["-KILL", "-u", user], { stdio: "ignore" });
      for (let i = 0; user && i < 50; i++) {
        const r = spawnSync("userdel", [user], { stdio: "ignore" });
        if (r.status === 0 || r.status === 6 /* no such user */) break;
        await sleep(100);
      }
    }
    if (inst?.netns) removeNetns(inst.netns);
    // Nothing of the instance runs any more, so its tree cannot change under this; rm never follows links.
    rmSync(p.dir, { recursive: true, force: true });
    for (const base of ["/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/sys/fs/cgroup"])
      try {
        rmdirSync(join(base, "tropic", ref));
      } catch {}
  }

  async describe(ref: string): Promise<ObservedInstance> {
    const p = this.dir(ref);
    const inst = readJson<InstanceFile>(p.instance);
    if (!inst) return { providerRef: ref, state: existsSync(p.dir) ? "provisioning" : "gone", addresses: {} };
    const gateway = `http://127.0.0.1:${inst.port}`;
    const status = readJson<{ gatewayPid?: number; restarts?: number }>(p.status);
    return {
      providerRef: ref,
      state: this.agentPid(ref) ? "running" : "stopped",
      // (no healthUrl: the control plane asks the gateway through the agent's tunnel)
      addresses: { gateway },
      ...(status ? { detail: `gateway restarts: ${status.restarts ?? 0}` } : {}),
    };
  }

  /** Root writes nothing into an instance's home: keys reach it as the agent's set_authorized_keys command. */
  async pushSshKeys(ref: string, _publicKeys: string[]): Promise<void> {
    if (!existsSync(this.dir(ref).instance)) throw new ProviderError(`instance ${ref} is not created`, "not_found");
  }

  /**
   * A local gateway binds loopback in its own network namespace and is never reachable from elsewhere
   * (the control plane reaches it through the agent's tunnel); the rules are recorded for audits.
   */
  async applyNetworkRules(ref: string, rules: NetworkRules): Promise<void> {
    const p = this.dir(ref);
    if (!existsSync(p.instance)) throw new ProviderError(`instance ${ref} is not created`, "not_found");
    writeJsonAtomic(
      join(p.dir, "network.json"),
      { ...rules, enforced: "gateway bound to 127.0.0.1 in the instance's own network namespace; no inbound port" },
      0o600,
    );
  }

  /** Runs a command in the instance's sandbox, as the instance's user (what the gateway and its tools see). */
  async execInSandbox(ref: string, command: string[], timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const launch = await this.launchFile(ref);
    const i = launch.argv.findIndex((a) => a.endsWith("/bin/node"));
    const argv = this.sandboxed() ? [...launch.argv.slice(0, i), ...command] : command;
    // Asynchronous: the caller's event loop keeps serving (what the command may talk to can be in this process).
    return new Promise((resolve) => {
      const p = spawn(argv[0]!, argv.slice(1), { env: launch.env, cwd: launch.cwd, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      p.stdout.on("data", (d) => {
        stdout += d;
      });
      p.stderr.on("data", (d) => {
        stderr += d;
      });
      const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
      p.on("error", (e) => {
        stderr += e.message;
      });
      p.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Ids of every instance directory (for re-adoption after a control-plane restart). */
  list(): string[] {
    return existsSync(this.root) ? readdirSync(this.root).filter((d) => existsSync(join(this.root, d, "instance.json"))) : [];
  }
}

export const DEFAULT_LIMITS = { memoryBytes: 2 * 1024 ** 3, pids: 512 };

/**
 * The instance's cgroups, made (as root) with its limits: memory and number of processes, through
 * cgroup v1's `memory` and `pids` hierarchies or cgroup v2, whichever this machine has. Returns the
 * directories a process joins and what is enforced, in words (nothing, where neither is writable).
 */
export function instanceCgroups(id: string, limits = DEFAULT_LIMITS, root = "/sys/fs/cgroup"): { dirs: string[]; enforced: string[] } {
  const dirs: string[] = [];
  const enforced: string[] = [];
  const gib = (limits.memoryBytes / 1024 ** 3).toFixed(1);
  const make = (base: string, files: Record<string, string>, what: string) => {
    try {
      const d = join(base, "tropic", id);
      mkdirSync(d, { recursive: true });
      for (const [f, v] of Object.entries(files)) writeFileSync(join(d, f), v);
      dirs.push(d);
      enforced.push(what);
    } catch {}
  };
  if (existsSync(join(root, "memory", "cgroup.procs")) || existsSync(join(root, "pids", "cgroup.procs"))) {
    if (existsSync(join(root, "memory", "cgroup.procs")))
      make(join(root, "memory"), { "memory.limit_in_bytes": String(limits.memoryBytes) }, `memory ≤ ${gib} GiB (cgroup v1)`);
    if (existsSync(join(root, "pids", "cgroup.procs")))
      make(join(root, "pids"), { "pids.max": String(limits.pids) }, `≤ ${limits.pids} processes (cgroup v1)`);
  } else if (existsSync(join(root, "cgroup.controllers"))) {
    try {
      writeFileSync(join(root, "cgroup.subtree_control"), "+memory +pids");
      mkdirSync(join(root, "tropic"), { recursive: true });
      writeFileSync(join(root, "tropic", "cgroup.subtree_control"), "+memory +pids");
    } catch {}
    make(
      root,
      { "memory.max": String(limits.memoryBytes), "pids.max": String(limits.pids) },
      `memory ≤ ${gib} GiB, ≤ ${limits.pids} processes (cgroup v2)`,
    );
  }
  return { dirs, enforced };
}

/** argv that first moves itself into `cgroups`, then runs `argv` (so nothing it starts escapes them). */
export function inCgroups(cgroups: string[], argv: string[]): string[] {
  if (!cgroups.length) return argv;
  const join_ = cgroups.map((d) => `echo $$ > ${d}/cgroup.procs`).join(" && ");
  return ["/bin/sh", "-c", `${join_} && exec "$@"`, "sh", ...argv];
}

/**
 * bubblewrap arguments: the whole file system read-only; the control plane's data directory (other
 * instances, the database, the master key), /tmp, /run and /root replaced by empty tmpfs; only the
 * instance's home bind-mounted writable at its own path; the runtime mounted read-only at
 * /run/tropic-runtime; `readOnly` paths (the gate plugin) bound read-only at their own path, so they
 * are there even when a hidden directory holds them (a checkout under /tmp or /root); own
 * pid/ipc/uts namespaces; dies with its parent (the agent). As root, the
 * command drops to the instance's user (setpriv) with no capabilities left.
 */
export function sandboxArgs(o: {
  home: string;
  dataDir: string;
  /** the OpenClaw runtime, mounted read-only at /run/tropic-runtime (null: none, the agent's worker) */
  runtimePrefix: string | null;
  readOnly?: string[];
  hidden: string[];
  env: Record<string, string>;
  uid: number | null;
  gid: number | null;
  /** supplementary groups (the agent's worker is in the gateway's group) */
  groups?: number[];
  /** single files bound read-only over a path of the sandbox (its resolv.conf) */
  files?: { src: string; dest: string }[];
  /** the umask the command starts with (the gateway: 0007, so the agent's group can read what it writes) */
  umask?: string;
  asRoot: boolean;
}): string[] {
  const args = ["bwrap", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"];
  args.push("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc");
  const tmpfs: string[] = [];
  const made = new Set<string>();
  // Mount points below an earlier tmpfs need their parents created, world-traversable.
  const parents = (dest: string) => {
    const parts = dest.split("/").filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const a = `/${parts.slice(0, i).join("/")}`;
      if (made.has(a) || !tmpfs.some((t) => a.startsWith(`${t}/`))) continue;
      made.add(a);
      args.push("--perms", "0755", "--dir", a);
    }
  };
  const addTmpfs = (d: string, perms = "0755") => {
    if (tmpfs.some((t) => d === t || d.startsWith(`${t}/`))) return;
    parents(d);
    args.push("--perms", perms, "--tmpfs", d);
    tmpfs.push(d);
  };
  addTmpfs("/tmp", "1777");
  addTmpfs("/run");
  if (existsSync("/root")) addTmpfs("/root");
  // A directory on the way to a path the sandbox needs that others cannot enter (a 0700 home holding
  // the data directory or the checkout) would stop the instance's user from reaching its own home:
  // it is replaced by an empty, enterable tmpfs, and what is needed below it is bound back.
  for (const d of privateAncestors([o.dataDir, o.home, ...(o.readOnly ?? [])])) addTmpfs(d);
  addTmpfs(o.dataDir, "0755");
  for (const h of o.hidden) {
    if (!existsSync(h) || tmpfs.some((t) => h === t || h.startsWith(`${t}/`))) continue;
    if (statSync(h).isDirectory()) addTmpfs(h);
    else args.push("--ro-bind", "/dev/null", h);
  }
  if (o.runtimePrefix) {
    parents(`${SANDBOX_RUNTIME}/x`);
    args.push("--ro-bind", o.runtimePrefix, SANDBOX_RUNTIME);
  }
  for (const r of o.readOnly ?? []) {
    parents(r);
    args.push("--ro-bind", r, r);
  }
  for (const f of o.files ?? []) {
    parents(f.dest);
    args.push("--ro-bind", f.src, f.dest);
  }
  parents(o.home);
  args.push("--bind", o.home, o.home, "--chdir", o.home, "--clearenv");
  for (const [k, v] of Object.entries(o.env)) args.push("--setenv", k, v);
  if (o.asRoot && o.uid !== null && o.gid !== null) {
    args.push("--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--");
    const groups = o.groups?.length ? `--groups=${o.groups.join(",")}` : "--clear-groups";
    args.push("setpriv", `--reuid=${o.uid}`, `--regid=${o.gid}`, groups, "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs");
  } else args.push("--");
  if (o.umask) args.push("/bin/sh", "-c", `umask ${o.umask} && exec "$@"`, "sh");
  return args;
}

/** Where a sandbox's resolv.conf goes: /etc/resolv.conf, or what it links to (systemd-resolved's stub under /run). */
function resolvConfTarget(): string {
  try {
    return realpathSync("/etc/resolv.conf");
  } catch {
    return "/etc/resolv.conf";
  }
}

/** Ancestors of `paths` (not `/`) that others cannot traverse (no o+x), outermost first. */
export function privateAncestors(paths: string[]): string[] {
  const out = new Set<string>();
  for (const p of paths) {
    const parts = resolve(p).split("/").filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const a = `/${parts.slice(0, i).join("/")}`;
      try {
        if ((statSync(a).mode & 0o001) === 0) out.add(a);
      } catch {}
    }
  }
  return [...out].sort((x, y) => x.length - y.length);
}

/**
 * agent/src bundled (esbuild, with `ws`) into agent/.build/agent-<hash>.mjs, rebuilt when a source
 * changes. A running agent keeps the file it started from; a new version is picked up at its next start.
 */
export async function agentBundle(): Promise<string> {
  const src = join(REPO, "agent", "src");
  const h = createHash("sha256");
  for (const f of readdirSync(src).sort()) h.update(f).update(readFileSync(join(src, f)));
  // what the agent bundles besides its own sources: the hardening engine and the gate's secret detector
  const hardening = join(REPO, "hardening", "src");
  for (const f of [
    ...readdirSync(hardening)
      .sort()
      .map((x) => join(hardening, x)),
    join(REPO, "gate", "src", "redact.ts"),
  ])
    h.update(f.slice(REPO.length)).update(readFileSync(f));
  const out = join(AGENT_BUNDLE_DIR, `agent-${h.digest("hex").slice(0, 12)}.mjs`);
  if (existsSync(out)) return out;
  const { build } = await import("esbuild");
  mkdirSync(AGENT_BUNDLE_DIR, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  await build({
    entryPoints: [AGENT_MAIN],
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    outfile: tmp,
    banner: { js: 'import { createRequire as __tropicRequire } from "node:module"; const require = __tropicRequire(import.meta.url);' },
    logLevel: "silent",
  });
  renameSync(tmp, out);
  // Older builds go (a running agent has its code in memory already).
  for (const f of readdirSync(AGENT_BUNDLE_DIR))
    if (f.startsWith("agent-") && f.endsWith(".mjs") && join(AGENT_BUNDLE_DIR, f) !== out) rmSync(join(AGENT_BUNDLE_DIR, f), { force: true });
  return out;
}

async function defaultPluginDir(): Promise<string> {
  // The bundled plugin when the plugin package provides one; else the plugin's source directory.
  const spec = "@tropic/openclaw-plugin/bundle.ts";
  try {
    const m = (await import(spec)) as { preparedPluginDir?: () => Promise<string> };
    if (typeof m.preparedPluginDir === "function") return await m.preparedPluginDir();
  } catch {}
  return join(REPO, "plugin");
}

function ensureUser(name: string, home: string, group?: string): { user: string; uid: number; gid: number } {
  const look = () => {
    const u = spawnSync("id", ["-u", name], { encoding: "utf8" });
    const g = spawnSync("id", ["-g", name], { encoding: "utf8" });
    return u.status === 0 && g.status === 0 ? { user: name, uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) } : null;
  };
  const found = look();
  if (found) {
    if (group && !spawnSync("id", ["-nG", name], { encoding: "utf8" }).stdout.split(/\s+/).includes(group))
      spawnSync("usermod", ["-a", "-G", group, name], { stdio: "ignore" });
    return found;
  }
  const r = spawnSync(
    "useradd",
    ["--system", "--user-group", "--no-create-home", "--home-dir", home, "--shell", "/usr/sbin/nologin", ...(group ? ["-G", group] : []), name],
    { encoding: "utf8" },
  );
  const made = look();
  if (!made) throw new ProviderError(`could not create the instance's Linux user ${name}: ${r.stderr.trim()}`, "failed");
  return made;
}

/**
 * An instance made by an older Tropic (everything the gateway user's, 0700) gets this layout, while
 * none of its processes runs (so nothing changes under the walk), never following a link: the tree
 * the gateway's group may use, openclaw.json and .env the agent's.
 */
function migrateHome(home: string, state: string, gw: { uid: number; gid: number }, agent: { uid: number; gid: number }) {
  const walk = (path: string) => {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return;
    lchownSync(path, gw.uid, gw.gid);
    if (!st.isDirectory()) {
      chmodSync(path, (st.mode & 0o700) | ((st.mode & 0o700) >> 3));
      return;
    }
    chmodSync(path, 0o2770);
    for (const e of readdirSync(path)) walk(join(path, e));
  };
  walk(home);
  chmodSync(home, HOME_MODE);
  if (existsSync(state) && lstatSync(state).isDirectory()) {
    lchownSync(state, agent.uid, gw.gid);
    chmodSync(state, 0o3770);
    for (const f of ["openclaw.json", ".env"]) {
      const path = join(state, f);
      if (existsSync(path) && lstatSync(path).isFile()) {
        lchownSync(path, agent.uid, gw.gid);
        chmodSync(path, 0o640);
      }
    }
  }
}

function checkId(id: string) {
  if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(id)) throw new ProviderError(`bad instance reference "${id}"`, "not_found");
}

export function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch {
    return null;
  }
}

function writeFileAtomic(path: string, text: string, mode: number) {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

function writeJsonAtomic(path: string, v: unknown, mode: number) {
  writeFileAtomic(path, `${JSON.stringify(v, null, 2)}\n`, mode);
}

function tail(path: string): string {
  try {
    return readFileSync(path, "utf8").slice(-2000);
  } catch {
    return "";
  }
}

/** A loopback TCP port that was free a moment ago. */
/** A TCP port free right now on `host` (default loopback). */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
