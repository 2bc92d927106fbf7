// A security group's ingress rules as nftables rules: the stand-in for EC2's security group on the booted
// test host (server/test/vm-image.e2e.test.ts, bench/vm-image.bench.ts). It takes the very IpPermission
// list the provider sends to AuthorizeSecurityGroupIngress (AwsProvider.ingressFor), so one rule set drives
// both: what AWS enforces in front of a VM and what the test host enforces in front of its stand-in VM.
// Semantics kept: a security group is stateful (replies to what the VM opened pass), allows only what a
// rule names (everything else is dropped silently: blocked traffic times out) and all egress.

/** The parts of EC2's IpPermission a rule set uses (structurally @aws-sdk/client-ec2's type). */
export interface IpPermissionLike {
  IpProtocol?: string;
  FromPort?: number;
  ToPort?: number;
  IpRanges?: { CidrIp?: string; Description?: string }[];
  Ipv6Ranges?: { CidrIpv6?: string; Description?: string }[];
}

export interface SecurityGroupNftOptions {
  /** the nftables table (inet family) to create; replaced when it exists */
  table: string;
  /** the interface traffic to the VM leaves by (the host side of the veth) */
  iface: string;
  /** the VM's address: the rules apply to traffic to it */
  vmAddress: string;
  /** the ingress rules (IpPermission[]) */
  ingress: IpPermissionLike[];
}

const NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const IFACE = /^[A-Za-z0-9_.-]{1,15}$/;
const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const CIDR4 = /^(\d{1,3}\.){3}\d{1,3}\/(\d|[12]\d|3[0-2])$/;
const CIDR6 = /^[0-9a-fA-F:]+\/(\d{1,3})$/;

function port(n: number | undefined, what: string): number {
  if (n === undefined || !Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${what} is not a port: ${n}`);
  return n;
}

/** One permission as nftables rule lines (empty when it names no source). */
export function permissionRules(p: IpPermissionLike): string[] {
  const proto = (p.IpProtocol ?? "").toLowerCase();
  const v4 = (p.IpRanges ?? []).map((r) => r.CidrIp ?? "");
  const v6 = (p.Ipv6Ranges ?? []).map((r) => r.CidrIpv6 ?? "");
  for (const c of v4) if (!CIDR4.test(c)) throw new Error(`IpRanges has an invalid CIDR: ${JSON.stringify(c)}`);
  for (const c of v6) if (!CIDR6.test(c)) throw new Error(`Ipv6Ranges has an invalid CIDR: ${JSON.stringify(c)}`);
  let match: string;
  if (proto === "-1" || proto === "all") match = "";
  else if (proto === "tcp" || proto === "udp" || proto === "6" || proto === "17") {
    const l4 = proto === "6" ? "tcp" : proto === "17" ? "udp" : proto;
    const from = port(p.FromPort, "FromPort");
    const to = port(p.ToPort ?? p.FromPort, "ToPort");
    if (to < from) throw new Error(`ToPort ${to} is below FromPort ${from}`);
    match = ` ${l4} dport ${from === to ? from : `${from}-${to}`}`;
  } else if (proto === "icmp" || proto === "1") match = " meta l4proto icmp";
  else throw new Error(`IpProtocol ${JSON.stringify(p.IpProtocol)} is not supported by the stand-in`);
  const set = (xs: string[]) => (xs.length === 1 ? xs[0] : `{ ${xs.join(", ")} }`);
  const out: string[] = [];
  if (v4.length) out.push(`ip saddr ${set(v4)}${match} accept`);
  if (v6.length) out.push(`ip6 saddr ${set(v6)}${match} accept`);
  return out;
}

/** The nft script (for `nft -f -`) that enforces `ingress` on traffic to the VM leaving by `iface`. */
export function renderSecurityGroupNft(o: SecurityGroupNftOptions): string {
  if (!NAME.test(o.table)) throw new Error(`table is not an nftables name: ${o.table}`);
  if (!IFACE.test(o.iface)) throw new Error(`iface is not an interface name: ${o.iface}`);
  const m = V4.exec(o.vmAddress);
  if (!m || m.slice(1).some((x) => Number(x) > 255)) throw new Error(`vmAddress is not an IPv4 address: ${o.vmAddress}`);
  const rules = o.ingress.flatMap(permissionRules);
  const hook = `oifname "${o.iface}" ip daddr ${o.vmAddress}`;
  return [
    `table inet ${o.table}`,
    `delete table inet ${o.table}`,
    `table inet ${o.table} {`,
    "  chain to_vm {",
    "    ct state established,related accept",
    ...rules.map((r) => `    ${r}`),
    "    drop",
    "  }",
    "  chain output {",
    // (traffic from this machine to the VM; the priority runs it before the test host's own table)
    "    type filter hook output priority -20; policy accept;",
    `    ${hook} jump to_vm`,
    "  }",
    "  chain forward {",
    "    type filter hook forward priority -20; policy accept;",
    `    ${hook} jump to_vm`,
    "  }",
    "}",
    "",
  ].join("\n");
}
