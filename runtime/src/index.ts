// The OpenClaw runtime every local instance runs on: Node 24 (npm package `node-<os>-<arch>@24`) and
// the pinned `openclaw`, installed once into a cache directory and reused. npm is run with
// --ignore-scripts: openclaw's own preinstall refuses node < 24 (the npm we run under). That leaves
// openclaw's `.openclaw-lifecycle-pending` marker, which its first run completes by writing into the
// package; in a read-only sandbox the gateway would exit with EROFS forever. So the install completes
// the lifecycle itself (one `openclaw --version` on Node 24, unsandboxed) and checks the marker is gone.
// Idempotent: a marker file records what was installed and is written last, so an interrupted install
// is simply redone; a lock directory serialises concurrent installs.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

export const OPENCLAW_VERSION = "2026.9.6";
export const NODE_MAJOR = 24;
/** OpenClaw's WhatsApp channel plugin, pinned to OPENCLAW_VERSION and installed into the runtime's prefix */
export const WHATSAPP_PLUGIN = "@openclaw/whatsapp";

/**
 * Where the WhatsApp channel plugin is: `$TROPIC_WHATSAPP_PLUGIN_DIR` (tests: the MOCK stand-in), else
 * `<runtime prefix>/node_modules/@openclaw/whatsapp`; null when neither exists (a runtime installed
 * before the plugin was part of it: reinstall the runtime).
 */
export function whatsappPluginDir(prefix: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.TROPIC_WHATSAPP_PLUGIN_DIR) return existsSync(env.TROPIC_WHATSAPP_PLUGIN_DIR) ? resolve(env.TROPIC_WHATSAPP_PLUGIN_DIR) : null;
  const dir = join(prefix, "node_modules", WHATSAPP_PLUGIN);
  return existsSync(join(dir, "openclaw.plugin.json")) ? dir : null;
}
const MARKER = "runtime.json";

export interface RuntimeInfo {
  openclawVersion: string;
  nodeVersion: string;
  nodePackage: string;
  /** the Node 24 binary */
  node: string;
  /** openclaw's CLI entry (run it with `node`) */
  openclaw: string;
  prefix: string;
  installedAt: string;
  bytes: number;
}

export type RuntimeStatus = ({ installed: true } & RuntimeInfo & { dir: string }) | { installed: false; dir: string; reason: string };

export function nodePackageName(platform = process.platform, arch = process.arch) {
  return `node-${platform === "win32" ? "win" : platform}-${arch}`;
}

/** `$TROPIC_RUNTIME_DIR`, else `$TROPIC_DATA_DIR/runtime` (the data directory defaults to ./.tropic). */
export function runtimeDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TROPIC_RUNTIME_DIR) return resolve(env.TROPIC_RUNTIME_DIR);
  return resolve(env.TROPIC_DATA_DIR ?? ".tropic", "runtime");
}

/** The shared cache the tests (and CI) use, so the ~840 MB runtime is downloaded once per machine. */
export function testRuntimeDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TROPIC_RUNTIME_DIR ? resolve(env.TROPIC_RUNTIME_DIR) : join(homedir(), ".cache", "tropic", "runtime");
}

const prefixOf = (dir: string) => join(dir, `openclaw-${OPENCLAW_VERSION}-node${NODE_MAJOR}`);

export function runtimeStatus(dir = runtimeDir()): RuntimeStatus {
  const prefix = prefixOf(dir);
  const markerPath = join(prefix, MARKER);
  if (!existsSync(markerPath)) return { installed: false, dir, reason: `not installed (no ${markerPath})` };
  let info: RuntimeInfo;
  try {
    info = JSON.parse(readFileSync(markerPath, "utf8"));
  } catch (e) {
    return { installed: false, dir, reason: `unreadable marker ${markerPath}: ${(e as Error).message}` };
  }
  if (info.openclawVersion !== OPENCLAW_VERSION)
    return { installed: false, dir, reason: `openclaw ${info.openclawVersion} installed, ${OPENCLAW_VERSION} wanted` };
  for (const f of [info.node, info.openclaw]) if (!existsSync(f)) return { installed: false, dir, reason: `missing ${f}` };
  // A runtime from before the WhatsApp plugin was part of it is reinstalled (hosts' bundles carry it too).
  if (!whatsappPluginDir(prefix, {})) return { installed: false, dir, reason: `missing ${WHATSAPP_PLUGIN} (installed with the runtime)` };
  const pending = lifecyclePending(info.openclaw);
  if (pending) return { installed: false, dir, reason: `OpenClaw's package lifecycle is incomplete (${pending} exists)` };
  return { installed: true, dir, ...info };
}

