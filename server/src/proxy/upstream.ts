// Where a proxied request goes. Local instances: the gateway's loopback port. Cloud instances
// (next wave): the VM's private address, with the Referer its nginx requires.

export interface Upstream {
  /** host and port to connect to */
  host: string;
  port: number;
  /** extra request headers the upstream requires (cloud: the Referer nginx checks) */
  headers: Record<string, string>;
}

export interface InstanceAddressInfo {
  provider: string;
  addresses: Record<string, unknown>;
}

/** The upstream of an instance, or null while it has no reachable gateway address. */
export function selectUpstream(row: InstanceAddressInfo): Upstream | null {
  if (row.provider === "local") {
    const gw = parse(row.addresses.gateway);
    // A local gateway binds loopback only; never forward anywhere else.
    if (gw?.hostname !== "127.0.0.1") return null;
    return { host: "127.0.0.1", port: Number(gw.port), headers: {} };
  }
  // Cloud (aws/byo), not implemented yet: the design is the instance's private address plus the
  // Referer its nginx requires, e.g.
  //   const priv = parse(row.addresses.private); const referer = String(row.addresses.referer ?? "");
  //   return { host: priv.hostname, port: Number(priv.port || 80), headers: { referer } };
  return null;
}

function parse(v: unknown): URL | null {
  if (typeof v !== "string") return null;
  try {
    const u = new URL(v);
    return u.protocol === "http:" && u.port ? u : null;
  } catch {
    return null;
  }
}
