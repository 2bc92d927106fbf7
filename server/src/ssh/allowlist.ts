// The SSH allowlist (Settings → sshAllowlist): IPv4/IPv6 addresses and CIDR blocks, normalised to
// one canonical CIDR each (a single address becomes /32 or /128, host bits are cleared, IPv6 is
// written in its compressed lower-case form, an IPv4-mapped IPv6 address becomes IPv4), which is
// what providers turn into firewall rules (security-group ingress on port 22 on EC2).
import { isIP } from "node:net";

/** `entry` as a canonical CIDR, or null when it is not an IP address or CIDR block. */
export function normaliseCidr(entry: string): string | null {
  const parts = entry.trim().split("/");
  if (parts.length > 2 || !parts[0]) return null;
  const [addr, bitsText] = parts as [string, string | undefined];
  const family = isIP(addr);
  if (!family) return null;
  if (bitsText !== undefined && !/^\d{1,3}$/.test(bitsText)) return null;
  let bytes = family === 4 ? ipv4Bytes(addr) : ipv6Bytes(addr);
  if (!bytes) return null;
  let max = family === 4 ? 32 : 128;
  let bits = bitsText === undefined ? max : Number(bitsText);
  if (bits > max) return null;
  // ::ffff:a.b.c.d (what a dual-stack socket reports for an IPv4 peer) is the IPv4 address.
  if (family === 6 && bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff && bits >= 96) {
    bytes = bytes.subarray(12);
    bits -= 96;
    max = 32;
  }
  const masked = Buffer.from(bytes);
  for (let i = 0; i < masked.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    masked[i]! &= (0xff << (8 - keep)) & 0xff;
  }
  return `${max === 32 ? [...masked].join(".") : formatIpv6(masked)}/${bits}`;
}

/** The request's address as the allowlist's suggested entry (`{ip, cidr}`), or null for an unusable one. */
export function suggestionFor(ip: string): { ip: string; cidr: string } | null {
  const cidr = normaliseCidr(ip);
  if (!cidr) return null;
  return { ip: cidr.replace(/\/\d+$/, ""), cidr };
}

function ipv4Bytes(addr: string): Buffer | null {
  const p = addr.split(".").map(Number);
  return p.length === 4 && p.every((n) => Number.isInteger(n) && n >= 0 && n <= 255) ? Buffer.from(p) : null;
}

function ipv6Bytes(addr: string): Buffer | null {
  let a = addr.toLowerCase();
  if (a.includes("%")) return null; // a zone id is no firewall rule
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (v4) {
    const b = ipv4Bytes(v4[1]!);
    if (!b) return null;
    tail = [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!];
    a = a.slice(0, -v4[1]!.length); // "::ffff:" or "1:2:3:4:5:6:": the groups before the IPv4 tail
    if (a.endsWith(":") && !a.endsWith("::")) a = a.slice(0, -1);
  }
  const want = 8 - tail.length;
  const halves = a.split("::");
  if (halves.length > 2) return null;
  const group = (s: string) => (s ? s.split(":") : []);
  const head = group(halves[0]!);
  const rest = halves.length === 2 ? group(halves[1]!) : [];
  const zeros = halves.length === 2 ? want - head.length - rest.length : 0;
  if (zeros < 0 || (halves.length === 1 && head.length !== want)) return null;
  const groups = [...head, ...Array(zeros).fill("0"), ...rest];
  const out = Buffer.alloc(16);
  const nums = [...groups.map((g) => Number.parseInt(g, 16)), ...tail];
  if (nums.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
  for (const [i, n] of nums.entries()) out.writeUInt16BE(n, i * 2);
  return out;
}

/** RFC 5952: lower case, leading zeros dropped, the longest run (≥ 2) of zero groups as `::`. */
function formatIpv6(b: Buffer): string {
  const g = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2));
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((n) => n.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}