/** The file that says OpenClaw's install scripts have not run yet, or null. */
export function lifecyclePending(openclawEntry: string): string | null {
  const pkg = dirname(openclawEntry);
  for (const f of [".openclaw-lifecycle-pending", join("dist", "openclaw-install-guard")]) if (existsSync(join(pkg, f))) return join(pkg, f);
  return null;
}

/**
 * Runs OpenClaw once, unsandboxed, so it completes its pending package lifecycle (its pre- and
 * postinstall scripts) while the package is still writable. HOME and the state directory are a
 * throw-away directory, so nothing is written into the installing user's own ~/.openclaw.
 */
export function completeLifecycle(node: string, openclaw: string): void {
  const home = mkdtempSync(join(tmpdir(), "tropic-runtime-lifecycle-"));
  try {
    const r = spawnSync(node, [openclaw, "--version"], {
      encoding: "utf8",
      timeout: 300_000,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, OPENCLAW_STATE_DIR: join(home, ".openclaw"), NO_COLOR: "1" },
    });
    const pending = lifecyclePending(openclaw);
    if (r.status !== 0 || pending)
      throw new Error(
        `runtime install: OpenClaw's package lifecycle did not complete (${pending ?? `exit ${r.status}`}): ${`${r.stdout ?? ""}${r.stderr ?? ""}`.trim().slice(-1500)}`,
      );
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

export interface Progress {
  phase: "check" | "lock" | "download" | "lifecycle" | "verify" | "done";
  message: string;
  packages?: number;
  elapsedMs: number;
}

export interface InstallOptions {
  dir?: string;
  onProgress?: (p: Progress) => void;
  /** npm executable (default: `npm` on PATH) */
  npm?: string;
  /** give up waiting for another process's install after this long */
  lockTimeoutMs?: number;
  force?: boolean;
}

/** Installs the runtime if it is not there yet; returns what is installed either way. */
export async function installRuntime(opts: InstallOptions = {}): Promise<RuntimeInfo & { dir: string; reused: boolean }> {
  const dir = opts.dir ?? runtimeDir();
  const t0 = Date.now();
  const report = (phase: Progress["phase"], message: string, packages?: number) =>
    opts.onProgress?.({ phase, message, packages, elapsedMs: Date.now() - t0 });
  report("check", `checking ${dir}`);
  const before = runtimeStatus(dir);
  if (before.installed && !opts.force) {
    report("done", `OpenClaw ${before.openclawVersion} on Node ${before.nodeVersion} already installed`);
    return { ...before, reused: true };
  }
  mkdirSync(dir, { recursive: true });
  const release = await lock(join(dir, ".install.lock"), opts.lockTimeoutMs ?? 15 * 60_000, () =>
    report("lock", "another install is running; waiting for it"),
  );
  try {
    const again = runtimeStatus(dir);
    if (again.installed && !opts.force) {
      report("done", `OpenClaw ${again.openclawVersion} on Node ${again.nodeVersion} installed by another process`);
      return { ...again, reused: true };
    }
    const prefix = prefixOf(dir);
    mkdirSync(prefix, { recursive: true });
    rmSync(join(prefix, MARKER), { force: true });
    if (!existsSync(join(prefix, "package.json")))
      writeFileSync(join(prefix, "package.json"), `${JSON.stringify({ name: "tropic-openclaw-runtime", private: true }, null, 2)}\n`);
    const nodePkg = nodePackageName();
    // (OpenClaw's WhatsApp channel plugin ships outside openclaw: installed beside it, same version, so
    // hosts get it from the control plane's bundle and never from the internet; docs/whatsapp.md)
    const specs = [`openclaw@${OPENCLAW_VERSION}`, `${WHATSAPP_PLUGIN}@${OPENCLAW_VERSION}`, `${nodePkg}@^${NODE_MAJOR}`];
    const node = join(prefix, "node_modules", nodePkg, "bin", process.platform === "win32" ? "node.exe" : "node");
    const openclaw = join(prefix, "node_modules", "openclaw", "openclaw.mjs");
    // A runtime whose packages are all there but whose lifecycle never ran (an older installer) is completed, not downloaded again.
    const onlyLifecycle = !opts.force && !again.installed && /lifecycle is incomplete/.test(again.reason);
    if (!onlyLifecycle) {
      report("download", `installing ${specs.join(" + ")} into ${prefix}`, 0);
      await npmInstall(opts.npm ?? "npm", prefix, specs, (n) => report("download", `fetched ${n} packages`, n));
    }
    if (!existsSync(node)) throw new Error(`runtime install: ${node} is missing after npm install`);
    if (!existsSync(openclaw)) throw new Error(`runtime install: ${openclaw} is missing after npm install`);
    report("lifecycle", "completing OpenClaw's install scripts");
    completeLifecycle(node, openclaw);
    report("verify", "verifying the installed runtime");
    const v = spawnSync(node, ["--version"], { encoding: "utf8" });
    const nodeVersion = (v.stdout ?? "").trim().replace(/^v/, "");
    if (v.status !== 0 || !nodeVersion.startsWith(`${NODE_MAJOR}.`))
      throw new Error(`runtime install: ${node} --version gave "${v.stdout}${v.stderr}"`);
    const ocVersion = JSON.parse(readFileSync(join(prefix, "node_modules", "openclaw", "package.json"), "utf8")).version;
    if (ocVersion !== OPENCLAW_VERSION) throw new Error(`runtime install: got openclaw ${ocVersion}, wanted ${OPENCLAW_VERSION}`);
    const info: RuntimeInfo = {
      openclawVersion: ocVersion,
      nodeVersion,
      nodePackage: nodePkg,
      node,
      openclaw,
      prefix,
      installedAt: new Date().toISOString(),
      bytes: du(join(prefix, "node_modules")),
    };
    const tmp = join(prefix, `${MARKER}.${process.pid}.tmp`);
    writeFileSync(tmp, `${JSON.stringify(info, null, 2)}\n`);
    renameSync(tmp, join(prefix, MARKER));
    report("done", `installed OpenClaw ${ocVersion} on Node ${nodeVersion} (${(info.bytes / 1e6).toFixed(0)} MB)`);
    return { ...info, dir, reused: false };
  } finally {
    release();
  }
}

function npmInstall(npm: string, prefix: string, specs: string[], onCount: (n: number) => void): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      npm,
      ["install", "--prefix", prefix, "--no-audit", "--no-fund", "--ignore-scripts", "--no-package-lock", "--loglevel=http", ...specs],
      { cwd: prefix, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, npm_config_update_notifier: "false" } },
    );
    const seen = new Set<string>();
    let tail = "";
    let partial = "";
    const onData = (d: Buffer) => {
      const s = d.toString();
      tail = (tail + s).slice(-4000);
      const lines = (partial + s).split("\n");
      partial = lines.pop() ?? "";
      const before = seen.size;
      // each package tarball, downloaded or from npm's cache, once
      for (const l of lines) {
        const m = /http (?:fetch GET 200|cache) (?:\S+@)?(\S+\.tgz)/.exec(l);
        if (m) seen.add(m[1]);
      }
      if (seen.size !== before) onCount(seen.size);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", (e) => reject(new Error(`runtime install: could not run ${npm}: ${e.message}`)));
    child.on("exit", (code) => (code === 0 ? resolvePromise() : reject(new Error(`runtime install: npm exited with ${code}:\n${tail.trim()}`))));
  });
}

