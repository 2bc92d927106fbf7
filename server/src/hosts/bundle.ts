// The host bundles (issue 16, docs/hosts.md "Installer and services"): what runs on a user's own
// machine, served by the control plane and nothing else. One content-hashed tarball per platform:
//   bundle.json                 {version, platform, nodeVersion, openclawVersion, agentVersion}
//   bin/tropic-host             sh launcher → the bundle's Node running lib/tropic-host.mjs
//   lib/tropic-host.mjs         host/src/main.ts bundled (install, uninstall, status)
//   lib/agent.cjs               the instance agent (agent/src/entry.ts) bundled as CommonJS: ~4 MB less
//                               resident than the local provider's ESM bundle (docs/hosts.md "Memory")
//   plugin/tropic-gate/         the gate plugin, prepared (plugin/src/bundle.ts)
//   runtime/node_modules/       Node (npm node-<os>-<arch>) + the pinned openclaw, lifecycle completed:
//                               the runtime/ installer's own cache (installRuntime), not a second installer
// Named tropic-host-<platform>-<sha256 prefix>.tar.gz, listed in a manifest {version, platforms:
// {<platform>: {file, sha256, bytes}}}. The version is a hash of the inputs (agent, plugin, host CLI,
// OpenClaw and Node versions), so a control plane serves the bundles of its own code. Built lazily on
// first request into <data dir>/host-bundles/<version>/ and cached by content: a build is written
// under a temporary name and renamed, and concurrent requests await the one build in progress.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  cpSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { AGENT_VERSION } from "@tropic/agent";
import { installRuntime, NODE_MAJOR, nodePackageName, OPENCLAW_VERSION, runtimeDir, runtimeStatus } from "@tropic/runtime";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const HOST_SRC = join(REPO, "host", "src");
/** bump when the bundle's layout or build changes */
const BUNDLE_FORMAT = 1;

/** Platforms a host bundle exists for (when its `node-<os>-<arch>` package and a runtime can be had). */
export const PLATFORMS = ["linux-x64", "linux-arm64", "darwin-arm64", "darwin-x64"] as const;

export interface BundleEntry {
  file: string;
  sha256: string;
  bytes: number;
}
export interface HostManifest {
  version: string;
  platforms: Record<string, BundleEntry>;
}

/** What a platform's bundle is made of: a runtime prefix whose node_modules holds node-<platform> and openclaw. */
export interface PlatformRuntime {
  platform: string;
  runtime: () => Promise<{ prefix: string; nodeVersion: string; openclawVersion: string }>;
  /** whether runtime() can answer without installing (absent: it can) */
  installed?: () => boolean;
}

export interface HostBundlesOptions {
  dataDir: string;
  /** default: this machine's platform, from the runtime cache (installed on first use) */
  platforms?: PlatformRuntime[];
  /** the agent bundle (default: hostAgentBundle(), agent/src as one CommonJS file) */
  agentBundle?: () => Promise<string>;
  /** the prepared gate plugin directory (default: plugin/src/bundle.ts) */
  pluginDir?: () => Promise<string>;
  log?: (msg: string) => void;
}

/** The runtime of this machine's platform, through runtime/'s installer (its cache, lifecycle completed). */
export function localPlatform(dir = runtimeDir()): PlatformRuntime {
  return {
    platform: nodePackageName().replace(/^node-/, ""),
    runtime: async () => {
      const r = await installRuntime({ dir });
      return { prefix: r.prefix, nodeVersion: r.nodeVersion, openclawVersion: r.openclawVersion };
    },
    installed: () => runtimeStatus(dir).installed,
  };
}

function hashFiles(h: ReturnType<typeof createHash>, dir: string) {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) hashFiles(h, p);
    else if (e.isFile()) h.update(`${p.slice(REPO.length)}\0`).update(readFileSync(p));
  }
}

export class HostBundles {
  private opts: HostBundlesOptions;
  private building = new Map<string, Promise<HostManifest>>();
  /** how many builds actually ran (tests: one under concurrency) */
  builds = 0;

  constructor(opts: HostBundlesOptions) {
    this.opts = opts;
  }

  get root() {
    return join(resolve(this.opts.dataDir), "host-bundles");
  }

  private inputsP: Promise<{ agent: string; plugin: string; version: string }> | null = null;

  /** What this control plane serves: fixed once per process (the code it runs), so a version never changes under a download. */
  private inputs() {
    this.inputsP ??= this.computeInputs().catch((e) => {
      this.inputsP = null;
      throw e;
    });
    return this.inputsP;
  }

  private async computeInputs() {
    const agent = await (this.opts.agentBundle ?? hostAgentBundle)();
    const plugin = await (this.opts.pluginDir ?? (async () => (await import("@tropic/openclaw-plugin/bundle.ts")).preparedPluginDir()))();
    const h = createHash("sha256").update(`tropic-host-bundle ${BUNDLE_FORMAT} ${AGENT_VERSION} openclaw@${OPENCLAW_VERSION} node@${NODE_MAJOR}\n`);
    h.update(readFileSync(agent));
    hashFiles(h, plugin);
    hashFiles(h, HOST_SRC);
    for (const p of this.platforms()) h.update(`${p.platform}\n`);
    return { agent, plugin, version: `${AGENT_VERSION}-${h.digest("hex").slice(0, 12)}` };
  }

