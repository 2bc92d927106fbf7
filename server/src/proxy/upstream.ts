// Where a proxied request goes. Local instances: the gateway, which binds loopback in the instance's
// own network namespace, through the instance agent's tunnel (a new multiplexed stream per connection).
// Cloud instances: the VM's nginx on its private address, with the Referer that nginx requires (the
// seed's referer validation: a request that reaches the VM without it gets 403).
import { isIP } from "node:net";
import type { Duplex } from "node:stream";

/** Connections to instances' gateways through their agents' tunnels (the AgentHub). */
export interface GatewayTunnels {
  /** a new stream to the gateway; throws when the instance's agent is not connected */
  openStream(instanceId: string): Duplex;
}

export interface Upstream {
  /** host and port to connect to */
  host: string;
  port: number;
  /** extra request headers the upstream requires (cloud: the Referer nginx checks) */
  headers: Record<string, string>;
  /** a new connection through the agent's tunnel (local instances; host and port are then the gateway's own, for its Host and Origin checks) */
  connect?: () => Duplex;
}

export interface InstanceAddressInfo {
  provider: string;
  addresses: Record<string, unknown>;
}

export interface UpstreamOptions {
  /** the Referer a cloud VM's nginx accepts: the control plane's public URL */
  referer: string;
  /** opens a stream through the instance's tunnel (without it, a local instance has no upstream) */
  tunnel?: () => Duplex;
}

/** The upstream of an instance, or null while it has no reachable gateway address. */
export function selectUpstream(row: InstanceAddressInfo, opts: UpstreamOptions): Upstream | null {
  if (row.provider === "local") {
    const gw = parse(row.addresses.gateway);
    // A local gateway binds loopback only, in its own namespace: reached through the tunnel, nowhere else.
    if (gw?.hostname !== "127.0.0.1" || !gw.port || !opts.tunnel) return null;
    return { host: "127.0.0.1", port: Number(gw.port), headers: {}, connect: opts.tunnel };
  }
  if (row.provider === "byo") {
    // A user's own machine: its gateway binds loopback there and the agent dialled out, so the agent's
    // tunnel is the only way in. A stream names no destination (the agent joins it to its gateway's port,
    // whatever the installer chose), so the Host the gateway sees is its loopback name on OpenClaw's default port.
    if (!opts.tunnel) return null;
    return { host: "127.0.0.1", port: 18789, headers: {}, connect: opts.tunnel };
  }
  // Cloud VMs: their nginx on the private address the provider recorded, never a public one (the
  // gateway port is not public).
  // A cloud VM reached through its agent's tunnel (TROPIC_AWS_REACH=tunnel, docs/aws.md): its gateway binds
  // loopback on the VM, and the provider records no private nginx address.
  if (row.provider === "aws" && row.addresses.private === undefined) {
    const gw = parse(row.addresses.gateway);
    if (gw?.hostname !== "127.0.0.1" || !gw.port || !opts.tunnel) return null;
    return { host: "127.0.0.1", port: Number(gw.port), headers: {}, connect: opts.tunnel };
  }
  const priv = parse(row.addresses.private);
  if (!priv || !isPrivateAddress(priv.hostname)) return null;
  return { host: priv.hostname, port: Number(priv.port || 80), headers: { referer: opts.referer } };
}

/** The origin the upstream sees as its own (what a browser loading it directly would send). */
export const upstreamOrigin = (up: Upstream) => new URL(`http://${up.host}:${up.port}`).origin;

/** Loopback, RFC 1918, or the WireGuard range: the only places a proxied request may go. */
export function isPrivateAddress(host: string): boolean {
  if (isIP(host) !== 4) return false;
  const [a, b] = host.split(".").map(Number) as [number, number];
  return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

function parse(v: unknown): URL | null {
  if (typeof v !== "string") return null;
  try {
    const u = new URL(v);
    return u.protocol === "http:" ? u : null;
  } catch {
    return null;
  }
}
