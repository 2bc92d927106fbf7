// The service definitions of a host, generated from code (never templates edited by hand):
// systemd units on Linux, LaunchAgent/LaunchDaemon plists on macOS. Pure functions of a HostLayout
// and the machine's memory, so the tests check exactly what gets installed.
//
// Two services, as the seed names them:
//   openclaw-gateway  the OpenClaw gateway, as the instance's gateway user (the tenant), loopback only
//   tropic-agent      the instance agent: the management channel (dials OUT), the gate watch, and the
//                     gateway's supervisor through the service manager (systemctl/launchctl), so root
//
// No secret is ever in a unit or plist: the gateway's token is in openclaw.json (written by the agent,
// read-only to the gateway), the agent's credential in agent.json (0600 root); the environment of
// each service comes from a 0600 root file the service manager reads (EnvironmentFile= on Linux; on
// macOS a small launcher script that sources it, because launchd has no such key).

export const GATEWAY_UNIT = "openclaw-gateway.service";
export const AGENT_UNIT = "tropic-agent.service";
export const GATEWAY_LABEL = "ai.openclaw.gateway";
export const AGENT_LABEL = "ai.tropic.agent";
/** OpenClaw's default gateway port (a busy one makes the installer choose another). */
export const DEFAULT_GATEWAY_PORT = 18789;

/** Where everything of a host lives (see hostLayout in layout.ts). */
export interface HostLayout {
  /** the bundle in use: <prefix>/current (a symlink to <prefix>/<version>) */
  current: string;
  /** the instance's directory: agent.json (0600), launch.json, logs, agent-state/, home/ */
  instanceDir: string;
  home: string;
  stateDir: string;
  gatewayLog: string;
  /** the gateway's environment file (0600 root; the service manager reads it) */
  gatewayEnv: string;
  /** the agent's environment file */
  agentEnv: string;
  /** where units/plists go */
  serviceDir: string;
  platform: string;
}

export interface ServiceUsers {
  gateway: { user: string; uid: number; gid: number };
  agent: { user: string; uid: number; gid: number };
}

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

/**
 * Memory limits sized from the machine's RAM (OpenClaw's own units have none: an OOM on a small
 * box takes the whole machine down with it). The gateway (~0.9–1 GB RSS when running) may use up to
 * 75% of the RAM (capped at 4 GiB), and is pushed back by the kernel (MemoryHigh) above 60% (capped at
 * 3 GiB); the agent (~50–65 MB, plus OpenClaw's own `config validate` it runs as a child, ~300 MB)
 * gets 12% / 20% with a floor of 256 MiB / 512 MiB and a ceiling of 512 MiB / 1 GiB.
 */
export function memoryLimits(totalBytes: number) {
  const round = (n: number) => Math.floor(n / MiB) * MiB;
  const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n));
  return {
    gateway: { high: round(Math.min(totalBytes * 0.6, 3 * GiB)), max: round(Math.min(totalBytes * 0.75, 4 * GiB)) },
    agent: { high: round(clamp(totalBytes * 0.12, 256 * MiB, 512 * MiB)), max: round(clamp(totalBytes * 0.2, 512 * MiB, GiB)) },
  };
}

const mib = (n: number) => `${Math.round(n / MiB)}M`;

/** The bundle's Node and OpenClaw entry, under `current` (so an upgrade is a new symlink and a restart). */
export function bundlePaths(current: string, platform: string) {
  return {
    node: `${current}/runtime/node_modules/node-${platform}/bin/node`,
    openclaw: `${current}/runtime/node_modules/openclaw/openclaw.mjs`,
    // CommonJS: ~4 MB less resident than an ES module (server/src/hosts/bundle.ts hostAgentBundle)
    agent: `${current}/lib/agent.cjs`,
    tropicHost: `${current}/bin/tropic-host`,
    pluginDir: `${current}/plugin/tropic-gate`,
    // OpenClaw's WhatsApp channel plugin, part of the runtime the bundle carries (runtime/ installs it pinned)
    whatsappPluginDir: `${current}/runtime/node_modules/@openclaw/whatsapp`,
  };
}

