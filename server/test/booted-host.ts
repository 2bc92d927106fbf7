// The booted-host fixture: a real Debian bookworm machine, booted on this one, for every test that needs a
// Linux host (the host installer, the cloud image). systemd runs as PID 1 in a `systemd-nspawn --boot`
// container on a private network; the test reaches into it with `exec` (nsenter) and over that network.
//
//   const h = await bootHost({ t, seed: { userData: "#cloud-config\n..." } });   // skip: bootedHostSkip()
//   await listen(server, 0, h.hostAddress);          // the control plane, as the guest sees it
//   await h.exec("curl -fsS http://" + h.hostAddress + ":" + port + "/install/host.sh | sh", { timeoutMs: 120_000 });
//   await fetch(`http://${h.guestAddress}/`);        // the guest, from here
//   await h.reboot(); await h.stop(); await h.start();   // cleanup runs by itself (t.after, exit, signals)
//
// How it works
// - `debianRootfs()` makes the root filesystem once per machine: `debootstrap --variant=minbase` from the
//   Debian mirror this machine's apt uses (TROPIC_DEBIAN_MIRROR overrides it), with HOST_PACKAGES, then a
//   few container settings (cloud-init: NoCloud only, `locale: false`, no network config of its own; no
//   DNS). It is cached as a tarball (~270 MB) in ~/.cache/tropic/hosts/ (TROPIC_HOST_CACHE), keyed by
//   suite, variant, package list and BUILD_VERSION, with a .sha256 beside it that each process checks
//   once (1.5 s). The cache is only for speed: a missing, partial or corrupt tarball is rebuilt (3-5 min
//   here, mostly downloads). Builds go to a temp dir and are renamed into place; a lock file keeps two
//   test processes from building at once (it holds the builder's pid and debootstrap's process group:
//   whoever finds the builder dead kills that group, removes its temp dir and builds again).
// - The tarball is extracted once more (3 s), next to it, as the read-only lower layer of an overlayfs;
//   each host gets an upper layer of its own in a temp dir (or, where overlayfs cannot be mounted, a full
//   copy). `rootDir` is the merged tree: write files there before (`prepare`) or while it runs.
// - Each host takes a numbered slot (a lock file in /run/tropic-hosts/): slot n is the /30 n of
//   198.19.0.0/16 (the benchmarking range), a network namespace `tropic-host-<n>` and a veth pair whose
//   host side `th<n>h` stays in this machine's namespace with `hostAddress` (a test server listens there)
//   and whose other side is the guest's `eth0` with `guestAddress`, configured from outside (IPv6 off; a
//   networkd file with the same address and `IPv6AcceptRA=no`, should networkd ever manage it). The guest
//   has no default route, and an nftables table `inet tropic_host_<n>` (the stand-in for a security
//   group) lets the guest reach this machine only at `hostAddress` and forwards nothing to or from it:
//   nothing leaves the machine, and two hosts cannot reach each other. Each host has its own machine-id.
// - `bootHost()` boots it with `systemd-nspawn --boot --register=no --keep-unit --network-namespace-path
//   --capability=CAP_NET_ADMIN --link-journal=no --resolv-conf=off` and waits for `systemctl
//   is-system-running --wait` (running or degraded; `state`). ~2-3 s to running without a seed; with a
//   NoCloud seed cloud-init runs at every boot and adds ~5 s (without one it is disabled). `exec` runs
//   `sh -c` inside with `nsenter` into the container's PID 1 (no machined here, so no `machinectl` or
//   `systemctl -M`); use `systemd-run` inside for anything long-running. A reboot in the guest makes
//   nspawn exit 133: the fixture relaunches it whoever asked (`reboot()`, or the code under test: then
//   `waitForBoot(boots + 1)`). `stop()` powers off (network and files stay), `start()` boots again. The
//   console output of every boot is in `logFile`.
// - Cleanup: `cleanup()` kills the container (its PID 1, so everything in it) and nspawn, unmounts the
//   overlay, deletes the veth, the namespace and the nftables table, removes the directories and frees the
//   slot. Pass `t` (a test context) to have it registered with `t.after`, so it runs when a test fails;
//   it also runs on process exit, SIGINT and SIGTERM. The slots of a process that died (kill -9) are
//   cleaned up by the next process that boots a host.
// Needs root and the packages `debootstrap systemd-container iproute2 nftables` (.ci/run installs them):
// `bootedHostSkip()` gives a reason to skip where they are missing, except in CI, where the tests must run.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";

