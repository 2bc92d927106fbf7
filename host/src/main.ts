// tropic-host: the host side of a user's own machine as a Tropic instance. Runs from the bundle the
// control plane serves (<prefix>/current/bin/tropic-host, on the bundle's own Node), as root.
//   tropic-host install --url <control plane> (--token <t> | --token-stdin) [--prefix /opt/tropic]
//       enrols (once; a re-run upgrades in place and keeps the credential), makes the instance's two
//       users, imports the invoking user's ~/.openclaw (backed up first), writes and starts the services
//   tropic-host uninstall [--prefix /opt/tropic]
//       stops and removes the services, the users, the instance's directory (its credential) and the bundles
//   tropic-host status
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { hostname, totalmem } from "node:os";
import { join } from "node:path";
import { AGENT_USER, DEFAULT_PREFIX, GATEWAY_USER, hostLayout } from "./layout.ts";
import {
  AGENT_LABEL,
  AGENT_UNIT,
  agentPlist,
  agentUnit,
  bundlePaths,
  DEFAULT_GATEWAY_PORT,
  envFile,
  GATEWAY_LABEL,
  GATEWAY_UNIT,
  gatewayArgv,
  gatewayEnvironment,
  gatewayPlist,
  gatewayUnit,
  type HostLayout,
  type ServiceUsers,
} from "./services.ts";
import { importOpenclaw } from "./import.ts";

/** What the bundle says it is (bundle.json at its root, written by the control plane's bundle build). */
export interface BundleInfo {
  version: string;
  platform: string;
  nodeVersion: string;
  openclawVersion: string;
  agentVersion: string;
}

/** What install did, for uninstall and upgrades (host.json, 0600 root). */
interface HostFile {
  instanceId: string;
  version: string;
  port: number;
  modelPort: number;
  users: ServiceUsers;
  prefix: string;
  imported: { from: string; backup: string; merged: string[] } | null;
  installedAt: string;
  upgradedAt?: string;
}

const say = (m: string) => process.stderr.write(`tropic-host: ${m}\n`);

export function parseArgs(argv: string[]): { cmd: string; opts: Record<string, string | true> } {
  const [cmd = "help", ...rest] = argv;
  const opts: Record<string, string | true> = {};
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf("=");
    if (eq > 0) opts[a.slice(2, eq)] = a.slice(eq + 1);
    else if (["url", "token", "prefix", "import-from"].includes(a.slice(2))) {
      const v = rest[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      opts[a.slice(2)] = v;
    } else opts[a.slice(2)] = true;
  }
  return { cmd, opts };
}

function run(cmd: string, args: string[], opts: { allowFail?: boolean } = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0 && !opts.allowFail)
    throw new Error(`${cmd} ${args.join(" ")} failed: ${(r.stderr || r.stdout || r.error?.message || "").trim()}`);
  return r;
}

function writeAtomic(path: string, text: string, mode: number, owner?: { uid: number; gid: number }) {
  const tmp = `${path}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, text, { mode, flag: "wx" });
  chmodSync(tmp, mode);
  if (owner) chownSync(tmp, owner.uid, owner.gid);
  renameSync(tmp, path);
}

function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch {
    return null;
  }
}

/** The bundle this tropic-host belongs to: <prefix>/current/bundle.json. */
function bundleInfo(prefix: string): BundleInfo {
  const info = readJson<BundleInfo>(join(prefix, "current", "bundle.json"));
  if (!info) throw new Error(`no bundle at ${join(prefix, "current")} (run the installer: it downloads one)`);
  return info;
}

/** Agent37 hosts (Agent37's own model proxy): the dashboard hides model choice and keys for them. */
export function isAgent37(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.AGENT37_LLM_PROXY_URL || env.OPENCLAW_STARTER_PROXY_URL);
}

export interface EnrolResult {
  instanceId: string;
  agentToken: string;
  agentUrl: string;
  gatewayToken: string;
}

/** POST <url>/api/v1/hosts/enrol with the token in the body; the control plane's words on refusal (never the token). */
export async function enrol(url: string, token: string, host: Record<string, unknown>): Promise<EnrolResult> {
  let res: Response;
  try {
    res = await fetch(`${url.replace(/\/+$/, "")}/api/v1/hosts/enrol`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token, host }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    throw new Error(`could not reach the control plane at ${url}: ${(e as Error).message}`);
  }
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text);
  } catch {}
  if (!res.ok) {
    const err = body.error as { message?: string } | string | undefined;
    const why = String((typeof err === "object" ? err?.message : err) ?? body.message ?? text.slice(0, 300)).replaceAll(token, "[token]");
    throw new Error(`the control plane refused the enrolment (HTTP ${res.status}): ${why}`);
  }
  for (const k of ["instanceId", "agentToken", "agentUrl", "gatewayToken"])
    if (typeof body[k] !== "string" || !body[k]) throw new Error(`the control plane's enrolment answer has no ${k}`);
  return body as unknown as EnrolResult;
}