/** The gateway's command line: what the unit runs and what the agent's config check imitates. */
export function gatewayArgv(l: HostLayout, port: number): string[] {
  const b = bundlePaths(l.current, l.platform);
  return [b.node, b.openclaw, "gateway", "run", "--allow-unconfigured", "--port", String(port), "--bind", "loopback"];
}

/** The gateway's environment (no secret: the token is in openclaw.json). No RestrictSUIDSGID in the units: the
 * state directories are setgid (the local provider's layout), and a directory made in one inherits the bit. */
export function gatewayEnvironment(l: HostLayout): Record<string, string> {
  return {
    HOME: l.home,
    OPENCLAW_STATE_DIR: l.stateDir,
    // openclaw.json is Tropic's (the agent writes it; the gateway hot-reloads it)
    OPENCLAW_CONFIG_READONLY: "1",
    NODE_COMPILE_CACHE: `${l.home}/.cache/node-compile-cache`,
    NO_COLOR: "1",
    LANG: "C.UTF-8",
    // the skills' commands (written by the agent, docs/skills.md), then the bundle's node and openclaw:
    // OpenClaw runs its own CLI for state migrations
    PATH: `${l.stateDir}/skills-bin:${l.current}/runtime/node_modules/.bin:/usr/local/bin:/usr/bin:/bin`,
  };
}

