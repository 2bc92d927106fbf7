// Parsed shell → ops. Every simple command (also inside substitutions, `bash -c`, `eval`, `sudo`,
// `xargs`, `find -exec`, `python -c "os.system(…)"`) becomes an `exec` op; the files it reads, writes
// or deletes become `read`/`write`/`delete` ops checked by the same rules as the read/write tools;
// URLs and hosts become `net`/`download` ops.

import { type OpContext, emptyContext, vocab } from "@tropic/policy";
import { type CallEnv, inWorkspace, isPrivateHost, parseTarget, resolvePath, resolvePattern } from "../env.ts";
import { type Script, type SimpleCmd, type Word, parseShell } from "./parse.ts";

const { SHELLS, ELEVATORS, INTERPRETERS, COMPILERS_DEVTOOLS, DOWNLOADERS } = vocab;

interface Inherit {
  sudo: boolean;
  feeds: Set<string>;
  depth: number;
  background: boolean;
  unknownArgs: boolean;
  vars: Map<string, string>;
}

const KEYWORDS_DROP = new Set(["if", "then", "else", "elif", "do", "while", "until", "!", "time", "{", "}", "fi", "done", "esac", "[[", "coproc"]);
const KEYWORDS_SKIP = new Set(["for", "case", "select", "function", "in", "]]"]);
/** Programs that run another command given as their remaining arguments, and the options of theirs that take a value. */
const WRAPPERS: Record<string, string[]> = {
  sudo: ["-u", "-g", "-C", "-p", "-h", "-r", "-t", "-U", "-D", "-R", "-T", "--user", "--group", "--prompt", "--chdir"],
  doas: ["-u", "-C"],
  pkexec: ["--user"],
  run0: ["--user", "-u"],
  runuser: ["-u", "-g", "-G", "--user", "--group"],
  env: ["-u", "--unset", "-C", "--chdir", "-S", "--split-string"],
  nice: ["-n", "--adjustment"],
  nohup: [],
  setsid: [],
  stdbuf: ["-i", "-o", "-e"],
  ionice: ["-c", "-n", "-p"],
  time: ["-f", "-o"],
  command: [],
  builtin: [],
  exec: ["-a"],
  timeout: ["-s", "-k", "--signal", "--kill-after"],
  strace: ["-e", "-o", "-p", "-s"],
  ltrace: ["-e", "-o"],
  unbuffer: [],
  caffeinate: [],
  chrt: [],
  taskset: [],
  torsocks: [],
  proxychains: ["-f"],
  proxychains4: ["-f"],
  chroot: [],
  flock: ["-w", "-E"],
  firejail: [],
  bwrap: [],
  catchsegv: [],
  xargs: ["-I", "-i", "-n", "-P", "-L", "-l", "-s", "-d", "-E", "-e", "-a", "--max-args", "--max-procs", "--delimiter", "--arg-file", "--replace"],
  daemonize: [],
  disown: [],
  nsenter: ["-t", "--target"],
  unshare: [],
  busybox: [],
};
const POSITIONAL_BEFORE_CMD: Record<string, number> = { timeout: 1, chroot: 1, flock: 1, taskset: 1, chrt: 1 };
/** Programs whose `-c STRING` is a shell command line. */
const COMMAND_OPTION: Record<string, string[]> = {
  su: ["-c", "--command"],
  runuser: ["-c", "--command"],
  script: ["-c", "--command"],
  flock: ["-c", "--command"],
};
/** Programs that join their arguments into one shell command line (`watch 'rm -rf ~'`). */
const JOINS_ARGS: Record<string, string[]> = { watch: ["-n", "-d", "--interval", "-q", "--equexit"] };
const ELEVATOR_SET = new Set(ELEVATORS);
const SHELL_SET = new Set(SHELLS.filter((s) => s !== "busybox"));

