// The seed's scripts (quick-audit.sh, emergency-response.sh) at the seed's path,
// $OPENCLAW_STATE_DIR/skills/secureclaw/scripts/, for a person who SSHes into the host: installed by the
// worker when it starts and again at the provision audit, idempotently (a file is rewritten only when
// its text differs). Their default TROPIC_HARDENING_CLI is this host's agent bundle (`<node> <bundle>
// --hardening-cli`). The directories are 2750 and the files 0750, the agent user's: the gateway's
// group may run them but not change them; a symlink anywhere on the way is refused, never followed.
import { chmodSync, closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SEED_SCRIPTS } from "@tropic/hardening/scripts.ts";

export const SCRIPTS_DIR = join("skills", "secureclaw", "scripts");
const DIR_MODE = 0o2750;
const FILE_MODE = 0o750;
const DEFAULT_LINE = "TROPIC_HARDENING_CLI=${TROPIC_HARDENING_CLI:-}";

/** The script's text with `cli` as its default command (none when a word could not be written safely). */
export function scriptText(text: string, cli: string[] | null): string {
  if (!cli?.length || !cli.every((w) => /^[A-Za-z0-9_./+@:=-]+$/.test(w))) return text;
  return text.replace(DEFAULT_LINE, `TROPIC_HARDENING_CLI=\${TROPIC_HARDENING_CLI:-"${cli.join(" ")}"}`);
}

/** The hardening CLI of the running agent bundle (the worker's own node and bundle), or null outside a bundle. */
export function bundleCli(): string[] | null {
  const bundle = process.argv[1] ?? "";
  return /\/(agent|host-agent)[^/]*\.(mjs|cjs)$/.test(bundle) ? [process.execPath, bundle, "--hardening-cli"] : null;
}

function realDir(path: string) {
  let st: import("node:fs").Stats | undefined;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  if (!st) {
    mkdirSync(path, { mode: DIR_MODE });
    st = lstatSync(path);
  }
  if (!st.isDirectory()) throw new Error(`refusing ${path}: not a directory (a symlink?)`);
  // the state directory and skills/ are the gateway's group's too: only our own directory is used
  if (process.getuid && st.uid !== process.getuid()) throw new Error(`refusing ${path}: another user's directory`);
  if ((st.mode & 0o7777) !== DIR_MODE) chmodSync(path, DIR_MODE);
}

function readSmall(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > 1 << 20) return null;
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < st.size) {
      const n = readSync(fd, buf, got, st.size - got, got);
      if (n <= 0) break;
      got += n;
    }
    return buf.subarray(0, got).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** Installs the scripts; returns the files written (relative to the state directory), empty when all were in place. */
export function installSeedScripts(stateDir: string, cli: string[] | null): string[] {
  const skills = join(stateDir, "skills");
  if (lstatSync(skills, { throwIfNoEntry: false })?.isSymbolicLink()) throw new Error(`refusing the symlink ${skills}`);
  mkdirSync(skills, { recursive: true, mode: 0o2770 });
  realDir(join(skills, "secureclaw"));
  const dir = join(stateDir, SCRIPTS_DIR);
  realDir(dir);
  const written: string[] = [];
  for (const [name, text] of Object.entries(SEED_SCRIPTS)) {
    const path = join(dir, name);
    const want = scriptText(text, cli);
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (st?.isFile() && (st.mode & 0o7777) === FILE_MODE && readSmall(path) === want) continue;
    const tmp = `${path}.tropic-${process.pid}.tmp`;
    rmSync(tmp, { force: true });
    writeFileSync(tmp, want, { mode: FILE_MODE, flag: "wx" });
    chmodSync(tmp, FILE_MODE);
    renameSync(tmp, path);
    written.push(join(SCRIPTS_DIR, name));
  }
  return written;
}
