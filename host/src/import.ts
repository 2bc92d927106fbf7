// The user's own OpenClaw, kept: before anything changes, the invoking user's ~/.openclaw is backed up
// (a tar.gz, 0600 root, in the instance's backups/), then copied into the instance's state directory,
// which from then on is the instance's. The original is never modified.
//
// What is merged: the whole tree (workspaces, sessions, agents, channel credentials such as WhatsApp's,
// skills, .env) is copied; in openclaw.json every path under the old state directory is rewritten to the
// new one, and the agent then overlays only what Tropic protects (gateway mode/bind/auth, the Control
// UI's base path, the gate plugin's entry and load path, agents.defaults.workspace: ensureBaseConfig in
// agent/src/commands.ts). A config that is not strict JSON (JSON5 with comments) is kept in the backup
// and in the copy as openclaw.json5.imported, and the instance starts from Tropic's base config.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ServiceUsers } from "./services.ts";

export function importOpenclaw(o: { from: string; stateDir: string; backupDir: string; users: ServiceUsers; now?: Date }): {
  from: string;
  backup: string;
  merged: string[];
} {
  mkdirSync(o.backupDir, { recursive: true, mode: 0o700 });
  const stamp = (o.now ?? new Date()).toISOString().replace(/[:.]/g, "-");
  const backup = join(o.backupDir, `openclaw-${stamp}.tar.gz`);
  const tar = spawnSync("tar", ["-czf", backup, "-C", o.from, "."], { encoding: "utf8" });
  if (tar.status !== 0) throw new Error(`could not back up ${o.from}: ${tar.stderr.trim()}`);
  chmodSync(backup, 0o600);
  // cp -R -P: links are copied as links (never followed), so nothing outside the tree comes along.
  mkdirSync(o.stateDir, { recursive: true });
  const cp = spawnSync("cp", ["-R", "-P", `${o.from}/.`, o.stateDir], { encoding: "utf8" });
  if (cp.status !== 0) throw new Error(`could not copy ${o.from}: ${cp.stderr.trim()}`);
  const merged = readdirSync(o.stateDir).sort();
  // Ownership as the local provider lays it out: the tree the gateway's (group-writable), the
  // protected files (openclaw.json, .env) the agent's, read-only to the gateway.
  const gw = o.users.gateway;
  const walk = (p: string) => {
    const st = lstatSync(p);
    lchownSync(p, gw.uid, gw.gid);
    if (st.isSymbolicLink()) return;
    if (st.isDirectory()) {
      chmodSync(p, 0o2770);
      for (const e of readdirSync(p)) walk(join(p, e));
    } else chmodSync(p, (st.mode & 0o700) | ((st.mode & 0o700) >> 3));
  };
  walk(o.stateDir);
  chmodSync(o.stateDir, 0o3770);
  lchownSync(o.stateDir, o.users.agent.uid, gw.gid);
  const config = join(o.stateDir, "openclaw.json");
  if (existsSync(config) && lstatSync(config).isFile()) {
    const text = readFileSync(config, "utf8");
    try {
      const rewritten = JSON.stringify(rewritePaths(JSON.parse(text), o.from, o.stateDir), null, 2);
      writeFileSync(config, `${rewritten}\n`);
    } catch {
      renameSync(config, join(o.stateDir, "openclaw.json5.imported"));
    }
  }
  for (const f of ["openclaw.json", ".env"]) {
    const p = join(o.stateDir, f);
    if (existsSync(p) && lstatSync(p).isFile()) {
      lchownSync(p, o.users.agent.uid, gw.gid);
      chmodSync(p, 0o640);
    }
  }
  return { from: o.from, backup, merged };
}

/** Every string that is the old state directory or below it now names the same place in the new one. */
export function rewritePaths(v: unknown, from: string, to: string): unknown {
  if (typeof v === "string") return v === from || v.startsWith(`${from}/`) ? to + v.slice(from.length) : v;
  if (Array.isArray(v)) return v.map((x) => rewritePaths(x, from, to));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rewritePaths(x, from, to)]));
  return v;
}