export const HOST_SUITE = "bookworm";
export const HOST_VARIANT = "minbase";
export const HOST_PACKAGES = [
  "systemd",
  "systemd-sysv",
  "dbus",
  "nginx",
  "cloud-init",
  "python3-cffi-backend",
  "iproute2",
  "nftables",
  "curl",
  "ca-certificates",
  "sudo",
  "procps",
];
/** Bump when the build's own settings (not the package list) change, so old caches are not used. */
const BUILD_VERSION = 1;

const PATH_IN_GUEST = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function hostCacheDir(): string {
  return process.env.TROPIC_HOST_CACHE ?? join(homedir(), ".cache", "tropic", "hosts");
}

function have(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

/** Why booted-host tests cannot run here (for `test(..., { skip })`), or false. In CI never skips: a
 *  missing package there must fail the test, not hide it. */
export function bootedHostSkip(): string | false {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root");
  for (const [cmd, pkg] of [
    ["debootstrap", "debootstrap"],
    ["systemd-nspawn", "systemd-container"],
    ["nsenter", "util-linux"],
    ["ip", "iproute2"],
    ["nft", "nftables"],
  ])
    if (!have(cmd)) missing.push(`${cmd} (${pkg})`);
  if (!missing.length) return false;
  if (process.env.CI) return false;
  return `a booted host needs ${missing.join(", ")}`;
}

/** The Debian mirror this machine's apt uses (bookworm's main archive, not security or other repos). */
export function debianMirror(): string {
  if (process.env.TROPIC_DEBIAN_MIRROR) return process.env.TROPIC_DEBIAN_MIRROR;
  const files = ["/etc/apt/sources.list"];
  try {
    for (const f of readdirSync("/etc/apt/sources.list.d")) files.push(join("/etc/apt/sources.list.d", f));
  } catch {}
  for (const f of files) {
    let text = "";
    try {
      text = readFileSync(f, "utf8");
    } catch {
      continue;
    }
    if (f.endsWith(".sources")) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const uris = /^URIs:\s*(.+)$/m.exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
        const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
        if (suites.includes(HOST_SUITE) && uris[0] && !uris[0].includes("security")) return uris[0];
      }
    } else {
      for (const line of text.split("\n")) {
        const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line.trim());
        if (m && m[2] === HOST_SUITE && !m[1]!.includes("security")) return m[1]!;
      }
    }
  }
  return "http://deb.debian.org/debian";
}

const cacheKey = () =>
  createHash("sha256")
    .update(JSON.stringify({ suite: HOST_SUITE, variant: HOST_VARIANT, packages: [...HOST_PACKAGES].sort(), v: BUILD_VERSION }))
    .digest("hex")
    .slice(0, 12);

function alive(pid: number): boolean {
  if (!pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** SIGKILLs every process of a process group (ones reparented to init too). */
function killGroup(pgid: number) {
  if (!pgid) return;
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]) === pgid) process.kill(Number(d), "SIGKILL");
    } catch {}
  }
}

/** A lock file holding its owner's pid (and the process group of the work it runs); taken over, that
 *  group killed, when the owner is gone. */
async function withLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 20 * 60_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    try {
      writeFileSync(path, String(process.pid), { flag: "wx" });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const [holder = 0, group = 0] = readFileSync(path, "utf8").trim().split(/\s+/).map(Number);
      if (!alive(holder) || holder === process.pid) {
        if (holder !== process.pid) killGroup(group);
        rmSync(path, { force: true });
        continue;
      }
      if (Date.now() - t0 > timeoutMs) throw new Error(`${path}: still held by pid ${holder} after ${timeoutMs} ms`);
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(path, { force: true });
  }
}

/** Runs a command in a process group of its own, killed (all of it) on timeout and when this process
 *  exits; `lock` gets "<our pid> <its group>" so whoever takes the lock over can kill the group. */
function run(
  cmd: string,
  args: string[],
  opts: { logFile?: string; timeoutMs?: number; lock?: string } = {},
): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    installExitHandlers();
    const fd = opts.logFile ? openSync(opts.logFile, "a") : null;
    const p = spawn(cmd, args, {
      stdio: ["ignore", fd ?? "pipe", fd ?? "pipe"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive", LC_ALL: "C" },
      detached: true,
    });
    if (fd !== null) closeSync(fd);
    const kill = () => killGroup(p.pid ?? 0);
    live.add(kill);
    if (opts.lock && p.pid) writeFileSync(opts.lock, `${process.pid} ${p.pid}`);
    let out = "";
    p.stdout?.on("data", (d) => (out += d));
    p.stderr?.on("data", (d) => (out += d));
    const timer = opts.timeoutMs ? setTimeout(kill, opts.timeoutMs) : null;
    p.on("error", (e) => {
      live.delete(kill);
      reject(e);
    });
    p.on("close", (code, sig) => {
      if (timer) clearTimeout(timer);
      live.delete(kill);
      kill(); // whatever it left running in its group
      resolve({ code: code ?? 128 + (sig === "SIGKILL" ? 9 : 15), out });
    });
  });
}

