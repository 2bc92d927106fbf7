// One network path in and out of a local instance: its own network namespace, with outbound-only
// internet through a user-mode network helper (slirp4netns). Inside the namespace, nftables (owned by
// root in the host's user namespace: the sandbox, with no capabilities, cannot change it) rejects
// every private, loopback-of-the-host, link-local (cloud metadata) and multicast address and this
// machine's own addresses; only slirp's DNS forwarder at 10.0.2.3 is allowed among them. The gateway
// binds 127.0.0.1 inside the namespace, which nothing outside can reach: the control plane reaches it
// through the instance agent's tunnel (the agent's worker lives in the namespace and dials it).
//
// slirp4netns runs with --disable-host-loopback (10.0.2.2 does not lead to the host's 127.0.0.1) and
// its own sandbox and seccomp filter, in a private mount namespace: its sandbox unmounts what it does
// not need, which would otherwise propagate to the host's shared /run/netns and drop the namespace.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** The address slirp4netns gives the namespace's DNS forwarder (it relays to this machine's resolvers). */
export const SLIRP_DNS = "10.0.2.3";

/** Where `ip netns` keeps a named namespace (root's; the sandbox never sees /run). */
export const netnsPath = (name: string) => `/run/netns/${name}`;

/** Addresses no sandbox may reach, whatever the machine: RFC 1918, CGNAT, loopback, link-local (metadata), multicast, reserved. */
export const BLOCKED_V4 = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.168.0.0/16",
  "224.0.0.0/4",
  "240.0.0.0/4",
];

/**
 * The nftables ruleset of an instance's namespace. Traffic to its own loopback (the gateway) and to
 * slirp's DNS forwarder passes; the blocked ranges and this machine's own addresses are rejected
 * (at once, not a timeout); IPv6 leaves only over loopback (slirp gives the namespace no IPv6 route,
 * this makes sure of it).
 */
export function netnsRules(hostAddresses: string[]): string {
  const own = [...new Set(hostAddresses.filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a)))];
  const set = [...BLOCKED_V4, ...own].join(", ");
  return [
    "table inet tropic_sandbox",
    "delete table inet tropic_sandbox",
    "table inet tropic_sandbox {",
    "  chain output {",
    "    type filter hook output priority 0; policy accept;",
    '    oifname "lo" accept',
    `    ip daddr ${SLIRP_DNS} udp dport 53 accept`,
    `    ip daddr ${SLIRP_DNS} tcp dport 53 accept`,
    `    ip daddr { ${set} } meta l4proto tcp reject with tcp reset`,
    `    ip daddr { ${set} } reject with icmp type admin-prohibited`,
    "    meta nfproto ipv6 reject with icmpv6 type admin-prohibited",
    "  }",
    "}",
    "",
  ].join("\n");
}

/** This machine's IPv4 addresses (every interface), which a sandbox must not reach through slirp. */
export function hostAddresses(): string[] {
  const r = spawnSync("ip", ["-j", "-4", "addr", "show"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip addr failed: ${r.stderr.trim()}`);
  const out: string[] = [];
  for (const link of JSON.parse(r.stdout) as { addr_info?: { local?: string }[] }[])
    for (const a of link.addr_info ?? []) if (a.local) out.push(a.local);
  return out;
}

/** What the namespace needs from this machine, or why it cannot be made (missing programs). */
export function networkHelpers(): { ok: true } | { ok: false; missing: string[] } {
  const missing: string[] = [];
  const has = (cmd: string, arg = "--version") => spawnSync(cmd, [arg], { stdio: "ignore" }).error === undefined;
  if (!has("slirp4netns")) missing.push("slirp4netns");
  if (!has("nft")) missing.push("nftables (nft)");
  if (!has("ip", "-V")) missing.push("iproute2 (ip)");
  if (!has("nsenter")) missing.push("util-linux (nsenter)");
  return missing.length ? { ok: false, missing } : { ok: true };
}

/**
 * The instance's namespace, made (or checked) as root: loopback up, the ruleset loaded (again: it is
 * replaced whole, so a second call is harmless and picks up new host addresses). Throws with the
 * failing command's words.
 */
export function ensureNetns(name: string, hosts = hostAddresses()): void {
  if (!/^tropic-[0-9a-z-]{1,40}$/.test(name)) throw new Error(`bad namespace name ${name}`);
  const run = (argv: string[], input?: string) => {
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", input });
    if (r.status !== 0) throw new Error(`${argv.join(" ")}: ${(r.stderr || r.stdout || String(r.error)).trim()}`);
  };
  if (!existsSync(netnsPath(name)) || spawnSync("ip", ["-n", name, "link", "show", "lo"], { stdio: "ignore" }).status !== 0) {
    spawnSync("ip", ["netns", "delete", name], { stdio: "ignore" });
    run(["ip", "netns", "add", name]);
  }
  run(["ip", "-n", name, "link", "set", "lo", "up"]);
  run(["nsenter", `--net=${netnsPath(name)}`, "nft", "-f", "-"], netnsRules(hosts));
}

/** Removes the namespace (a destroyed instance); nothing if it is gone. */
export function removeNetns(name: string): void {
  if (existsSync(netnsPath(name))) spawnSync("ip", ["netns", "delete", name], { stdio: "ignore" });
}

/**
 * The network helper's command line: slirp4netns attached to the namespace, configured (10.0.2.100/24,
 * default route, DNS 10.0.2.3), ending when fd 3 (a pipe from the agent) closes, so it never outlives
 * the agent that supervises it.
 */
export function networkHelperArgv(name: string): string[] {
  return [
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "slirp4netns",
    "--configure",
    "--mtu=65520",
    "--disable-host-loopback",
    "--enable-sandbox",
    "--enable-seccomp",
    "--exit-fd=3",
    "--netns-type=path",
    netnsPath(name),
    "tap0",
  ];
}
