// Where a host keeps things. One instance per host.
//   <prefix>/<version>/     the bundle (root's, read-only to everyone else); <prefix>/current → it
//   <instance dir>          /var/lib/tropic (Linux) or /Library/Application Support/Tropic (macOS), 0711 root
//     agent.json            0600 root: instanceId, the control plane's agent URL, the agent token, the gateway token
//     host.json             0600 root: what was installed (users, port, services, backups), read by uninstall
//     launch.json           0600 root: how the agent drives the gateway (its service) and starts its worker
//     gateway.env agent.env 0600 root (the gateway's: 0640 root:<gateway group> on macOS, read by the job itself)
//     agent.log gateway.log agent-state/ backups/
//     home/                 HOME of the gateway's user: 3770 gateway:gateway, .openclaw/ the state dir (as local.ts)
import { join } from "node:path";
import type { HostLayout } from "./services.ts";

export const DEFAULT_PREFIX = "/opt/tropic";

export function platformOf(platform = process.platform, arch = process.arch): string {
  return `${platform}-${arch}`;
}

export function hostLayout(opts: { prefix?: string; root?: string; platform?: string } = {}): HostLayout {
  const platform = opts.platform ?? platformOf();
  const root = opts.root ?? "";
  const darwin = platform.startsWith("darwin-");
  const instanceDir = join(root || "/", darwin ? "Library/Application Support/Tropic" : "var/lib/tropic");
  const home = join(instanceDir, "home");
  return {
    current: join(opts.prefix ?? DEFAULT_PREFIX, "current"),
    instanceDir,
    home,
    stateDir: join(home, ".openclaw"),
    gatewayLog: join(instanceDir, "gateway.log"),
    gatewayEnv: join(instanceDir, "gateway.env"),
    agentEnv: join(instanceDir, "agent.env"),
    serviceDir: join(root || "/", darwin ? "Library/LaunchDaemons" : "etc/systemd/system"),
    platform,
  };
}

/** The Linux users of the host's instance (short: macOS and old shadow-utils limit names). */
export const GATEWAY_USER = "tropic-gw";
export const AGENT_USER = "tropic-agent";