/** KEY=value lines for an environment file (values quoted for systemd and for sh alike). */
export function envFile(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => {
      if (!/^[A-Z_][A-Z0-9_]*$/.test(k)) throw new Error(`bad environment variable name ${k}`);
      if (/[\n\r"\\$`]/.test(v)) throw new Error(`the value of ${k} cannot go into an environment file`);
      return `${k}="${v}"\n`;
    })
    .join("");
}

const q = (s: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `"${s.replace(/(["\\])/g, "\\$1")}"`);

/** systemd: openclaw-gateway.service, as the gateway's user, hardened, memory-bounded. */
export function gatewayUnit(l: HostLayout, users: ServiceUsers, port: number, totalMemBytes: number): string {
  const m = memoryLimits(totalMemBytes).gateway;
  return `# Generated by tropic-host (Tropic); changes are overwritten by the next install.
[Unit]
Description=OpenClaw gateway (Tropic instance)
Documentation=https://docs.openclaw.ai
After=network-online.target
Wants=network-online.target
# Back-off: at most 10 starts in 10 minutes, then the unit stays failed (the agent reports it and may start it again)
StartLimitIntervalSec=600
StartLimitBurst=10

[Service]
Type=simple
User=${users.gateway.user}
Group=${users.gateway.user}
UMask=0007
WorkingDirectory=${l.home}
EnvironmentFile=${l.gatewayEnv}
ExecStart=${gatewayArgv(l, port).map(q).join(" ")}
Restart=on-failure
RestartSec=2s
RestartSteps=5
RestartMaxDelaySec=30s
# 78 (EX_CONFIG): OpenClaw refuses its config; restarting cannot help (as OpenClaw's own unit)
RestartPreventExitStatus=78
TimeoutStopSec=20s
StandardOutput=append:${l.gatewayLog}
StandardError=append:${l.gatewayLog}
MemoryHigh=${mib(m.high)}
MemoryMax=${mib(m.max)}
TasksMax=512
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=${l.home}
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
CapabilityBoundingSet=
AmbientCapabilities=
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK

[Install]
WantedBy=multi-user.target
`;
}

/**
 * systemd: tropic-agent.service. The agent is root, as on the local provider: it holds the instance's
 * credential (0600 root), drives the gateway's unit with systemctl and starts its file worker as the
 * agent's user. Its writes are confined to the instance's directory (ProtectSystem=strict).
 */
export function agentUnit(l: HostLayout, totalMemBytes: number): string {
  const m = memoryLimits(totalMemBytes).agent;
  const b = bundlePaths(l.current, l.platform);
  const argv = [b.node, "--max-old-space-size=16", "--max-semi-space-size=1", "--lite-mode", b.agent, l.instanceDir];
  return `# Generated by tropic-host (Tropic); changes are overwritten by the next install.
[Unit]
Description=Tropic instance agent (management channel, dials out)
After=network-online.target
Wants=network-online.target
StartLimitIntervalSec=600
StartLimitBurst=20

[Service]
Type=simple
# root: it drives ${GATEWAY_UNIT} through systemctl and drops to the instance's agent user for its file worker
User=root
EnvironmentFile=${l.agentEnv}
WorkingDirectory=${l.instanceDir}
ExecStart=${argv.map(q).join(" ")}
Restart=on-failure
RestartSec=1s
RestartSteps=5
RestartMaxDelaySec=15s
TimeoutStopSec=20s
# the gateway is its own unit: stopping the agent leaves it running
KillMode=control-group
StandardOutput=append:${l.instanceDir}/agent.log
StandardError=append:${l.instanceDir}/agent.log
MemoryHigh=${mib(m.high)}
MemoryMax=${mib(m.max)}
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=${l.instanceDir}
ProtectHome=yes
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectClock=yes
ProtectHostname=yes
RestrictRealtime=yes
LockPersonality=yes
CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_CHOWN CAP_FOWNER CAP_DAC_OVERRIDE CAP_KILL CAP_SETPCAP
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK

[Install]
WantedBy=multi-user.target
`;
}

// ---- macOS

const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function plist(dict: Record<string, string | boolean | number | string[] | Record<string, unknown>>): string {
  const value = (v: unknown, indent: string): string => {
    if (typeof v === "string") return `${indent}<string>${xml(v)}</string>`;
    if (typeof v === "boolean") return `${indent}<${v}/>`;
    if (typeof v === "number") return `${indent}<integer>${Math.trunc(v)}</integer>`;
    if (Array.isArray(v)) return `${indent}<array>\n${v.map((x) => value(x, `${indent}  `)).join("\n")}\n${indent}</array>`;
    const entries = Object.entries(v as Record<string, unknown>);
    return `${indent}<dict>\n${entries.map(([k, x]) => `${indent}  <key>${xml(k)}</key>\n${value(x, `${indent}  `)}`).join("\n")}\n${indent}</dict>`;
  };
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
${value(dict, "")}
</plist>
`;
}

/**
 * launchd has no EnvironmentFile: the program is /bin/sh sourcing the 0600 root env file, then exec'ing
 * the real command, so no value is in the plist (which every user may read).
 */
function withEnvFile(envPath: string, argv: string[]): string[] {
  return ["/bin/sh", "-c", `set -a; . ${q(envPath)}; set +a; exec "$@"`, "sh", ...argv];
}

/** macOS: ai.openclaw.gateway, as the gateway's user (UserName: a LaunchDaemon in /Library/LaunchDaemons). */
export function gatewayPlist(l: HostLayout, users: ServiceUsers, port: number): string {
  return plist({
    Label: GATEWAY_LABEL,
    ProgramArguments: withEnvFile(l.gatewayEnv, gatewayArgv(l, port)),
    UserName: users.gateway.user,
    GroupName: users.gateway.user,
    WorkingDirectory: l.home,
    RunAtLoad: true,
    // restarted on failure only (not after a clean exit), at most every 10 s (launchd's throttle)
    KeepAlive: { SuccessfulExit: false },
    ThrottleInterval: 10,
    Umask: 7,
    ProcessType: "Background",
    StandardOutPath: l.gatewayLog,
    StandardErrorPath: l.gatewayLog,
  });
}

/** macOS: ai.tropic.agent, root (it drives the gateway's job with launchctl). */
export function agentPlist(l: HostLayout): string {
  const b = bundlePaths(l.current, l.platform);
  return plist({
    Label: AGENT_LABEL,
    ProgramArguments: withEnvFile(l.agentEnv, [b.node, "--max-old-space-size=16", "--max-semi-space-size=1", "--lite-mode", b.agent, l.instanceDir]),
    UserName: "root",
    WorkingDirectory: l.instanceDir,
    RunAtLoad: true,
    KeepAlive: true,
    ThrottleInterval: 5,
    ProcessType: "Background",
    StandardOutPath: `${l.instanceDir}/agent.log`,
    StandardErrorPath: `${l.instanceDir}/agent.log`,
  });
}