  private platforms(): PlatformRuntime[] {
    return this.opts.platforms ?? [localPlatform()];
  }

  /** The manifest of this control plane's bundles, building what is missing (once, however many ask). */
  async manifest(): Promise<HostManifest> {
    const inputs = await this.inputs();
    const cached = this.cached(inputs.version);
    if (cached) return cached;
    let p = this.building.get(inputs.version);
    if (!p) {
      p = this.build(inputs).finally(() => this.building.delete(inputs.version));
      this.building.set(inputs.version, p);
    }
    return p;
  }

  /** Starts the build in the background (`tropic serve` calls it at start); errors go to onError (default: the log). */
  warm(onError: (e: Error) => void = (e) => this.opts.log?.(`host bundles: ${e.message}`)): void {
    // Not on a machine's very first start: there the first instance installs the runtime with its
    // progress on the instance, and a second install racing it would only make it wait on the lock.
    if (this.platforms().some((p) => p.installed && !p.installed())) {
      this.opts.log?.("host bundles: the OpenClaw runtime is not installed yet; the first one-liner builds them");
      return;
    }
    this.manifest().catch(onError);
  }

  private cached(version: string): HostManifest | null {
    try {
      const m = JSON.parse(readFileSync(join(this.root, version, "manifest.json"), "utf8")) as HostManifest;
      for (const e of Object.values(m.platforms)) if (statSync(join(this.root, version, e.file)).size !== e.bytes) return null;
      return m;
    } catch {
      return null;
    }
  }

  /** The path of a bundle file this control plane serves, or null (only names in the manifest). */
  async file(name: string): Promise<{ path: string; bytes: number } | null> {
    if (!/^tropic-host-[a-z0-9]+-[a-z0-9]+-[0-9a-f]{16}\.tar\.gz$/.test(name)) return null;
    const m = await this.manifest();
    const e = Object.values(m.platforms).find((x) => x.file === name);
    return e ? { path: join(this.root, m.version, e.file), bytes: e.bytes } : null;
  }

  private async build(inputs: { agent: string; plugin: string; version: string }): Promise<HostManifest> {
    this.builds++;
    const t0 = Date.now();
    const dir = join(this.root, inputs.version);
    mkdirSync(dir, { recursive: true });
    const platforms: Record<string, BundleEntry> = {};
    for (const p of this.platforms()) {
      this.opts.log?.(`host bundles: building ${p.platform} ${inputs.version}`);
      platforms[p.platform] = await this.buildPlatform(p, inputs, dir);
    }
    const manifest: HostManifest = { version: inputs.version, platforms };
    const tmp = join(dir, `manifest.json.${process.pid}.tmp`);
    writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
    renameSync(tmp, join(dir, "manifest.json"));
    this.opts.log?.(`host bundles: ${inputs.version} built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // Older versions go (an installer mid-download of one gets a 404 and is run again).
    for (const v of readdirSync(this.root)) if (v !== inputs.version) rmSync(join(this.root, v), { recursive: true, force: true });
    return manifest;
  }

  private async buildPlatform(p: PlatformRuntime, inputs: { agent: string; plugin: string; version: string }, dir: string): Promise<BundleEntry> {
    const rt = await p.runtime();
    const stage = mkdtempSync(join(dir, `.stage-${p.platform}-`));
    try {
      // (mkdtemp makes it 0700: extracted as the version directory, it must be traversable by the services' users)
      chmodSync(stage, 0o755);
      mkdirSync(join(stage, "bin"));
      mkdirSync(join(stage, "lib"));
      cpSync(inputs.agent, join(stage, "lib", "agent.cjs"));
      cpSync(inputs.plugin, join(stage, "plugin", "tropic-gate"), { recursive: true });
      await buildHostCli(join(stage, "lib", "tropic-host.mjs"));
      writeFileSync(
        join(stage, "bin", "tropic-host"),
        `#!/bin/sh\n# tropic-host, on the bundle's own Node\nhere="$(cd "$(dirname "$0")/.." && pwd -P)"\nexec "$here/runtime/node_modules/node-${p.platform}/bin/node" "$here/lib/tropic-host.mjs" "$@"\n`,
        { mode: 0o755 },
      );
      const info = {
        version: inputs.version,
        platform: p.platform,
        nodeVersion: rt.nodeVersion,
        openclawVersion: rt.openclawVersion,
        agentVersion: AGENT_VERSION,
      };
      writeFileSync(join(stage, "bundle.json"), `${JSON.stringify(info, null, 2)}\n`);
      const tmp = join(dir, `.${p.platform}.${process.pid}.tar.gz.tmp`);
      await tarGz(stage, rt.prefix, tmp);
      const sha256 = await sha256File(tmp);
      const file = `tropic-host-${p.platform}-${sha256.slice(0, 16)}.tar.gz`;
      const bytes = statSync(tmp).size;
      renameSync(tmp, join(dir, file));
      return { file, sha256, bytes };
    } finally {
      rmSync(stage, { recursive: true, force: true });
    }
  }
}

