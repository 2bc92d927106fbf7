// Host addresses in every spelling: a host as a client would reach it, classified as cloud metadata,
// loopback, private (link-local, RFC 1918, CGNAT, ULA…) or public, with one canonical spelling so a rule
// naming `169.254.169.254` also matches `0xa9fea9fe`, `2852039166`, `0251.0376.0251.0376`,
// `169.254.43518`, `[::ffff:a9fe:a9fe]`, `64:ff9b::a9fe:a9fe` and `metadata.google.internal.`.
//
// IPv4 is read the way the URL standard's IPv4 parser and inet_aton read it (1 to 4 parts, each decimal,
// octal with a leading 0 or hex with 0x; the last part fills the remaining bytes). IPv6 is read by the
// URL standard's parser (node's URL), and an IPv4 address carried in it (mapped, compatible, NAT64) is
// that IPv4 address.

import { domainToASCII } from "node:url";

export type HostKind = "metadata" | "loopback" | "private" | "public" | "unknown";
export interface HostClass {
  kind: HostKind;
  /** lower case, no brackets, no trailing dot; an IP in its standard form (IPv4 dotted, IPv6 compressed;
   * an IPv4 address carried in IPv6 as dotted IPv4) */
  canonical: string;
  /** 4 or 6 when the host is an IP address */
  ip?: 4 | 6;
}

/** Instance metadata services (instance credentials, user data), by canonical address or name. */
export const METADATA_HOSTS: ReadonlySet<string> = new Set([
  // AWS, GCP, Azure, Oracle, DigitalOcean, Hetzner, OpenStack, Linode, Vultr, IBM, Huawei…
  "169.254.169.254",
  "169.254.170.2", // AWS ECS task credentials
  "169.254.170.23", // AWS EKS Pod Identity
  "100.100.100.200", // Alibaba Cloud
  "192.0.0.192", // Oracle Cloud (legacy)
  "169.254.42.42", // Scaleway
  "169.254.0.23", // Tencent Cloud
  "168.63.129.16", // Azure WireServer (extensions, goal state, certificates)
  "fd00:ec2::254", // AWS IMDS over IPv6
  "fd00:ec2::23", // AWS EKS Pod Identity over IPv6
  "fd20:ce::254", // GCP metadata server over IPv6
  "fd00:42::42", // Scaleway over IPv6
  "metadata.google.internal",
  "metadata.goog",
  "metadata",
  "instance-data",
  "instance-data.ec2.internal",
  "metadata.tencentyun.com",
  "metadata.platformequinix.com",
  "metadata.packet.net",
]);

const LOOPBACK_NAMES = new Set(["localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "localhost6", "localhost6.localdomain6"]);
const PRIVATE_SUFFIXES = [".local", ".internal", ".lan", ".home.arpa", ".localdomain", ".intranet"];
/** Public DNS names that resolve to the address spelled in them (`169.254.169.254.nip.io`, `a9fea9fe.nip.io`,
 * `169-254-169-254.sslip.io`) or always to loopback. */
const WILDCARD_DNS = ["nip.io", "sslip.io", "xip.io", "traefik.me", "nip.lol"];
const LOOPBACK_DNS = ["localtest.me", "lvh.me", "vcap.me"];

/** An IPv4 address as the URL standard / inet_aton read it: a 32-bit number, `null` when the host is a
 * name (its last label is not a number), `NaN` when it looks numeric but is not a valid address. */
export function parseIPv4(host: string): number | null {
  const parts = host.split(".");
  if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop();
  const last = parts[parts.length - 1];
  if (!/^(?:\d+|0x[0-9a-f]*)$/i.test(last)) return null;
  if (parts.length > 4) return Number.NaN;
  const nums: number[] = [];
  for (const p of parts) {
    let n: number;
    if (/^0x[0-9a-f]*$/i.test(p)) n = p.length === 2 ? 0 : Number.parseInt(p.slice(2), 16);
    else if (/^0[0-7]+$/.test(p)) n = Number.parseInt(p.slice(1), 8);
    else if (/^(?:0|[1-9]\d*)$/.test(p)) n = Number(p);
    else return Number.NaN;
    nums.push(n);
  }
  const tail = nums.pop() as number;
  if (nums.some((n) => n > 255) || tail >= 256 ** (4 - nums.length)) return Number.NaN;
  let v = tail;
  nums.forEach((n, i) => {
    v += n * 256 ** (3 - i);
  });
  return v;
}

const dotted = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");

function kindOfIPv4(n: number, canonical: string): HostKind {
  if (METADATA_HOSTS.has(canonical)) return "metadata";
  const a = n >>> 24;
  const b = (n >>> 16) & 255;
  if (a === 127 || a === 0) return "loopback"; // 0.0.0.0 reaches this host's listeners
  if (
    a === 10 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 169 && b === 254) ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 192 && b === 0 && ((n >>> 8) & 255) === 0) ||
    (a === 198 && (b === 18 || b === 19)) ||
    a >= 224
  )
    return "private";
  return "public";
}