function sh(script: string): { status: number; out: string } {
  const r = spawnSync("sh", ["-c", script], { encoding: "utf8" });
  return { status: r.status ?? 1, out: (r.stdout ?? "") + (r.stderr ?? "") };
}

/** Unmounts everything mounted at or below dir (deepest first). */
function unmountUnder(dir: string) {
  const mounts = readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1]?.replace(/\\040/g, " ") ?? "")
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) if (spawnSync("umount", [m]).status !== 0) spawnSync("umount", ["-l", m]);
}

function sha256File(path: string): Promise<string> {
  return run("sha256sum", [path]).then((r) => r.out.split(" ")[0] ?? "");
}

export interface Rootfs {
  /** the cached tarball of the root filesystem */
  tarball: string;
  /** ms this call spent building it (0 when the cache was used) */
  buildMs: number;
}

let rootfsP: Promise<Rootfs> | null = null;
/** The Debian root filesystem as a cached tarball, built with debootstrap when missing or corrupt. */
export function debianRootfs(): Promise<Rootfs> {
  rootfsP ??= buildRootfs().catch((e) => {
    rootfsP = null;
    throw e;
  });
  return rootfsP;
}

async function tarballOk(tarball: string): Promise<boolean> {
  if (!existsSync(tarball) || !existsSync(`${tarball}.sha256`)) return false;
  return readFileSync(`${tarball}.sha256`, "utf8").trim() === (await sha256File(tarball));
}

async function buildRootfs(): Promise<Rootfs> {
  const dir = hostCacheDir();
  mkdirSync(dir, { recursive: true });
  const name = `debian-${HOST_SUITE}-${cacheKey()}`;
  const tarball = join(dir, `${name}.tar`);
  // Checked once per process (the sha256 of ~0.5 GB takes a second), then trusted.
  if (await tarballOk(tarball)) return { tarball, buildMs: 0 };
  const lock = join(dir, `${name}.lock`);
  return withLock(lock, async () => {
    if (await tarballOk(tarball)) return { tarball, buildMs: 0 }; // another process built it meanwhile
    const t0 = Date.now();
    // Leftovers of builds that died (only ever touched under the lock).
    for (const f of readdirSync(dir))
      if (f.startsWith(`${name}.tmp-`)) {
        unmountUnder(join(dir, f));
        rmSync(join(dir, f), { recursive: true, force: true });
      }
    rmSync(tarball, { force: true });
    rmSync(`${tarball}.sha256`, { force: true });
    const tmp = join(dir, `${name}.tmp-${process.pid}`);
    const root = join(tmp, "root");
    mkdirSync(tmp, { recursive: true });
    const log = join(tmp, "debootstrap.log");
    const mirror = debianMirror();
    // (in a process group of its own, recorded in the lock: a build whose test process was killed is
    // killed by whoever takes the lock over, before it removes that build's directory)
    const args = [`--variant=${HOST_VARIANT}`, `--include=${HOST_PACKAGES.join(",")}`, HOST_SUITE, root, mirror];
    const r = await run("debootstrap", args, {
      lock,
      logFile: log,
      timeoutMs: 20 * 60_000,
    });
    if (r.code !== 0) {
      const tail = existsSync(log) ? readFileSync(log, "utf8").split("\n").slice(-30).join("\n") : "";
      unmountUnder(tmp);
      rmSync(tmp, { recursive: true, force: true });
      throw new Error(`debootstrap ${HOST_SUITE} from ${mirror} failed (${r.code}):\n${tail}`);
    }
    unmountUnder(root);
    configureRootfs(root);
    const tar = await run("tar", ["--numeric-owner", "--xattrs", "-C", root, "-cf", `${tmp}/rootfs.tar`, "."]);
    if (tar.code !== 0) throw new Error(`tar of the root filesystem failed: ${tar.out}`);
    const sum = await sha256File(`${tmp}/rootfs.tar`);
    renameSync(`${tmp}/rootfs.tar`, tarball);
    writeFileSync(`${tarball}.sha256.tmp`, `${sum}\n`);
    renameSync(`${tarball}.sha256.tmp`, `${tarball}.sha256`);
    rmSync(tmp, { recursive: true, force: true });
    // An extracted lower layer of an older tarball is stale now.
    rmSync(join(dir, `${name}.root`), { recursive: true, force: true });
    return { tarball, buildMs: Date.now() - t0 };
  });
}

