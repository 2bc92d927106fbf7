// Where a call runs (home, workspace, cwd) and the path / host helpers every analyser shares.

import { posix } from "node:path";

export interface CallEnv {
  home: string;
  workspace: string;
  cwd: string;
  agent: string;
  tool: string;
  sandbox: boolean;
}

/** `~` expanded, relative paths resolved against cwd, `.`/`..` removed. Always absolute. */
export function resolvePath(p: string, env: CallEnv): string {
  let s = p;
  if (s === "~" || s.startsWith("~/")) s = env.home + s.slice(1);
  else if (s.startsWith("$HOME/")) s = env.home + s.slice(5);
  if (!s.startsWith("/")) s = posix.join(env.cwd, s);
  const n = posix.normalize(s);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

/** `resolvePath` for a file-name pattern in the parser's `pat` form (quoted characters escaped with `\`):
 * `~` expanded, relative patterns joined to cwd (escaped), `.`/`..` removed. */
export function resolvePattern(pat: string, env: CallEnv): string {
  const esc = (s: string) => s.replace(/[*?[\]\\]/g, "\\$&");
  let s = pat;
  if (s === "~" || s.startsWith("~/")) s = esc(env.home) + s.slice(1);
  else if (s.startsWith("$HOME/")) s = esc(env.home) + s.slice(5);
  if (!s.startsWith("/")) s = `${esc(env.cwd)}/${s}`;
  const n = posix.normalize(s);
  return n.length > 1 && n.endsWith("/") && !n.endsWith("\\/") ? n.slice(0, -1) : n;
}

/** Strictly inside the workspace (the workspace root itself is not "inside": deleting it is not routine). */
export const inWorkspace = (abs: string, env: CallEnv) => abs.startsWith(`${env.workspace}/`);

export function isPrivateHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  if (!h) return true;
  if (
    h === "localhost" ||
    h.endsWith(".localhost") ||
    h.endsWith(".local") ||
    h.endsWith(".internal") ||
    h.endsWith(".lan") ||
    h.endsWith(".home.arpa")
  )
    return true;
  if (!h.includes(".") && !h.includes(":")) return true;
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(h);
  if (m) {
    const [a, b] = [Number(m[1]), Number(m[2])];
    return (
      a === 10 ||
      a === 127 ||
      a === 0 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  if (h.includes(":"))
    return h === "::1" || h === "::" || h.startsWith("fc") || h.startsWith("fd") || h.startsWith("fe80") || h.startsWith("::ffff:127.");
  return false;
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
/** A URL (or bare host[:port][/path], assumed `defScheme`) → scheme, host, port. */
export function parseTarget(raw: string, defScheme = "https"): NetTarget | null {
  let s = raw.trim();
  if (!s || s.startsWith("-") || s.startsWith("@")) return null;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
    if (!/^[\w.-]+(?::\d+)?(?:[/?#].*)?$/.test(s) || (!/[a-z]/i.test(s.split(/[/:?#]/)[0]) && !/^\d+\.\d+\.\d+\.\d+/.test(s))) return null;
    if (!s.split(/[/:?#]/)[0].includes(".") && s.split(/[/:?#]/)[0] !== "localhost") return null;
    s = `${defScheme}://${s}`;
  }
  try {
    const u = new URL(s);
    const scheme = u.protocol.replace(/:$/, "").toLowerCase();
    const port = u.port ? Number(u.port) : (DEFAULT_PORTS[scheme] ?? -1);
    return { url: s, scheme, host: u.hostname.toLowerCase().replace(/^\[|\]$/g, ""), port };
  } catch {
    return null;
  }
}