async function lock(path: string, timeoutMs: number, onWait: () => void): Promise<() => void> {
  const t0 = Date.now();
  let told = false;
  for (;;) {
    try {
      mkdirSync(path);
      writeFileSync(join(path, "pid"), String(process.pid));
      return () => rmSync(path, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      // A lock left by a dead process is taken over.
      let pid = 0;
      try {
        pid = Number(readFileSync(join(path, "pid"), "utf8"));
      } catch {}
      const age = (() => {
        try {
          return Date.now() - statSync(path).mtimeMs;
        } catch {
          return 0;
        }
      })();
      if ((pid && !alive(pid)) || (!pid && age > 30_000)) {
        rmSync(path, { recursive: true, force: true });
        continue;
      }
      if (!told) {
        onWait();
        told = true;
      }
      if (Date.now() - t0 > timeoutMs) throw new Error(`runtime install: ${path} is held by process ${pid || "?"} for too long`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

function alive(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function du(path: string): number {
  const r = spawnSync("du", ["-sb", path], { encoding: "utf8" });
  const n = Number((r.stdout ?? "").split(/\s/)[0]);
  return Number.isFinite(n) ? n : 0;
}

/** A one-line progress display for terminals (rewrites its line), plain lines otherwise. */
export function progressPrinter(out: NodeJS.WriteStream = process.stderr): (p: Progress) => void {
  const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
  let i = 0;
  let lastPlain = "";
  return (p) => {
    const secs = `${(p.elapsedMs / 1000).toFixed(0)}s`;
    const line = p.phase === "done" ? `✓ ${p.message} (${secs})` : `${frames[i++ % frames.length]} [${p.phase}] ${p.message} · ${secs}`;
    if (out.isTTY) out.write(`\r\x1b[2K${line}${p.phase === "done" ? "\n" : ""}`);
    else {
      // non-terminal: one line per phase change and every 25 packages
      const key = `${p.phase}:${p.phase === "download" ? Math.floor((p.packages ?? 0) / 25) : p.message}`;
      if (key !== lastPlain) out.write(`${line}\n`);
      lastPlain = key;
    }
  };
}