/** Settings for every host, baked into the tarball. */
function configureRootfs(root: string) {
  // Space: the downloaded .debs and package lists (the guest has no network to use them anyway).
  sh(`rm -f '${root}'/var/cache/apt/archives/*.deb '${root}'/var/cache/apt/*.bin; rm -rf '${root}'/var/lib/apt/lists/*`);
  // Each host writes its own machine-id at boot.
  writeFileSync(join(root, "etc/machine-id"), "");
  // There is no resolver on the test network.
  rmSync(join(root, "etc/resolv.conf"), { force: true });
  writeFileSync(join(root, "etc/resolv.conf"), "# no DNS on the test network\n");
  // cloud-init: only a NoCloud seed (no probing for clouds), no locale generation (slow, and not in
  // minbase), no network config of its own (the fixture configures eth0 from outside).
  mkdirSync(join(root, "etc/cloud/cloud.cfg.d"), { recursive: true });
  writeFileSync(
    join(root, "etc/cloud/cloud.cfg.d/90-tropic-test.cfg"),
    "datasource_list: [ NoCloud, None ]\nlocale: false\nnetwork:\n  config: disabled\n",
  );
}

/** The extracted tarball, shared read-only by every host's overlay (extracted once, renamed into place). */
let lowerP: Promise<string> | null = null;
function lowerDir(tarball: string): Promise<string> {
  lowerP ??= (async () => {
    const lower = tarball.replace(/\.tar$/, ".root");
    if (existsSync(join(lower, ".tropic-complete"))) return lower;
    return withLock(`${lower}.lock`, async () => {
      if (existsSync(join(lower, ".tropic-complete"))) return lower;
      rmSync(lower, { recursive: true, force: true });
      const tmp = `${lower}.tmp-${process.pid}`;
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { recursive: true });
      const r = await run("tar", ["--numeric-owner", "--xattrs", "-C", tmp, "-xf", tarball]);
      if (r.code !== 0) {
        rmSync(tmp, { recursive: true, force: true });
        throw new Error(`extracting ${tarball} failed: ${r.out}`);
      }
      writeFileSync(join(tmp, ".tropic-complete"), "");
      renameSync(tmp, lower);
      return lower;
    });
  })().catch((e) => {
    lowerP = null;
    throw e;
  });
  return lowerP;
}

// ---- slots: address, namespace, veth, nftables table -------------------------------------------------

const SLOT_DIR = "/run/tropic-hosts";
const SLOTS = 16384; // /30s in 198.19.0.0/16

interface SlotRecord {
  pid: number;
  nspawn?: number;
  dir?: string;
}

function slotNames(n: number) {
  const base = n * 4;
  const net = `198.19.${Math.floor(base / 256)}.${base % 256}`;
  const [a, b, c, d] = net.split(".").map(Number) as [number, number, number, number];
  return {
    ns: `tropic-host-${n}`,
    hostIf: `th${n}h`,
    peerIf: `th${n}g`,
    table: `tropic_host_${n}`,
    hostAddress: `${a}.${b}.${c}.${d + 1}`,
    guestAddress: `${a}.${b}.${c}.${d + 2}`,
    lock: join(SLOT_DIR, `${n}.json`),
  };
}

/** Removes whatever a slot may have left: its container, veth, namespace, table and directory. */
function clearSlot(n: number, rec: SlotRecord | null) {
  const s = slotNames(n);
  if (rec?.nspawn && alive(rec.nspawn)) {
    let cmd = "";
    try {
      cmd = readFileSync(`/proc/${rec.nspawn}/cmdline`, "utf8");
    } catch {}
    if (cmd.includes("systemd-nspawn") && cmd.includes(s.ns)) {
      const pid1 = containerInit(rec.nspawn);
      if (pid1) process.kill(pid1, "SIGKILL");
      try {
        process.kill(rec.nspawn, "SIGKILL");
      } catch {}
    }
  }
  sh(
    `ip link del ${s.hostIf} 2>/dev/null; ip netns pids ${s.ns} 2>/dev/null | xargs -r kill -9; ip netns del ${s.ns} 2>/dev/null; nft delete table inet ${s.table} 2>/dev/null`,
  );
  if (rec?.dir?.startsWith(join(tmpdir(), "tropic-host-"))) {
    unmountUnder(rec.dir);
    rmSync(rec.dir, { recursive: true, force: true });
  }
}

