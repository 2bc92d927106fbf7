// Where a call runs (home, workspace, cwd) and the path / host helpers every analyser shares.
// Hosts are read in every spelling by address.ts (classifyHost, canonicalHost).

import { posix } from "node:path";
import { classifyHost, parseIPv4 } from "./address.ts";

export interface CallEnv {
  home: string;
  workspace: string;
  cwd: string;
  agent: string;
  tool: string;
  sandbox: boolean;
}

/** `~` expanded, relative paths resolved against cwd, `.`/`..` removed. Always absolute. */
/** `~NAME` as the shell expands it: the agent's own name is its home, `root` is /root, another user's home is
 * beside the agent's (`/home/NAME`). */
function userHome(s: string, env: CallEnv): string | undefined {
  const m = /^~([a-z_][a-z0-9_.-]*)(?=\/|$)/i.exec(s);
  if (!m) return undefined;
  const home = m[1] === posix.basename(env.home) ? env.home : m[1] === "root" ? "/root" : posix.join(posix.dirname(env.home), m[1]);
  return home + s.slice(m[0].length);
}

export function resolvePath(p: string, env: CallEnv): string {
  let s = userHome(p, env) ?? p;
  if (s === "~" || s.startsWith("~/")) s = env.home + s.slice(1);
  else if (s === "~+" || s.startsWith("~+/")) s = env.cwd + s.slice(2);
  else if (s.startsWith("$HOME/")) s = env.home + s.slice(5);
  if (!s.startsWith("/")) s = posix.join(env.cwd, s);
  const n = posix.normalize(procAlias(s, env));
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

/** The kernel's aliases of the file system under /proc: `/proc/self/root/X` (any process's root, `self`,
 * `thread-self` or a pid) is `/X`, and `/proc/self/cwd/X` is X under the working directory. */
function procAlias(path: string, env: CallEnv): string {
  let n = path.replace(/\/{2,}/g, "/");
  for (let i = 0; i < 8; i++) {
    const m = /^\/proc\/(?:self|thread-self|\d+)(?:\/task\/\d+)?\/(root|cwd)(?=\/|$)/.exec(n);
    if (!m) break;
    n = (m[1] === "root" ? "/" : `${env.cwd}/`) + n.slice(m[0].length);
  }
  return n;
}

/** `resolvePath` for a file-name pattern in the parser's `pat` form (quoted characters escaped with `\`):
 * `~` expanded, relative patterns joined to cwd (escaped), `.`/`..` removed. */
export function resolvePattern(pat: string, env: CallEnv): string {
  const esc = (s: string) => s.replace(/[*?[\]\\]/g, "\\$&");
  const uh = userHome(pat, env);
  let s = uh === undefined ? pat : esc(uh.slice(0, uh.length - (pat.length - pat.search(/\/|$/)))) + pat.slice(pat.search(/\/|$/));
  if (s === "~" || s.startsWith("~/")) s = esc(env.home) + s.slice(1);
  else if (s === "~+" || s.startsWith("~+/")) s = esc(env.cwd) + s.slice(2);
  else if (s.startsWith("$HOME/")) s = esc(env.home) + s.slice(5);
  if (!s.startsWith("/")) s = `${esc(env.cwd)}/${s}`;
  const n = posix.normalize(procAlias(s, { ...env, cwd: esc(env.cwd) }));
  return n.length > 1 && n.endsWith("/") && !n.endsWith("\\/") ? n.slice(0, -1) : n;
}

/** Strictly inside the workspace (the workspace root itself is not "inside": deleting it is not routine). */
export const inWorkspace = (abs: string, env: CallEnv) => abs.startsWith(`${env.workspace}/`);

/** Not a public internet host: cloud metadata, loopback, private, link-local, CGNAT, ULA, local names, and
 * anything that is not a valid host (`classifyHost`), in every spelling (`0xa9fea9fe`, `127.1`, `[::ffff:7f00:1]`). */
export function isPrivateHost(host: string): boolean {
  return classifyHost(host).kind !== "public";
}

const DEFAULT_PORTS: Record<string, number> = {
  http: 80,
  https: 443,
  ws: 80,
  wss: 443,
  ftp: 21,
  ssh: 22,
  sftp: 22,
  git: 9418,
  smtp: 25,
  telnet: 23,
  rsync: 873,
};

export interface NetTarget {
  url: string;
  scheme: string;
  host: string;
  port: number;
}
/** A URL (or bare host[:port][/path], assumed `defScheme`) → scheme, host, port. The host is canonical
 * (`classifyHost`: `http://0xa9fea9fe/` is 169.254.169.254, `[::ffff:a9fe:a9fe]` too, a trailing dot is
 * dropped). Where clients read a URL differently (`http://a\\@169.254.169.254/`: the URL standard stops the
 * host at the backslash, curl at the `@`; several `@`), the reading reaching a metadata, loopback or
 * private host is the one kept. */
export function parseTarget(raw: string, defScheme = "https"): NetTarget | null {
  let s = raw.trim();
  if (!s || s.startsWith("-") || s.startsWith("@")) return null;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
    const m = /^(?:[^@\s/?#]*@)?(\[[0-9a-z:.%]+\]|[\w.%-]+)(:\d*)?([/?#].*)?$/i.exec(s);
    if (!m || !bareHost(m[1], Boolean(m[2] || m[3]))) return null;
    s = `${defScheme}://${s}`;
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(s)?.[1].toLowerCase() ?? "";
  const def = DEFAULT_PORTS[scheme] ?? -1;
  const readings: { host: string; port: number }[] = [];
  try {
    const u = new URL(s);
    readings.push({ host: u.hostname, port: u.port ? Number(u.port) : def });
  } catch {}
  // RFC 3986 as curl and most non-browser clients read it: the authority ends at / ? #, the user part at an @.
  const auth = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(s.replace(/[\t\n\r]/g, ""))?.[1] ?? "";
  for (const at of [auth.lastIndexOf("@"), auth.indexOf("@")]) {
    const hp = auth.slice(at + 1);
    const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(hp);
    if (m?.[1]) readings.push({ host: m[1], port: m[2] ? Number(m[2]) : def });
  }
  if (!readings.length) return null;
  const cls = readings.map((r) => ({ ...r, c: classifyHost(r.host) }));
  const pick = (["metadata", "loopback", "private"] as const).map((k) => cls.find((r) => r.c.kind === k)).find(Boolean) ?? cls[0];
  if (!pick.c.canonical) return null;
  return { url: s, scheme, host: pick.c.canonical, port: pick.port };
}

/** A bare argument's host is a target when it is a name with a dot, a local or metadata name, an IPv6
 * literal, or an IPv4 address in a spelling that is not a version number or a count (`1.2.3`, `5`). */
function bareHost(h: string, more: boolean): boolean {
  const c = classifyHost(h);
  if (h.startsWith("[")) return c.ip === 6;
  if (c.ip === 4) {
    // a plain number is a target from 2^24 up (`2852039166`), or with a port or path (`0:8080`)
    if (/^\d+$/.test(h)) return more || (parseIPv4(h) ?? 0) >= 2 ** 24;
    return more || c.kind !== "public" || h.split(".").length === 4 || /(?:^|\.)0x/i.test(h);
  }
  if (c.kind === "metadata" || c.kind === "loopback") return true;
  return c.kind !== "unknown" && /[a-z]/i.test(h) && h.includes(".") && !/^\d[\d.]*$/.test(h);
}