function freePort(preferred: number): Promise<number> {
  const tryPort = (p: number) =>
    new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once("error", reject);
      s.listen(p, "127.0.0.1", () => {
        const got = (s.address() as { port: number }).port;
        s.close(() => resolve(got));
      });
    });
  return tryPort(preferred).catch(() => tryPort(0));
}

// ---- users

function lookupUser(name: string): { user: string; uid: number; gid: number } | null {
  const u = spawnSync("id", ["-u", name], { encoding: "utf8" });
  const g = spawnSync("id", ["-g", name], { encoding: "utf8" });
  return u.status === 0 && g.status === 0 ? { user: name, uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) } : null;
}

/** The gateway's user (the tenant) and the agent's (its file worker, in the gateway's group): as local.ts. */
function ensureUsers(home: string, darwin: boolean): ServiceUsers {
  const make = (name: string, group?: string) => {
    const found = lookupUser(name);
    if (found) {
      if (group && !darwin && !spawnSync("id", ["-nG", name], { encoding: "utf8" }).stdout.split(/\s+/).includes(group))
        run("usermod", ["-a", "-G", group, name]);
      return found;
    }
    if (darwin) darwinUser(name, home, group);
    else
      run("useradd", [
        "--system",
        "--user-group",
        "--no-create-home",
        "--home-dir",
        home,
        "--shell",
        "/usr/sbin/nologin",
        ...(group ? ["-G", group] : []),
        name,
      ]);
    const made = lookupUser(name);
    if (!made) throw new Error(`could not create the user ${name}`);
    return made;
  };
  const gateway = make(GATEWAY_USER);
  const agent = make(AGENT_USER, GATEWAY_USER);
  return { gateway, agent };
}

/** macOS: a hidden role account and its group with dscl (ids from 450 up, below the console users'). */
function darwinUser(name: string, home: string, group?: string) {
  const used = new Set(
    run("dscl", [".", "-list", "/Users", "UniqueID"])
      .stdout.split("\n")
      .map((l) => Number(l.trim().split(/\s+/)[1])),
  );
  let id = 450;
  while (used.has(id)) id++;
  run("dscl", [".", "-create", `/Groups/${name}`]);
  run("dscl", [".", "-create", `/Groups/${name}`, "PrimaryGroupID", String(id)]);
  run("dscl", [".", "-create", `/Users/${name}`]);
  for (const [k, v] of [
    ["UniqueID", String(id)],
    ["PrimaryGroupID", String(id)],
    ["UserShell", "/usr/bin/false"],
    ["NFSHomeDirectory", home],
    ["IsHidden", "1"],
  ])
    run("dscl", [".", "-create", `/Users/${name}`, k!, v!]);
  if (group) run("dscl", [".", "-append", `/Groups/${group}`, "GroupMembership", name]);
}

function removeUsers(darwin: boolean) {
  for (const name of [AGENT_USER, GATEWAY_USER]) {
    if (!lookupUser(name)) continue;
    if (darwin) {
      run("dscl", [".", "-delete", `/Users/${name}`], { allowFail: true });
      run("dscl", [".", "-delete", `/Groups/${name}`], { allowFail: true });
      continue;
    }
    for (let i = 0; i < 50; i++) {
      const r = spawnSync("userdel", [name], { stdio: "ignore" });
      if (r.status === 0 || r.status === 6) break;
      spawnSync("sleep", ["0.2"]);
    }
    spawnSync("groupdel", [name], { stdio: "ignore" });
  }
}

// ---- services

const systemctl = (...args: string[]) =>
  run("systemctl", args, { allowFail: args[0] === "stop" || args[0] === "disable" || args[0] === "try-restart" });