function readSlot(path: string): SlotRecord | null {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as SlotRecord;
  } catch {
    return null;
  }
}

/** Cleans up after processes that died holding slots (once per process). */
let swept = false;
function sweepSlots() {
  if (swept) return;
  swept = true;
  for (const f of readdirSync(SLOT_DIR)) {
    const n = Number(/^(\d+)\.json$/.exec(f)?.[1] ?? -1);
    if (n < 0) continue;
    const rec = readSlot(join(SLOT_DIR, f));
    if (!rec || alive(rec.pid)) continue;
    clearSlot(n, rec);
    rmSync(join(SLOT_DIR, f), { force: true });
  }
}

function takeSlot(): number {
  mkdirSync(SLOT_DIR, { recursive: true });
  sweepSlots();
  const start = process.pid % SLOTS;
  for (let i = 0; i < SLOTS; i++) {
    const n = (start + i) % SLOTS;
    const { lock } = slotNames(n);
    try {
      writeFileSync(lock, JSON.stringify({ pid: process.pid } satisfies SlotRecord), { flag: "wx" });
      clearSlot(n, null);
      return n;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const rec = readSlot(lock);
      if (rec && alive(rec.pid)) continue;
      // Its owner is gone (or the record is half written by a process that died): clean and retry it.
      if (rec) {
        clearSlot(n, rec);
        try {
          unlinkSync(lock);
        } catch {}
        i--;
      }
    }
  }
  throw new Error("no free host slot");
}

/** The container's PID 1 among nspawn's descendants: the process whose NSpid ends in 1. */
function containerInit(nspawnPid: number): number {
  const kids = new Map<number, number[]>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(d)]);
    } catch {}
  }
  const stack = [...(kids.get(nspawnPid) ?? [])];
  while (stack.length) {
    const p = stack.pop()!;
    try {
      const nspid =
        /^NSpid:\s*(.+)$/m
          .exec(readFileSync(`/proc/${p}/status`, "utf8"))?.[1]
          ?.trim()
          .split(/\s+/) ?? [];
      if (nspid.length > 1 && nspid[nspid.length - 1] === "1") return p;
    } catch {}
    stack.push(...(kids.get(p) ?? []));
  }
  return 0;
}

// ---- the host ----------------------------------------------------------------------------------------

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** run as this user of the guest (runuser; HOME, USER and LOGNAME set) instead of root */
  user?: string;
  /** default 60 s; the command's whole process group is killed and exec rejects when it is over */
  timeoutMs?: number;
  /** written to the command's standard input */
  input?: string;
  /** extra environment (the command starts from a clean one: PATH, HOME, LANG) */
  env?: Record<string, string>;
}

export interface BootOptions {
  /** a test context: `cleanup` is registered with t.after */
  t?: { after(fn: () => unknown): void };
  /** the machine's hostname (default tropic-host-<slot>) */
  name?: string;
  /** a NoCloud seed for cloud-init (without one, cloud-init is disabled for this host) */
  seed?: { userData: string; metaData?: string };
  /** called with rootDir before the first boot, to put files in place */
  prepare?: (rootDir: string) => void | Promise<void>;
  /** how long to wait for the system to be running (default 60 s) */
  timeoutMs?: number;
}

export interface BootedHost {
  /** the guest's hostname */
  name: string;
  /** the control plane's side of the veth (in this machine's namespace): listen here for the guest */
  hostAddress: string;
  /** the guest's eth0 address, reachable from this machine */
  guestAddress: string;
  /** the guest's root filesystem (the merged overlay) */
  rootDir: string;
  /** the network namespace the guest lives in (/run/netns/<netns>) */
  netns: string;
  /** console output of every boot */
  logFile: string;
  /** ms from bootHost() to launching nspawn (rootfs from the cache, overlay, network) */
  setupMs: number;
  /** ms the first boot took, from launching nspawn to running */
  bootMs: number;
  /** the state `systemctl is-system-running` reported at the last boot (running or degraded) */
  state: string;
  /** the container's PID 1 as seen from this machine (0 while booting or stopped) */
  pid1(): number;
  /** how many times the guest was launched (1 after bootHost; +1 per reboot or start) */
  readonly boots: number;
  /** runs `sh -c cmd` in the guest (as root in /root, or as `user` in its home); waits for a boot in progress */
  exec(cmd: string, opts?: ExecOptions): Promise<ExecResult>;
  /** waits until boot number n (see `boots`) is running: for reboots the code under test makes itself */
  waitForBoot(n: number, timeoutMs?: number): Promise<void>;
  /** reboots the guest and waits until it is running again; returns ms taken */
  reboot(): Promise<number>;
  /** powers the guest off (an orderly shutdown; the network and files stay) */
  stop(): Promise<void>;
  /** boots a stopped guest again and waits until it is running; returns ms taken */
  start(): Promise<number>;
  /** removes everything: container, namespace, veth, nftables table, mounts, directories (idempotent) */
  cleanup(): Promise<void>;
}