const AGENT_SRC = join(REPO, "agent", "src");
const AGENT_BUILD = join(REPO, "agent", ".build");
const HARDENING_SRC = join(REPO, "hardening", "src");

/**
 * The instance agent for hosts: agent/src/entry.ts (main and worker) as ONE CommonJS file, cached by
 * the hash of its sources in agent/.build/host-agent-<hash>.cjs. CommonJS, not the local provider's ESM:
 * an ES module's `import … from "node:fs"` (crypto, stream, readline…) makes Node build an ESM facade
 * that evaluates every lazy export of the module (fs.promises, crypto.webcrypto, and with them undici,
 * http2, worker_threads, perf_hooks): measured 59.1 → 55.3 MB resident for the agent (docs/hosts.md).
 */
export async function hostAgentBundle(): Promise<string> {
  const h = createHash("sha256").update("host-agent cjs 1\n");
  for (const f of readdirSync(AGENT_SRC).sort()) h.update(f).update(readFileSync(join(AGENT_SRC, f)));
  // the hardening engine and the seed's scripts travel in the agent bundle (the agent installs the
  // scripts at ~/.openclaw/skills/secureclaw/scripts/): a change there is a new bundle too
  for (const f of [
    ...readdirSync(HARDENING_SRC)
      .sort()
      .map((x) => join(HARDENING_SRC, x)),
    join(REPO, "gate", "src", "redact.ts"),
  ])
    h.update(f.slice(REPO.length)).update(readFileSync(f));
  const out = join(AGENT_BUILD, `host-agent-${h.digest("hex").slice(0, 12)}.cjs`);
  if (existsSync(out)) return out;
  const { build } = await import("esbuild");
  mkdirSync(AGENT_BUILD, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  await build({
    entryPoints: [join(AGENT_SRC, "entry.ts")],
    bundle: true,
    format: "cjs",
    platform: "node",
    target: "node20",
    outfile: tmp,
    logLevel: "silent",
  });
  renameSync(tmp, out);
  for (const f of readdirSync(AGENT_BUILD))
    if (f.startsWith("host-agent-") && f.endsWith(".cjs") && join(AGENT_BUILD, f) !== out) rmSync(join(AGENT_BUILD, f), { force: true });
  return out;
}

/** host/src/main.ts as one ES module for the bundle's Node (24). */
async function buildHostCli(out: string) {
  const { build } = await import("esbuild");
  await build({
    entryPoints: [join(HOST_SRC, "main.ts")],
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node22",
    outfile: out,
    logLevel: "silent",
  });
}

/** A reproducible tar.gz: the stage, and the runtime's node_modules as runtime/node_modules (no copy). */
function tarGz(stage: string, runtimePrefix: string, out: string): Promise<void> {
  const tar = [
    "tar",
    "--sort=name",
    "--mtime=@0",
    "--owner=0",
    "--group=0",
    "--numeric-owner",
    "--transform=s,^node_modules,runtime/node_modules,S",
    "-cf",
    "-",
    "-C",
    stage,
    ".",
    "-C",
    runtimePrefix,
    "node_modules",
  ];
  return new Promise((resolvePromise, reject) => {
    const p = spawn("bash", ["-o", "pipefail", "-c", '"$@" | gzip -n -6 > "$OUT"', "bash", ...tar], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", OUT: out },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    p.stderr.on("data", (d) => {
      err = (err + d).slice(-2000);
    });
    p.on("error", reject);
    p.on("close", (code) =>
      code === 0 && existsSync(out) ? resolvePromise() : reject(new Error(`building a host bundle failed (${code}): ${err.trim()}`)),
    );
  });
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const h = createHash("sha256");
    createReadStream(path)
      .on("data", (d) => h.update(d))
      .on("error", reject)
      .on("end", () => resolvePromise(h.digest("hex")));
  });
}

// One store per data directory (the routes and `tropic serve` share it).
const stores = new Map<string, HostBundles>();
export function hostBundles(dataDir: string, opts: Omit<HostBundlesOptions, "dataDir"> = {}): HostBundles {
  const key = resolve(dataDir);
  let s = stores.get(key);
  if (!s) {
    s = new HostBundles({ dataDir: key, ...opts });
    stores.set(key, s);
  }
  return s;
}
/** Tests: a store with fake platforms for a data directory. */
export function setHostBundles(dataDir: string, store: HostBundles) {
  stores.set(resolve(dataDir), store);
}

/** The installer script with the control plane's public URL filled in. */
export function installerScript(publicUrl: string): string {
  const text = readFileSync(join(REPO, "deploy", "host", "install.sh"), "utf8");
  return text.replaceAll("__TROPIC_URL__", publicUrl);
}