/** The eight 16-bit groups of an IPv6 address, or null. */
function parseIPv6(h: string): number[] | null {
  let s: string;
  try {
    s = new URL(`http://[${h}]/`).hostname.slice(1, -1);
  } catch {
    return null;
  }
  const [head, tail] = s.includes("::") ? s.split("::") : [s, null];
  const hs = head ? head.split(":") : [];
  const ts = tail ? tail.split(":") : [];
  const groups = [...hs, ...Array(8 - hs.length - ts.length).fill("0"), ...ts].map((g) => Number.parseInt(g, 16));
  return groups.length === 8 ? groups : null;
}

function ipv6String(g: number[]): string {
  return new URL(`http://[${g.map((x) => x.toString(16)).join(":")}]/`).hostname.slice(1, -1);
}

function classifyIPv6(g: number[]): HostClass {
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  const v4 = g[6] * 65536 + g[7];
  // IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::a.b.c.d and 64:ff9b:1::a.b.c.d:
  // the connection goes to the IPv4 address.
  const carried =
    (zero(0, 5) && g[5] === 0xffff) ||
    (zero(0, 6) && v4 > 1) ||
    (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) ||
    (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1 && zero(3, 6));
  if (carried) {
    const c = dotted(v4);
    return { kind: kindOfIPv4(v4, c), canonical: c, ip: 4 };
  }
  const canonical = ipv6String(g);
  if (METADATA_HOSTS.has(canonical)) return { kind: "metadata", canonical, ip: 6 };
  if (zero(0, 7) && g[7] <= 1) return { kind: "loopback", canonical, ip: 6 }; // ::1 and ::
  const top = g[0];
  if ((top & 0xfe00) === 0xfc00 || (top & 0xffc0) === 0xfe80 || (top & 0xffc0) === 0xfec0 || (top & 0xff00) === 0xff00)
    return { kind: "private", canonical, ip: 6 };
  if (top === 0x2002) {
    // 6to4 carries an IPv4 address in its second and third groups.
    const e = g[1] * 65536 + g[2];
    const k = kindOfIPv4(e, dotted(e));
    if (k !== "public") return { kind: k === "loopback" ? "private" : k, canonical, ip: 6 };
  }
  return { kind: "public", canonical, ip: 6 };
}

function decode(h: string): string {
  if (!h.includes("%")) return h;
  try {
    return decodeURIComponent(h);
  } catch {
    return h;
  }
}

/** A host (from a URL, a `host:port` argument or a command line) → its kind and canonical spelling. */
export function classifyHost(host: string): HostClass {
  let h = decode(String(host ?? "").trim())
    .toLowerCase()
    .replace(/[\t\n\r]/g, "");
  if (h.startsWith("[")) h = h.slice(1, h.indexOf("]") > 0 ? h.indexOf("]") : undefined);
  else if (/^[^:]*:\d*$/.test(h)) h = h.replace(/:\d*$/, ""); // host:port (one colon: not IPv6)
  h = h.replace(/%.*$/, ""); // an IPv6 zone (fe80::1%eth0)
  if (/[^\x21-\x7e]/.test(h)) h = domainToASCII(h) || h; // full-width digits, ideographic full stops, ⓜ…
  h = h.replace(/\.+$/, "");
  if (!h) return { kind: "unknown", canonical: "" };
  if (h.includes(":")) {
    const g = parseIPv6(h);
    return g ? classifyIPv6(g) : { kind: "unknown", canonical: h };
  }
  const n = parseIPv4(h);
  if (n !== null) {
    if (Number.isNaN(n)) return { kind: "unknown", canonical: h };
    const c = dotted(n);
    return { kind: kindOfIPv4(n, c), canonical: c, ip: 4 };
  }
  if (METADATA_HOSTS.has(h)) return { kind: "metadata", canonical: h };
  if (LOOPBACK_NAMES.has(h) || h.endsWith(".localhost")) return { kind: "loopback", canonical: h };
  const wild = WILDCARD_DNS.find((d) => h.endsWith(`.${d}`));
  if (wild) {
    // 169.254.169.254.nip.io, app.169-254-169-254.nip.io, a9fea9fe.nip.io: the address in the name.
    const labels = h.slice(0, -wild.length - 1);
    const m = /(?:^|[.-])((?:\d{1,3}[.-]){3}\d{1,3})$/.exec(labels) ?? /(?:^|[.-])([0-9a-f]{8})$/.exec(labels);
    if (m) {
      const inner = classifyHost(/^[0-9a-f]{8}$/.test(m[1]) ? `0x${m[1]}` : m[1].replace(/-/g, "."));
      if (inner.kind !== "public" && inner.kind !== "unknown") return inner;
    }
  }
  if (LOOPBACK_DNS.some((d) => h === d || h.endsWith(`.${d}`))) return { kind: "loopback", canonical: h };
  if (!h.includes(".") || PRIVATE_SUFFIXES.some((s) => h.endsWith(s))) return { kind: "private", canonical: h };
  if (!/^[a-z0-9_.-]+$/.test(h)) return { kind: "unknown", canonical: h };
  return { kind: "public", canonical: h };
}

/** The canonical spelling of a host (see `classifyHost`). */
export const canonicalHost = (host: string): string => classifyHost(host).canonical;