const live = new Set<() => void>();
let handlersInstalled = false;
function installExitHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const all = () => {
    for (const c of [...live]) c();
  };
  process.once("exit", all);
  for (const sig of ["SIGINT", "SIGTERM"] as const)
    process.once(sig, () => {
      all();
      process.exit(sig === "SIGINT" ? 130 : 143);
    });
}

function waitSync(ms: number) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export async function bootHost(opts: BootOptions = {}): Promise<BootedHost> {
  const t0 = Date.now();
  const { tarball } = await debianRootfs();
  installExitHandlers();
  const slot = takeSlot();
  const s = slotNames(slot);
  const dir = mkdtempSync(join(tmpdir(), "tropic-host-"));
  const rootDir = join(dir, "root");
  const logFile = join(dir, "console.log");
  const record: SlotRecord = { pid: process.pid, dir };
  const saveRecord = () => writeFileSync(s.lock, JSON.stringify(record));
  saveRecord();

  let nspawn: ChildProcess | null = null;
  let lastExit: number | null = null;
  let wanted = false; // whether the guest should be up (a 133 exit then relaunches it)
  let boots = 0;
  let current: Promise<void> = Promise.resolve();
  let pid1 = 0; // the running boot's PID 1 (0 while booting or stopped)
  const execs = new Set<ChildProcess>();
  let cleaned = false;

  const cleanupSync = () => {
    if (cleaned) return;
    cleaned = true;
    live.delete(cleanupSync);
    wanted = false;
    for (const c of execs) {
      try {
        process.kill(-c.pid!, "SIGKILL");
      } catch {}
    }
    const np = nspawn?.pid;
    const init = np && alive(np) ? containerInit(np) || pid1 : 0;
    if (init && alive(init)) process.kill(init, "SIGKILL");
    if (np && alive(np)) {
      for (let i = 0; i < 40 && alive(np); i++) waitSync(50);
      try {
        if (alive(np)) process.kill(np, "SIGKILL");
      } catch {}
      for (let i = 0; i < 40 && alive(np); i++) waitSync(50);
    }
    clearSlot(slot, null);
    unmountUnder(dir);
    rmSync(dir, { recursive: true, force: true });
    rmSync(s.lock, { force: true });
  };
  live.add(cleanupSync);
  const cleanup = async () => cleanupSync();
  opts.t?.after(cleanup);

  try {
    // The root filesystem: an overlay on the shared extracted copy, or a full copy of our own.
    mkdirSync(rootDir);
    let overlay = false;
    try {
      const lower = await lowerDir(tarball);
      mkdirSync(join(dir, "upper"));
      mkdirSync(join(dir, "work"));
      overlay =
        spawnSync("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${lower},upperdir=${dir}/upper,workdir=${dir}/work`, rootDir]).status === 0;
    } catch {}
    if (!overlay) {
      const r = await run("tar", ["--numeric-owner", "--xattrs", "-C", rootDir, "-xf", tarball]);
      if (r.code !== 0) throw new Error(`extracting ${tarball} failed: ${r.out}`);
    }
    const name = opts.name ?? `tropic-host-${slot}`;
    const at = (p: string) => join(rootDir, p);
    writeFileSync(at("etc/machine-id"), `${randomBytes(16).toString("hex")}\n`);
    writeFileSync(at("etc/hostname"), `${name}\n`);
    writeFileSync(at("etc/hosts"), `127.0.0.1\tlocalhost\n127.0.1.1\t${name}\n${s.hostAddress}\ttropic-control\n`);
    // eth0 is configured from outside (below); should networkd ever manage it, it keeps that address and
    // does not wait for IPv6 router advertisements (12 s at boot otherwise).
    mkdirSync(at("etc/systemd/network"), { recursive: true });
    writeFileSync(
      at("etc/systemd/network/10-tropic-eth0.network"),
      `[Match]\nName=eth0\n\n[Network]\nAddress=${s.guestAddress}/30\nIPv6AcceptRA=no\nLinkLocalAddressing=no\nKeepConfiguration=static\n`,
    );
    if (opts.seed) {
      const seedDir = at("var/lib/cloud/seed/nocloud");
      mkdirSync(seedDir, { recursive: true });
      writeFileSync(join(seedDir, "user-data"), opts.seed.userData);
      writeFileSync(join(seedDir, "meta-data"), opts.seed.metaData ?? `instance-id: ${name}-${slot}\nlocal-hostname: ${name}\n`);
    } else {
      writeFileSync(at("etc/cloud/cloud-init.disabled"), "");
    }
    await opts.prepare?.(rootDir);

    // The network: a namespace with the guest's eth0, the host side here, and the "security group".
    const net = sh(
      [
        "set -e",
        `ip netns add ${s.ns}`,
        `ip link add ${s.hostIf} type veth peer name eth0 netns ${s.ns}`,
        `ip addr add ${s.hostAddress}/30 dev ${s.hostIf}`,
        `sysctl -qw net.ipv6.conf.${s.hostIf}.disable_ipv6=1`,
        `ip link set ${s.hostIf} up`,
        `ip netns exec ${s.ns} sysctl -qw net.ipv6.conf.all.disable_ipv6=1`,
        `ip -n ${s.ns} addr add ${s.guestAddress}/30 dev eth0`,
        `ip -n ${s.ns} link set eth0 up`,
        `ip -n ${s.ns} link set lo up`,
        `nft -f - <<'EOF'
table inet ${s.table} {
  chain input {
    type filter hook input priority -10; policy accept;
    iifname "${s.hostIf}" ip daddr ${s.hostAddress} accept
    iifname "${s.hostIf}" drop
  }
  chain forward {
    type filter hook forward priority -10; policy accept;
    iifname "${s.hostIf}" drop
    oifname "${s.hostIf}" drop
  }
}
EOF`,
      ].join("\n"),
    );
    if (net.status !== 0) throw new Error(`could not make the host's network: ${net.out}`);

    const setupMs = Date.now() - t0;

    const consoleTail = () => {
      try {
        return readFileSync(logFile, "utf8").split("\n").slice(-40).join("\n");
      } catch {
        return "";
      }
    };
    const up = (p: ChildProcess | null): boolean => !!p && p.exitCode === null && p.signalCode === null;

    /** Launches nspawn (boot number `boots + 1`); `current` settles when that boot is running. */
    const launch = () => {
      const fd = openSync(logFile, "a");
      const p = spawn(
        "systemd-nspawn",
        [
          "--boot",
          "--register=no",
          "--keep-unit",
          `--network-namespace-path=/run/netns/${s.ns}`,
          "--capability=CAP_NET_ADMIN",
          "--link-journal=no",
          "--resolv-conf=off",
          "--timezone=off",
          "--console=read-only",
          `--machine=${name}`,
          "-D",
          rootDir,
        ],
        { stdio: ["ignore", fd, fd], detached: true },
      );
      closeSync(fd);
      nspawn = p;
      pid1 = 0;
      boots++;
      record.nspawn = p.pid;
      saveRecord();
      p.once("exit", (code, sig) => {
        lastExit = code ?? 128 + (sig === "SIGKILL" ? 9 : 15);
        // A reboot in the guest (whoever asked for it): boot it again.
        if (lastExit === 133 && wanted && !cleaned) launch();
      });
      current = waitRunning(opts.timeoutMs ?? 60_000, p);
      current.catch(() => {}); // reported to whoever waits for this boot
    };

    /** Waits until systemd in the guest says running or degraded. */
    const waitRunning = async (timeoutMs: number, p: ChildProcess) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (cleaned) throw new Error("the host was cleaned up");
        if (!up(p)) throw new Error(`systemd-nspawn exited (${p.exitCode ?? p.signalCode}) before the system was running:\n${consoleTail()}`);
        if (Date.now() > deadline) throw new Error(`the host did not reach running in ${timeoutMs} ms:\n${consoleTail()}`);
        const init = containerInit(p.pid!);
        if (init) {
          const r = await execIn(init, "systemctl is-system-running --wait", { timeoutMs: Math.max(1000, deadline - Date.now()) }).catch(() => null);
          const st = r?.stdout.trim() ?? "";
          if (st === "running" || st === "degraded") {
            if (nspawn === p) pid1 = init;
            host.state = st;
            return;
          }
          if (st === "stopping" || st === "maintenance") throw new Error(`the host's systemd is ${st}:\n${consoleTail()}`);
        }
        await sleep(100);
      }
    };

    const execIn = (init: number, cmd: string, o: ExecOptions = {}): Promise<ExecResult> => {
      const env = { PATH: PATH_IN_GUEST, LANG: "C.UTF-8", HOME: "/root", ...(o.env ?? {}) };
      const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
      const inner = o.user ? ["runuser", "-u", o.user, "--", "sh", "-c", `cd ~ 2>/dev/null; ${cmd}`] : ["sh", "-c", `cd ~ 2>/dev/null; ${cmd}`];
      const args = ["-t", String(init), "-m", "-u", "-i", "-n", "-p", "-C", "-r", "-w", "--", "env", "-i", ...envArgs, ...inner];
      return new Promise((resolve, reject) => {
        const p = spawn("nsenter", args, { stdio: ["pipe", "pipe", "pipe"], detached: true });
        execs.add(p);
        let stdout = "";
        let stderr = "";
        p.stdout!.on("data", (d) => (stdout += d));
        p.stderr!.on("data", (d) => (stderr += d));
        p.stdin!.on("error", () => {});
        p.stdin!.end(o.input ?? "");
        const timeoutMs = o.timeoutMs ?? 60_000;
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          try {
            process.kill(-p.pid!, "SIGKILL");
          } catch {}
        }, timeoutMs);
        p.on("error", (e) => {
          clearTimeout(timer);
          execs.delete(p);
          reject(e);
        });
        p.on("close", (code, sig) => {
          clearTimeout(timer);
          execs.delete(p);
          if (timedOut) return reject(new Error(`exec timed out after ${timeoutMs} ms: ${cmd}\nstdout: ${stdout}\nstderr: ${stderr}`));
          resolve({ code: code ?? 128 + (sig === "SIGKILL" ? 9 : 15), stdout, stderr });
        });
      });
    };

    const exec = async (cmd: string, o: ExecOptions = {}): Promise<ExecResult> => {
      // Commands wait for a boot in progress (after a reboot in the guest); a stopped host refuses them.
      if (wanted && up(nspawn) && !pid1) await current;
      if (!up(nspawn) || !pid1 || !alive(pid1)) throw new Error(`the host is not running (nspawn exited ${lastExit ?? "?"})`);
      return execIn(pid1, cmd, o);
    };

    const waitForBoot = async (n: number, timeoutMs = (opts.timeoutMs ?? 60_000) + 60_000) => {
      const deadline = Date.now() + timeoutMs;
      while (boots < n) {
        if (cleaned) throw new Error("the host was cleaned up");
        if (!up(nspawn) && lastExit !== null && lastExit !== 133)
          throw new Error(`systemd-nspawn exited ${lastExit}, not 133 (a reboot):\n${consoleTail()}`);
        if (Date.now() > deadline) throw new Error(`no boot ${n} in ${timeoutMs} ms (at ${boots}):\n${consoleTail()}`);
        await sleep(50);
      }
      await current;
    };

    const boot = async () => {
      if (up(nspawn)) throw new Error("the host is already running");
      const b0 = Date.now();
      wanted = true;
      launch();
      await current;
      return Date.now() - b0;
    };

    const host: BootedHost = {
      name,
      hostAddress: s.hostAddress,
      guestAddress: s.guestAddress,
      rootDir,
      netns: s.ns,
      logFile,
      setupMs: 0,
      bootMs: 0,
      state: "",
      pid1: () => pid1,
      get boots() {
        return boots;
      },
      exec,
      waitForBoot,
      async reboot() {
        const b0 = Date.now();
        const n = boots + 1;
        await exec("systemctl reboot", { timeoutMs: 10_000 }).catch(() => {});
        await waitForBoot(n);
        return Date.now() - b0;
      },
      async stop() {
        wanted = false;
        const p = nspawn;
        if (!p || !up(p)) return;
        const exited = new Promise((r) => p.once("exit", r));
        p.kill("SIGTERM"); // nspawn asks the guest's systemd to power off
        const t = setTimeout(() => {
          const init = containerInit(p.pid!);
          if (init) process.kill(init, "SIGKILL");
          p.kill("SIGKILL");
        }, 30_000);
        await exited;
        clearTimeout(t);
        pid1 = 0;
      },
      start: boot,
      cleanup,
    };

    host.setupMs = setupMs;
    host.bootMs = await boot();
    return host;
  } catch (e) {
    cleanupSync();
    throw e;
  }
}