const READERS = new Set([
  "cat",
  "tac",
  "less",
  "more",
  "head",
  "tail",
  "nl",
  "base64",
  "base32",
  "basenc",
  "xxd",
  "od",
  "hexdump",
  "strings",
  "wc",
  "sort",
  "uniq",
  "cut",
  "diff",
  "cmp",
  "md5sum",
  "sha1sum",
  "sha256sum",
  "sha512sum",
  "file",
  "jq",
  "yq",
  "bat",
  "view",
  "zcat",
  "zless",
  "bzcat",
  "xzcat",
  "iconv",
  "fold",
  "column",
  "paste",
  "expand",
  "fmt",
  "pr",
  "source",
  ".",
  "look",
  "comm",
  "join",
  "split",
  "csplit",
  "sum",
  "cksum",
  "b2sum",
  "gpg",
  "openssl",
  "unzip",
  "7z",
  "zipinfo",
  "lsattr",
  "getfacl",
  "readlink",
  "realpath",
]);
const PATTERN_FIRST = new Set(["grep", "egrep", "fgrep", "rg", "ag", "ack", "zgrep", "awk", "gawk", "mawk", "nawk", "sed", "gsed", "perl"]);
const WRITERS = new Set([
  "tee",
  "touch",
  "mkdir",
  "truncate",
  "vi",
  "vim",
  "nvim",
  "nano",
  "emacs",
  "ed",
  "pico",
  "mcedit",
  "code",
  "chmod",
  "chown",
  "chgrp",
  "chattr",
  "setfacl",
  "mkfifo",
  "mknod",
  "sponge",
]);
const DELETERS = new Set(["rm", "unlink", "shred", "rmdir", "srm", "wipe"]);
const COPIERS = new Set(["cp", "install", "ln", "mv", "rsync", "scp"]);
const SKIP_FIRST_POSITIONAL = new Set(["chmod", "chown", "chgrp", "chattr", "setfacl"]);
/** Options whose next argument is a value, not a path (per program, for the programs we map). */
const VALUE_OPTS: Record<string, string[]> = {
  grep: ["-e", "-f", "-m", "-A", "-B", "-C", "--include", "--exclude", "--exclude-dir", "--color", "-d", "-D", "--regexp", "--file"],
  head: ["-n", "-c"],
  tail: ["-n", "-c"],
  cut: ["-d", "-f", "-c", "-b"],
  sort: ["-k", "-t", "-o", "-S", "-T"],
  sed: ["-e", "-f", "--expression", "--file", "-l"],
  awk: ["-f", "-v", "-F"],
  find: [],
  tar: ["-f", "-C", "--file", "--directory", "-T", "-X", "--exclude"],
  curl: [
    "-o",
    "--output",
    "-d",
    "--data",
    "--data-binary",
    "--data-raw",
    "--data-urlencode",
    "-F",
    "--form",
    "-H",
    "--header",
    "-u",
    "--user",
    "-X",
    "--request",
    "-A",
    "--user-agent",
    "-e",
    "--referer",
    "-T",
    "--upload-file",
    "-x",
    "--proxy",
    "-m",
    "--max-time",
    "--connect-timeout",
    "-w",
    "--write-out",
    "-b",
    "--cookie",
    "-c",
    "--cookie-jar",
    "-K",
    "--config",
    "--max-filesize",
    "-r",
    "--range",
    "--retry",
    "-E",
    "--cert",
    "--key",
    "--cacert",
    "--resolve",
    "-Y",
    "-y",
    "-z",
    "-C",
  ],
  wget: [
    "-O",
    "--output-document",
    "-o",
    "--output-file",
    "-P",
    "--directory-prefix",
    "-U",
    "--user-agent",
    "--header",
    "--post-data",
    "--post-file",
    "-i",
    "--input-file",
    "-t",
    "--tries",
    "-T",
    "--timeout",
    "-Q",
    "--quota",
    "-e",
    "--user",
    "--password",
  ],
  ssh: ["-p", "-i", "-l", "-o", "-F", "-J", "-L", "-R", "-D", "-b", "-c", "-E", "-e", "-m", "-O", "-Q", "-S", "-W", "-w", "-B", "-I"],
  scp: ["-P", "-i", "-o", "-F", "-J", "-l", "-S", "-c"],
  rsync: ["-e", "--rsh", "--exclude", "--include", "--filter", "-f", "--port"],
  nc: ["-p", "-s", "-w", "-i", "-x", "-X", "-e", "-c", "-q"],
  git: ["-C", "-c", "-m", "-b", "--branch", "--depth", "-o", "--origin"],
  dd: [],
  cp: ["-t", "--target-directory", "-S", "--suffix"],
  mv: ["-t", "--target-directory", "-S"],
  ln: ["-t", "-S"],
  install: ["-m", "-o", "-g", "-t"],
  chmod: ["--reference"],
  chown: ["--reference"],
  rm: [],
  tee: [],
  mkdir: ["-m"],
  touch: ["-d", "-t", "-r"],
  xxd: ["-l", "-s", "-c", "-g"],
  base64: ["-w"],
  openssl: ["-in", "-out", "-passin", "-passout", "-key", "-inkey", "-config", "-name", "-keyform", "-outform", "-inform"],
};

export function interpFamily(program: string): string {
  if (/^python[\d.]*$|^pypy\d*$|^ipython\d*$/.test(program)) return "python";
  if (["node", "nodejs", "deno", "bun", "tsx", "ts-node"].includes(program)) return "node";
  if (["ruby", "irb"].includes(program)) return "ruby";
  if (/^perl[\d.]*$/.test(program)) return "perl";
  if (/^php[\d.]*$/.test(program)) return "php";
  if (["lua", "luajit"].includes(program)) return "lua";
  if (["R", "Rscript"].includes(program)) return "r";
  if (INTERPRETERS.includes(program)) return "other";
  if (COMPILERS_DEVTOOLS.includes(program)) return "compiler";
  return "";
}

function parseSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?)([kmgt]?)/i.exec(v);
  if (!m) return -1;
  const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase()] ?? 1;
  return Math.round(Number(m[1]) * mult);
}

function flagsOf(args: string[]): string[] {
  const out = new Set<string>();
  for (const a of args) {
    if (a === "--") break;
    if (a.startsWith("--") && a.length > 2) out.add(a.slice(2).split("=")[0]);
    else if (a.startsWith("-") && a.length > 1 && !/^-\d+$/.test(a)) for (const ch of a.slice(1)) out.add(ch);
    else if (/^-\d+$/.test(a)) out.add(a.slice(1));
  }
  return [...out];
}

/** Positional (non-option) arguments, skipping the values of options that take one. */
function positionals(program: string, args: string[]): { value: string; idx: number }[] {
  const takes = new Set(VALUE_OPTS[program] ?? []);
  const out: { value: string; idx: number }[] = [];
  let opts = true;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (opts && a === "--") {
      opts = false;
      continue;
    }
    if (opts && a.startsWith("-") && a.length > 1) {
      if (takes.has(a)) i++;
      continue;
    }
    out.push({ value: a, idx: i });
  }
  return out;
}
function optValues(args: string[], names: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    for (const n of names) {
      if (a === n && i + 1 < args.length) out.push(args[i + 1]);
      else if (n.startsWith("--") && a.startsWith(`${n}=`)) out.push(a.slice(n.length + 1));
      else if (!n.startsWith("--") && n.length === 2 && a.startsWith(n) && a.length > 2 && !a.startsWith("--")) out.push(a.slice(2));
    }
  }
  return out;
}
const looksLikePath = (s: string) =>
  /^(?:~|\/|\.{1,2}\/|\$HOME)/.test(s) || (/\//.test(s) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(s) && !/\s/.test(s)) || /^\.[\w-]/.test(s);

/** How a path op names its path when the shell expands it as a pattern: the pattern, resolved, and as written. */
export interface GlobRef {
  pattern: string;
  shown: string;
}

export class CommandAnalyzer {
  readonly ops: OpContext[] = [];
  /** exec ops whose program (or the code it runs) is only known when the command runs, and why */
  readonly unknown = new Map<OpContext, string>();
  /** path ops whose path is a file-name pattern the shell expands */
  readonly globs = new Map<OpContext, GlobRef>();
  private readonly globWords = new Map<string, Word>();
  private readonly aliases = new Map<string, string>();
  private readonly expanding = new Set<string>();
  private line: string;
  constructor(
    readonly env: CallEnv,
    line: string,
  ) {
    this.line = line.toLowerCase();
  }

  run(command: string, opts: { background?: boolean } = {}): OpContext[] {
    const shell = this.base("shell");
    this.ops.push(shell);
    const vars = new Map<string, string>([
      ["HOME", this.env.home],
      ["PWD", this.env.cwd],
      ["USER", this.env.home.split("/").pop() ?? "user"],
    ]);
    const script = parseShell(command, { vars });
    this.script(script, { sudo: false, feeds: new Set(), depth: 0, background: !!opts.background, unknownArgs: false, vars });
    return this.ops;
  }

  private base(op: OpContext["op"]): OpContext {
    const c = emptyContext(op, this.env.tool, this.env.agent);
    c.line = this.line;
    c.sandbox = this.env.sandbox;
    return c;
  }

  private script(s: Script, inh: Inherit) {
    for (const c of s.cmds) this.simple(c, inh);
  }

  private subsOf(c: SimpleCmd): Script[] {
    const out: Script[] = [...(c.subs ?? [])];
    for (const w of c.words) out.push(...w.subs);
    for (const a of c.assigns) out.push(...a.value.subs);
    for (const r of c.redirs) out.push(...r.target.subs);
    return out;
  }

  private simple(c: SimpleCmd, inh: Inherit) {
    if (inh.depth > 12) throw new Error("command nested too deeply");
    // Substitutions run first; their programs also feed this command (`bash <(curl …)`, `sh -c "$(curl …)"`).
    const subs = this.subsOf(c);
    for (const w of c.words) if (w.glob) this.globWords.set(w.text, w);
    for (const r of c.redirs) if (r.target.glob) this.globWords.set(r.target.text, r.target);
    const feeds = new Set(inh.feeds);
    for (const p of c.pipeFrom) if (p.words[0]) feeds.add(basename(p.words[0].text));
    for (const s of subs) {
      for (const sc of s.cmds) if (sc.words[0]) feeds.add(basename(sc.words[0].text));
      this.script(s, { ...inh, depth: inh.depth + 1, feeds: new Set() });
    }
    this.redirs(c, inh, feeds);
    let words = c.words;
    while (words.length && KEYWORDS_DROP.has(words[0].text) && !words[0].quoted) words = words.slice(1);
    if (!words.length || (KEYWORDS_SKIP.has(words[0].text) && !words[0].quoted)) return;
    this.command(words, c, { ...inh, feeds, background: inh.background || c.background });
  }

  private redirs(c: SimpleCmd, inh: Inherit, feeds: Set<string>) {
    const prog = c.words[0] ? basename(c.words[0].text) : "";
    for (const r of c.redirs) {
      if (r.op.includes("&") && /^\d*-?$/.test(r.target.text)) continue; // fd duplication 2>&1
      if (r.op === "<<" || r.op === "<<-" || r.op === "<<<") continue;
      const t = r.target.text;
      if (!t && !r.target.dynamic) continue;
      const dev = /^\/dev\/(tcp|udp)\/([^/]+)\/(\d+)/.exec(t);
      if (dev) {
        const n = this.base("net");
        n.host = dev[2].toLowerCase();
        n.port = Number(dev[3]);
        n.hostPublic = !isPrivateHost(n.host);
        n.program = prog;
        n.url = `${dev[1]}://${dev[2]}:${dev[3]}`;
        this.ops.push(n);
      }
      if (["/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"].includes(t)) continue;
      const kind = r.op.startsWith("<") && r.op !== "<>" ? "read" : "write";
      this.pathOp(kind, t, r.target.dynamic, prog, inh, feeds);
      if (kind === "write" && DOWNLOADERS.includes(prog)) {
        const last = [...this.ops].reverse().find((o) => o.op === "net" && o.program === prog);
        if (last) this.download(last, -1);
      }
    }
  }

  private pathOp(op: "read" | "write" | "delete" | "access", raw: string, dynamic: boolean, program: string, inh: Inherit, feeds?: Set<string>) {
    const o = this.base(op);
    o.program = program;
    o.sudo = inh.sudo;
    o.path = resolvePath(raw, this.env);
    o.inWorkspace = !dynamic && inWorkspace(o.path, this.env);
    o.dynamic = dynamic;
    o.feeds = [...(feeds ?? inh.feeds)];
    this.ops.push(o);
    const g = this.globWords.get(raw);
    if (g) this.globs.set(o, { pattern: resolvePattern(g.pat, this.env), shown: g.src || raw });
    return o;
  }

  private download(net: OpContext, maxBytes: number) {
    const d = this.base("download");
    Object.assign(d, { url: net.url, host: net.host, port: net.port, hostPublic: net.hostPublic, program: net.program, maxBytes });
    this.ops.push(d);
  }

  private net(program: string, t: { url: string; host: string; port: number }, inh: Inherit, upload = false): OpContext {
    const n = this.base("net");
    Object.assign(n, { program, url: t.url, host: t.host, port: t.port, hostPublic: !isPrivateHost(t.host), upload, sudo: inh.sudo });
    this.ops.push(n);
    return n;
  }

  private command(words: Word[], c: SimpleCmd, inh: Inherit) {
    const w0 = words[0];
    const parseInner = (src: string, extra: Partial<Inherit> = {}) => {
      const s = parseShell(src, { vars: inh.vars, depth: inh.depth + 1 });
      this.script(s, { ...inh, depth: inh.depth + 1, ...extra });
    };
    // An alias defined earlier on the line (`alias r=rm`, `hash -p /bin/rm r`) runs what it stands for.
    const alias = !w0.quoted && !w0.dynamic ? this.aliases.get(w0.text) : undefined;
    if (alias !== undefined && !this.expanding.has(w0.text)) {
      this.expanding.add(w0.text);
      try {
        parseInner([alias, ...words.slice(1).map(reread)].join(" "));
      } finally {
        this.expanding.delete(w0.text);
      }
      return;
    }
    const programPath = w0.text;
    const program = basename(programPath);
    const args = words.slice(1).map((w) => w.text);
    const argDynamic = words.slice(1).map((w) => w.dynamic);
    const e = this.base("exec");
    e.program = w0.dynamic && !program ? "" : program;
    e.programPath = programPath;
    e.dynamic = w0.dynamic;
    e.args = args;
    e.flags = flagsOf(args);
    e.argv = [program, ...args].join(" ").toLowerCase();
    e.feeds = [...inh.feeds];
    e.sudo = inh.sudo;
    e.background = inh.background;
    e.interp = interpFamily(program) || (SHELL_SET.has(program) && args.some((a) => !a.startsWith("-")) ? "shell" : "");
    this.ops.push(e);
    // A program word that is computed (`$(echo rm)`, `$X`, `${CMD}`, backticks, arithmetic) or a file-name
    // pattern (`/bin/r?`) names no program the rules can check: the engine denies it (fail closed).
    if (w0.dynamic) this.unknown.set(e, `the program name is computed when the command runs (\`${w0.src}\`), so it cannot be checked`);
    else if (w0.glob)
      this.unknown.set(e, `the program name is a file-name pattern the shell expands when the command runs (\`${w0.src}\`), so it cannot be checked`);
    const child = (ws: Word[], extra: Partial<Inherit> = {}) => this.command2(ws, c, { ...inh, depth: inh.depth + 1, ...extra });
    /** the re-read form of the value of option `names` (`-c CMD`, `--command=CMD`) */
    const optWord = (names: string[]): string | undefined => {
      for (let i = 1; i < words.length; i++) {
        const a = words[i].text;
        if (names.includes(a) && i + 1 < words.length) return words[i + 1].sh;
        for (const n of names) if (n.startsWith("--") && a.startsWith(`${n}=`)) return words[i].sh.slice(words[i].sh.indexOf("=") + 1);
      }
      return optValues(args, names)[0];
    };
    const pos = positionals(program, args);

    // 0. Strings that are run as commands later or elsewhere on this machine.
    if (program === "alias") {
      for (const a of args) {
        const m = /^([^=\s]+)=([\s\S]*)$/.exec(a);
        if (m) this.aliases.set(m[1], m[2]);
      }
      return;
    }
    if (program === "hash") {
      const p = optValues(args, ["-p"])[0];
      const name = p !== undefined ? args[args.indexOf("-p") + 2] : undefined;
      if (p !== undefined && name) this.aliases.set(name, shellQuote(p));
      return;
    }
    if (program === "trap") {
      let i = 1;
      if (words[i]?.text === "--") i++;
      if (words[i] && words.length > i + 1 && !words[i].text.startsWith("-")) parseInner(words[i].sh);
      return;
    }
    if (program in COMMAND_OPTION) {
      const cmd = optWord(COMMAND_OPTION[program]);
      if (cmd !== undefined) {
        parseInner(cmd, ELEVATOR_SET.has(program) ? { sudo: true } : {});
        return;
      }
      if (program === "su" || program === "script") return;
    }
    if (program in JOINS_ARGS) {
      const takes = new Set(JOINS_ARGS[program]);
      let i = 1;
      let exec = false;
      for (; i < words.length && words[i].text.startsWith("-"); i++) {
        if (words[i].text === "-x" || words[i].text === "--exec") exec = true;
        if (takes.has(words[i].text)) i++;
      }
      if (i < words.length) {
        if (exec) child(words.slice(i));
        else
          parseInner(
            words
              .slice(i)
              .map((w) => w.sh)
              .join(" "),
          );
      }
      return;
    }

    // 1. Wrappers run the rest of their arguments as a command.
    if (program in WRAPPERS || ELEVATOR_SET.has(program)) {
      const takes = new Set(WRAPPERS[program] ?? []);
      let i = 1;
      let skipPos = POSITIONAL_BEFORE_CMD[program] ?? 0;
      while (i < words.length) {
        const a = words[i].text;
        if (a === "--") {
          i++;
          break;
        }
        if (program === "env" && /^[A-Za-z_][A-Za-z0-9_]*=/.test(a)) {
          i++;
          continue;
        }
        if (program === "command" && (a === "-v" || a === "-V")) return; // only looks the name up
        if (a.startsWith("-") && a.length > 1) {
          i += takes.has(a) ? 2 : 1;
          continue;
        }
        if (skipPos > 0) {
          skipPos--;
          i++;
          continue;
        }
        break;
      }
      if (i < words.length) {
        const elevated = ELEVATOR_SET.has(program) || inh.sudo;
        child(words.slice(i), { sudo: elevated, unknownArgs: inh.unknownArgs || program === "xargs" });
      }
      return;
    }
    // 2. Shells and eval: parse the string they would run.
    if (SHELL_SET.has(program) || (program === "busybox" && SHELL_SET.has(args[0] ?? ""))) {
      const off = program === "busybox" ? 1 : 0;
      const a = args.slice(off);
      const ci = a.findIndex((x) => /^-[a-zA-Z]*c[a-zA-Z]*$/.test(x));
      // the command string as the shell re-reads it: what is computed stays computed (`sh -c "$X"`)
      if (ci >= 0 && a[ci + 1] !== undefined) parseInner(words[1 + off + ci + 1].sh);
      else {
        const script = a.find((x) => !x.startsWith("-"));
        if (script) this.pathOp("read", script, false, program, inh);
      }
      return;
    }
    if (program === "eval") {
      parseInner(
        words
          .slice(1)
          .map((w) => w.sh)
          .join(" "),
      );
      return;
    }
    if (program === "source" || program === ".") {
      if (args[0]) this.pathOp("read", args[0], argDynamic[0], program, inh);
      return;
    }
    // 3. Interpreters with inline code.
    if (e.interp && e.interp !== "compiler") {
      const codeFlag = ["-c", "-e", "--eval", "-E", "-r", "-p", "--print", "-Command", "-command", "-x"];
      let code: string | undefined;
      for (let i = 0; i < args.length; i++)
        if (codeFlag.includes(args[i]) || /^-[a-zA-Z]*[ce]$/.test(args[i])) {
          code = args[i + 1];
          // code produced by a command substitution (`python3 -c "$(echo … | base64 -d)"`) or only by variables
          const cw = words[i + 2];
          if (cw && !this.unknown.has(e) && (cw.subs.length || (cw.dynamic && !cw.text.trim())))
            this.unknown.set(e, `the code ${program} runs is computed when the command runs (\`${cw.src}\`), so it cannot be checked`);
          break;
        }
      if (code !== undefined) {
        e.code = code.toLowerCase();
        this.code(code, program, inh);
      } else {
        const script = pos.find((p) => !p.value.startsWith("-"));
        if (script && program !== "perl") this.pathOp("read", script.value, argDynamic[script.idx], program, inh);
        for (const p of pos.slice(1)) if (looksLikePath(p.value)) this.pathOp("access", p.value, argDynamic[p.idx], program, inh);
      }
      if (program !== "perl") return;
    }
    // 4. find: -delete and -exec.
    if (program === "find") {
      const roots: string[] = [];
      let i = 0;
      for (; i < args.length && !/^[-(!]/.test(args[i]); i++) roots.push(args[i]);
      if (!roots.length) roots.push(".");
      for (const r of roots) this.pathOp("access", r, false, program, inh);
      if (args.includes("-delete"))
        for (const r of roots) {
          const o = this.pathOp("delete", r, false, program, inh);
          o.outside = !(o.inWorkspace || o.path === this.env.workspace);
        }
      for (let j = i; j < args.length; j++) {
        if (["-exec", "-execdir", "-ok", "-okdir"].includes(args[j])) {
          let k = j + 1;
          while (k < args.length && args[k] !== ";" && args[k] !== "+") k++;
          const inner = words.slice(j + 2, k + 1).map((w) => ({
            ...w,
            text: w.text.replace(/\{\}/g, roots[0]),
            sh: w.sh.replace(/\{\}/g, roots[0]),
            pat: w.pat.replace(/\{\}/g, roots[0]),
          }));
          if (inner.length) child(inner);
          j = k;
        }
      }
      e.outside = roots.some((r) => !inWorkspace(resolvePath(r, this.env), this.env));
      return;
    }
    // 5. Files named on the command line.
    this.files(program, args, argDynamic, pos, e, inh);
    // 6. Network.
    this.network(program, args, pos, inh);
  }

  private command2(words: Word[], c: SimpleCmd, inh: Inherit) {
    while (words.length && KEYWORDS_DROP.has(words[0].text) && !words[0].quoted) words = words.slice(1);
    if (words.length) this.command(words, c, inh);
  }

  private code(code: string, program: string, inh: Inherit) {
    // Shell commands embedded in code: os.system("…"), subprocess.run([...]), execSync("…"), system("…").
    const call =
      /(?:os\.system|os\.popen|subprocess\.\w+|execSync|execFileSync|spawnSync|exec|spawn|system|popen|shell_exec|passthru|IO\.popen|Open3\.\w+)\s*\(\s*(\[[^\]]*\]|(["'`])((?:\\.|(?!\2)[^\\])*)\2)/g;
    for (const m of code.matchAll(call)) {
      let src = m[3];
      if (m[1].startsWith("[")) src = [...m[1].matchAll(/(["'])((?:\\.|(?!\1)[^\\])*)\1/g)].map((x) => shellQuote(x[2])).join(" ");
      if (src) {
        try {
          this.script(parseShell(src, { vars: inh.vars, depth: inh.depth + 1 }), { ...inh, depth: inh.depth + 1 });
        } catch {
          /* unparseable embedded string: the code rules still see the raw code */
        }
      }
    }
    // Paths in string literals: open('/root/.aws/credentials'), fs.readFileSync('~/.ssh/id_rsa').
    for (const m of code.matchAll(/(["'`])((?:~|\/|\.\.?\/)[^"'`\s]*)\1/g)) this.pathOp("access", m[2], false, program, inh);
  }

  private files(program: string, args: string[], dyn: boolean[], pos: { value: string; idx: number }[], e: OpContext, inh: Inherit) {
    const add = (op: "read" | "write" | "delete" | "access", p: { value: string; idx: number }) => {
      const o = this.pathOp(op, p.value, dyn[p.idx] || inh.unknownArgs, program, inh);
      if (!o.inWorkspace) e.outside = true;
    };
    if (inh.unknownArgs) e.outside = true; // xargs: the targets come from stdin
    if (program === "dd") {
      for (const a of args) {
        const m = /^(if|of)=(.*)$/.exec(a);
        if (m) this.pathOp(m[1] === "if" ? "read" : "write", m[2], false, program, inh);
      }
      return;
    }
    if (DELETERS.has(program)) {
      for (const p of pos) add("delete", p);
      return;
    }
    if (READERS.has(program)) {
      for (const p of pos) add("read", p);
      for (const v of optValues(args, ["-in", "-key", "-inkey"])) this.pathOp("read", v, false, program, inh);
      return;
    }
    if (PATTERN_FIRST.has(program)) {
      const explicit = args.some((a) => /^(-e|-f|--regexp|--file|--expression)$/.test(a) || /^--(regexp|expression|file)=/.test(a));
      const files = explicit ? pos : pos.slice(1);
      const inPlace =
        (program === "sed" || program === "gsed" || program === "perl") && args.some((a) => /^-[a-zA-Z]*i/.test(a) || a.startsWith("--in-place"));
      for (const p of files) add(inPlace ? "write" : "read", p);
      for (const v of optValues(args, ["-f", "--file"])) this.pathOp("read", v, false, program, inh);
      return;
    }
    if (WRITERS.has(program)) {
      const ps = SKIP_FIRST_POSITIONAL.has(program) ? pos.slice(1) : pos;
      for (const p of ps) add("write", p);
      return;
    }
    if (COPIERS.has(program)) {
      const local = pos.filter((p) => !isRemoteSpec(p.value));
      const target = optValues(args, ["-t", "--target-directory"])[0];
      const srcs = target ? local : local.slice(0, -1);
      const dst = target ? { value: target, idx: -1 } : local[local.length - 1];
      for (const p of srcs) add(program === "mv" ? "delete" : "read", p);
      if (program === "mv") for (const p of srcs) add("read", p);
      if (dst && (target || local.length > 1 || pos.length > local.length)) add("write", dst);
      return;
    }
    if (program === "tar") {
      const a0 = args[0] ?? "";
      const create = /^-?[a-zA-Z]*c/.test(a0) || args.includes("--create");
      const file = optValues(args, ["-f", "--file"])[0] ?? (/^-?[a-zA-Z]*f/.test(a0) ? pos[0]?.value : undefined);
      if (file) this.pathOp(create ? "write" : "read", file, false, program, inh);
      if (create) for (const p of pos.filter((p) => p.value !== file)) add("read", p);
      else for (const d of optValues(args, ["-C", "--directory"])) this.pathOp("write", d, false, program, inh);
      return;
    }
    if (program === "zip") {
      for (const [i, p] of pos.entries()) add(i === 0 ? "write" : "read", p);
      return;
    }
    if (program === "curl") {
      for (const v of optValues(args, ["-o", "--output"])) if (v !== "-" && v !== "/dev/null") this.pathOp("write", v, false, program, inh);
      for (const v of optValues(args, ["-T", "--upload-file", "-K", "--config"])) this.pathOp("read", v, false, program, inh);
      for (const v of optValues(args, ["-d", "--data", "--data-binary", "--data-raw", "--data-urlencode", "-F", "--form"])) {
        const m = /@([^;,\s]+)/.exec(v);
        if (m && m[1] !== "-") this.pathOp("read", m[1], false, program, inh);
      }
      return;
    }
    if (program === "wget") {
      for (const v of optValues(args, ["-O", "--output-document"])) if (v !== "-" && v !== "/dev/null") this.pathOp("write", v, false, program, inh);
      for (const v of optValues(args, ["--post-file", "-i", "--input-file"])) this.pathOp("read", v, false, program, inh);
      return;
    }
    // Unknown programs: any argument that looks like a path is "accessed".
    for (const p of pos) if (looksLikePath(p.value)) add("access", p);
    for (const a of args) {
      const m = /^--?[\w-]+=((?:~|\/|\.\.?\/)\S*)$/.exec(a);
      if (m) this.pathOp("access", m[1], false, program, inh);
    }
  }

  private network(program: string, args: string[], pos: { value: string; idx: number }[], inh: Inherit) {
    if (DOWNLOADERS.includes(program)) {
      const isCurl = program === "curl";
      const upload =
        args.some(
          (a) =>
            /^(-T|--upload-file|-F|--form|-d|--data|--data-binary|--data-raw|--post-file|--post-data)$/.test(a) ||
            /^--(data|form|upload-file|post-file|post-data)[\w-]*=/.test(a),
        ) ||
        (args.includes("-X") && /^(POST|PUT|PATCH)$/i.test(args[args.indexOf("-X") + 1] ?? ""));
      const saves =
        program === "aria2c" ||
        (isCurl
          ? args.some((a) => /^(-o|--output|-O|--remote-name|--remote-name-all|-J)$/.test(a) || /^-[a-zA-Z]*O[a-zA-Z]*$/.test(a))
          : program === "wget" &&
            !optValues(args, ["-O", "--output-document"]).some((v) => v === "-" || v === "/dev/null") &&
            !args.includes("--spider") &&
            !args.some((a) => /^-[a-zA-Z]*O-$/.test(a)));
      const maxBytes = isCurl ? parseSize(optValues(args, ["--max-filesize"])[0] ?? "") : -1;
      for (const p of pos) {
        const t = parseTarget(p.value, "http");
        if (!t) continue;
        const n = this.net(program, t, inh, upload);
        if (saves) this.download(n, maxBytes);
      }
      return;
    }
    if (program === "ssh" || program === "mosh" || program === "autossh") {
      const host = pos[0]?.value;
      if (host) {
        const port = Number(optValues(args, ["-p"])[0] ?? 22);
        const h = host.replace(/^.*@/, "");
        const t = host.startsWith("ssh://") ? parseTarget(host, "ssh") : { url: `ssh://${h}:${port}`, host: h.toLowerCase(), port };
        if (t) this.net(program, t, inh, false);
      }
      return;
    }
    if (program === "scp" || program === "rsync" || program === "sftp") {
      const port = Number(optValues(args, ["-P", "--port"])[0] ?? 22);
      const remoteIdx = pos.findIndex((p) => isRemoteSpec(p.value));
      for (const p of pos) {
        if (!isRemoteSpec(p.value)) continue;
        const h = p.value.split(":")[0].replace(/^.*@/, "");
        const n = this.net(program, { url: `ssh://${h}:${port}`, host: h.toLowerCase(), port }, inh, remoteIdx === pos.length - 1);
        if (remoteIdx !== pos.length - 1) this.download(n, -1);
      }
      return;
    }
    if (program === "git") {
      for (const p of pos) {
        const scp = /^(?:[\w.-]+@)?([\w.-]+\.[a-z]{2,}):(?!\/\/)/i.exec(p.value);
        if (scp) this.net(program, { url: `ssh://${scp[1]}:22`, host: scp[1].toLowerCase(), port: 22 }, inh, args.includes("push"));
        else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p.value)) {
          const t = parseTarget(p.value);
          if (t) this.net(program, t, inh, args.includes("push"));
        }
      }
      return;
    }
    if (["nc", "ncat", "netcat", "telnet", "socat", "ftp", "openssl"].includes(program)) {
      if (program === "openssl") {
        const c = optValues(args, ["-connect"])[0];
        const m = c && /^([^:]+):(\d+)$/.exec(c);
        if (m) this.net(program, { url: `tcp://${c}`, host: m[1], port: Number(m[2]) }, inh);
        return;
      }
      if (program === "socat") {
        for (const a of args) {
          const m = /^(?:tcp|tcp4|tcp6|tcp-connect|openssl)[:-]([^:,]+):(\d+)/i.exec(a);
          if (m) this.net(program, { url: a, host: m[1].toLowerCase(), port: Number(m[2]) }, inh);
        }
        return;
      }
      const [h, p] = [pos[0]?.value, pos[1]?.value];
      if (h && !h.startsWith("-"))
        this.net(program, { url: `tcp://${h}:${p ?? ""}`, host: h.toLowerCase(), port: Number(p ?? (program === "telnet" ? 23 : -1)) || -1 }, inh);
    }
  }
}

const isRemoteSpec = (s: string) => /^(?:[\w.-]+@)?[\w.-]+:(?!\/\/)/.test(s) && !s.startsWith("/") && !/^[a-z]:\\/i.test(s);
function basename(p: string): string {
  const s = p.replace(/\/+$/, "");
  const i = s.lastIndexOf("/");
  return i >= 0 ? s.slice(i + 1) : s;
}
const shellQuote = (s: string) => (/^[\w@%+=:,./~-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);
/** A word written back for the shell to read again: its value quoted, or, when computed, as written. */
const reread = (w: Word) => (w.dynamic ? w.sh : w.glob && /^[^\s;&|<>()'"$`]+$/.test(w.pat) ? w.pat : shellQuote(w.text));