function writeServices(l: HostLayout, users: ServiceUsers, port: number) {
  const darwin = l.platform.startsWith("darwin-");
  mkdirSync(l.serviceDir, { recursive: true });
  if (darwin) {
    writeAtomic(join(l.serviceDir, `${GATEWAY_LABEL}.plist`), gatewayPlist(l, users, port), 0o644);
    writeAtomic(join(l.serviceDir, `${AGENT_LABEL}.plist`), agentPlist(l), 0o644);
    return;
  }
  const mem = totalmem();
  writeAtomic(join(l.serviceDir, GATEWAY_UNIT), gatewayUnit(l, users, port, mem), 0o644);
  writeAtomic(join(l.serviceDir, AGENT_UNIT), agentUnit(l, mem), 0o644);
}

// ---- install

export async function install(opts: Record<string, string | true>): Promise<void> {
  const prefix = typeof opts.prefix === "string" ? opts.prefix : DEFAULT_PREFIX;
  const url = typeof opts.url === "string" ? opts.url.replace(/\/+$/, "") : "";
  if (!/^https?:\/\//.test(url)) throw new Error("--url <control plane URL> is needed");
  if (process.getuid?.() !== 0) throw new Error("tropic-host install needs root (users, services)");
  const info = bundleInfo(prefix);
  const l = hostLayout({ prefix, platform: info.platform });
  const darwin = l.platform.startsWith("darwin-");
  const paths = bundlePaths(l.current, l.platform);
  mkdirSync(l.instanceDir, { recursive: true, mode: 0o711 });
  chmodSync(l.instanceDir, 0o711);
  mkdirSync(join(l.instanceDir, "agent-state"), { recursive: true, mode: 0o700 });
  const agentJson = join(l.instanceDir, "agent.json");
  const hostJson = join(l.instanceDir, "host.json");
  const prev = readJson<HostFile>(hostJson);
  let cred = readJson<{ instanceId: string; url: string; token: string; gatewayToken: string }>(agentJson);

  // 1. Enrolment. A token is the user's word: enrol (a re-install gets a new agent token for the same
  // instance). A re-run whose token is spent (an upgrade with the same one-liner) keeps the credential it has.
  let token = typeof opts.token === "string" ? opts.token : "";
  if (opts["token-stdin"]) token = readFileSync(0, "utf8").trim();
  if (token) {
    say(`enrolling ${hostname()} with ${url}`);
    try {
      const r = await enrol(url, token, {
        os: process.platform,
        arch: process.arch,
        hostname: hostname(),
        agentVersion: info.agentVersion,
        openclawVersion: info.openclawVersion,
        agent37: isAgent37(),
      });
      cred = { instanceId: r.instanceId, url: r.agentUrl, token: r.agentToken, gatewayToken: r.gatewayToken };
      writeAtomic(agentJson, `${JSON.stringify(cred, null, 2)}\n`, 0o600);
      say(`enrolled as instance ${r.instanceId}`);
    } catch (e) {
      if (!cred) throw e;
      say(`${(e as Error).message}; keeping this machine's enrolment (instance ${cred.instanceId}) and upgrading in place`);
    }
  } else if (cred) say(`enrolled as instance ${cred.instanceId}: upgrading in place to ${info.version}`);
  else throw new Error("an enrolment token is needed (--token or --token-stdin)");

  // 2. Users and the home (root makes it once, then never looks inside: the worker writes there).
  const users = ensureUsers(l.home, darwin);
  let imported = prev?.imported ?? null;
  if (!existsSync(l.home)) {
    mkdirSync(l.home, { mode: 0o700 });
    chownSync(l.home, users.gateway.uid, users.gateway.gid);
    chmodSync(l.home, 0o3770);
    // 3. The invoking user's own OpenClaw, backed up and imported, before anything of the instance runs.
    const from = typeof opts["import-from"] === "string" ? opts["import-from"] : invokingUserState();
    if (from && existsSync(from)) {
      imported = importOpenclaw({ from, stateDir: l.stateDir, backupDir: join(l.instanceDir, "backups"), users });
      say(`kept your OpenClaw: ${from} backed up to ${imported.backup}; imported ${imported.merged.join(", ") || "nothing"}`);
    }
  }

  // 4. Ports, environment files, what the agent runs, the services.
  const port = prev?.port ?? (await freePort(DEFAULT_GATEWAY_PORT));
  const modelPort = prev?.modelPort ?? (await freePort(port + 1));
  const gwEnv = gatewayEnvironment(l);
  if (darwin) writeAtomic(l.gatewayEnv, envFile(gwEnv), 0o640, { uid: 0, gid: users.gateway.gid });
  else writeAtomic(l.gatewayEnv, envFile(gwEnv), 0o600);
  writeAtomic(l.agentEnv, envFile({ PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8" }), 0o600);
  const workerCmd = [paths.node, "--max-old-space-size=16", "--max-semi-space-size=1", "--lite-mode", paths.agent, "--worker"];
  const launch = {
    argv: gatewayArgv(l, port),
    env: gwEnv,
    cwd: l.home,
    port,
    homeDir: l.home,
    stateDir: l.stateDir,
    configPath: join(l.stateDir, "openclaw.json"),
    readyUrl: `http://127.0.0.1:${port}/readyz`,
    // OpenClaw's config check runs as the gateway's user, like the gateway
    uid: users.gateway.uid,
    gid: users.gateway.gid,
    gatewayLog: l.gatewayLog,
    worker: {
      argv: darwin
        ? workerCmd
        : [
            "setpriv",
            `--reuid=${users.agent.uid}`,
            `--regid=${users.agent.gid}`,
            `--groups=${users.gateway.gid}`,
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
            "--",
            ...workerCmd,
          ],
      env: {
        NODE_CHANNEL_FD: "3",
        PATH: "/usr/local/bin:/usr/bin:/bin",
        LANG: "C.UTF-8",
        HOME: l.home,
        TROPIC_WORKER: JSON.stringify({
          homeDir: l.home,
          stateDir: l.stateDir,
          configPath: join(l.stateDir, "openclaw.json"),
          gatewayLog: l.gatewayLog,
          gateway: { url: `ws://127.0.0.1:${port}`, token: cred.gatewayToken },
          modelPort,
        }),
      },
      cwd: l.home,
    },
    limits: [],
    desired: {
      gatewayToken: cred.gatewayToken,
      basePath: `/i/${cred.instanceId}`,
      pluginDir: paths.pluginDir,
      workspace: join(l.stateDir, "workspace"),
      // absent in a bundle built from a runtime older than the plugin: the agent then says to reinstall
      whatsappPluginDir: existsSync(join(paths.whatsappPluginDir, "openclaw.plugin.json")) ? paths.whatsappPluginDir : null,
    },
    dial: "direct",
    networkHelper: null,
    modelPort,
    // host mode: the gateway is a service of the service manager, which the agent drives
    service: darwin
      ? { manager: "launchd", label: GATEWAY_LABEL, plist: join(l.serviceDir, `${GATEWAY_LABEL}.plist`) }
      : { manager: "systemd", unit: GATEWAY_UNIT },
    host: { uninstall: [paths.tropicHost, "uninstall", "--prefix", prefix] },
  };
  writeAtomic(join(l.instanceDir, "launch.json"), `${JSON.stringify(launch, null, 2)}\n`, 0o600);
  const file: HostFile = {
    instanceId: cred.instanceId,
    version: info.version,
    port,
    modelPort,
    users,
    prefix,
    imported,
    installedAt: prev?.installedAt ?? new Date().toISOString(),
    ...(prev ? { upgradedAt: new Date().toISOString() } : {}),
  };
  writeAtomic(hostJson, `${JSON.stringify(file, null, 2)}\n`, 0o600);
  writeServices(l, users, port);

  // 5. Enabled at boot and started. The agent starts the gateway once the control plane's queued
  // commands are applied; an upgrade restarts both on the new bundle.
  if (darwin) {
    for (const label of [AGENT_LABEL, GATEWAY_LABEL]) {
      const plist = join(l.serviceDir, `${label}.plist`);
      run("launchctl", ["bootout", `system/${label}`], { allowFail: true });
      if (label === AGENT_LABEL) run("launchctl", ["bootstrap", "system", plist]);
      run("launchctl", ["enable", `system/${label}`], { allowFail: true });
    }
  } else {
    systemctl("daemon-reload");
    systemctl("enable", GATEWAY_UNIT, AGENT_UNIT);
    if (prev) {
      systemctl("try-restart", GATEWAY_UNIT);
      systemctl("restart", AGENT_UNIT);
    } else systemctl("start", AGENT_UNIT);
  }
  say(
    `installed: ${darwin ? `${AGENT_LABEL} and ${GATEWAY_LABEL}` : `${AGENT_UNIT} and ${GATEWAY_UNIT}`} (gateway on 127.0.0.1:${port}, no inbound port)`,
  );
  const connected = await waitFor(() => /connected to /.test(tail(join(l.instanceDir, "agent.log"))), 30_000);
  say(
    connected
      ? "the agent is connected to Tropic: the instance is on its way to running"
      : "the agent has not connected yet; see agent.log in the instance directory",
  );
}

/** ~/.openclaw of the user who ran the installer (before sudo), if any. */
function invokingUserState(): string | null {
  const name = process.env.TROPIC_INVOKING_USER || process.env.SUDO_USER;
  if (!name || name === "root") return null;
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) return null;
  const home =
    process.platform === "darwin"
      ? (/NFSHomeDirectory:\s*(\S.*)/.exec(
          spawnSync("dscl", [".", "-read", `/Users/${name}`, "NFSHomeDirectory"], { encoding: "utf8" }).stdout,
        )?.[1] ?? "")
      : (spawnSync("getent", ["passwd", name], { encoding: "utf8" }).stdout.split(":")[5] ?? "");
  return home.startsWith("/") ? join(home.trim(), ".openclaw") : null;
}

function tail(path: string): string {
  try {
    return readFileSync(path, "utf8").slice(-4000);
  } catch {
    return "";
  }
}

async function waitFor(pred: () => boolean, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

// ---- uninstall

export function uninstall(opts: Record<string, string | true>): void {
  if (process.getuid?.() !== 0) throw new Error("tropic-host uninstall needs root");
  const prefix = typeof opts.prefix === "string" ? opts.prefix : DEFAULT_PREFIX;
  const platform = readJson<BundleInfo>(join(prefix, "current", "bundle.json"))?.platform;
  const l = hostLayout({ prefix, ...(platform ? { platform } : {}) });
  const darwin = l.platform.startsWith("darwin-");
  if (darwin) {
    for (const label of [AGENT_LABEL, GATEWAY_LABEL]) {
      run("launchctl", ["bootout", `system/${label}`], { allowFail: true });
      rmSync(join(l.serviceDir, `${label}.plist`), { force: true });
    }
  } else {
    // the agent first (it would start the gateway again), then the gateway
    systemctl("disable", "--now", AGENT_UNIT);
    systemctl("disable", "--now", GATEWAY_UNIT);
    for (const u of [AGENT_UNIT, GATEWAY_UNIT]) rmSync(join(l.serviceDir, u), { force: true });
    systemctl("daemon-reload");
    run("systemctl", ["reset-failed", AGENT_UNIT, GATEWAY_UNIT], { allowFail: true });
  }
  removeUsers(darwin);
  // Nothing of the instance runs any more; rm never follows links. The credential goes with the directory.
  rmSync(l.instanceDir, { recursive: true, force: true });
  rmSync(prefix, { recursive: true, force: true });
  say("uninstalled: services, users, the instance's directory and credential, and the bundles are gone");
}

function status(opts: Record<string, string | true>) {
  const prefix = typeof opts.prefix === "string" ? opts.prefix : DEFAULT_PREFIX;
  const info = readJson<BundleInfo>(join(prefix, "current", "bundle.json"));
  const l = hostLayout({ prefix, ...(info ? { platform: info.platform } : {}) });
  const host = readJson<HostFile>(join(l.instanceDir, "host.json"));
  const agent = readJson<Record<string, unknown>>(join(l.instanceDir, "agent-state", "status.json"));
  process.stdout.write(
    `${JSON.stringify({ bundle: info, instanceId: host?.instanceId ?? null, port: host?.port ?? null, status: agent }, null, 2)}\n`,
  );
}

const USAGE = `usage:
  tropic-host install --url <tropic url> (--token <t> | --token-stdin) [--prefix ${DEFAULT_PREFIX}] [--import-from <dir>]
  tropic-host uninstall [--prefix ${DEFAULT_PREFIX}]
  tropic-host status [--prefix ${DEFAULT_PREFIX}]
`;

export async function main(argv: string[]): Promise<number> {
  try {
    const { cmd, opts } = parseArgs(argv);
    if (cmd === "install") await install(opts);
    else if (cmd === "uninstall") uninstall(opts);
    else if (cmd === "status") status(opts);
    else {
      process.stdout.write(USAGE);
      return cmd === "help" || cmd === "--help" ? 0 : 2;
    }
    return 0;
  } catch (e) {
    say(`error: ${(e as Error).message}`);
    return 1;
  }
}

const self = process.argv[1] ?? "";
if (/tropic-host(\.mjs)?$|host\/src\/main\.ts$/.test(self)) process.exitCode = await main(process.argv.slice(2));
