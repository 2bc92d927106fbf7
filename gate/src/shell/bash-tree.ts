// The command line parsed by mvdan/sh (the parser behind shfmt, bash 5 grammar; npm `mvdan-sh`, its
// GopherJS build, synchronous), then turned into the gate's own `Script` / `SimpleCmd` / `Word`.
// mvdan/sh decides the grammar: what is a word, a quote, a here-document, a keyword, a pipeline.
// Our analysis stays ours and is computed from its tree: variables assigned earlier on the line,
// word splitting, brace expansion, `~`, the three forms of each word (value, file-name pattern,
// re-read form), computed parts, and the substitutions inside parameter expansions, arithmetic,
// `[[ … ]]`, `for`/`case` headers and here-document bodies. A node we cannot represent (an
// extended glob, an unknown node type) throws a ShellParseError: the gate then denies.
// The tree is read from GopherJS's internal objects (Go field names, slices as {$array,$offset,$length},
// strings as UTF-8 bytes, positions as byte offsets): going through its JS wrappers instead allocated
// so much that the garbage collector made a parse cost 130 µs at the median and 20 ms at p99.

import "./mvdan-globals.ts";
import sh from "mvdan-sh";
import { before } from "./mvdan-globals.ts";
import {
  BRACE_CLOSE,
  BRACE_COMMA,
  BRACE_OPEN,
  MARKS,
  MAX_DEPTH,
  type ParseEnv,
  type Redir,
  SPLIT,
  type Script,
  type SimpleCmd,
  ShellParseError,
  type Word,
  appendWord,
  decodeAnsiC,
  dyn,
  expandParam,
  emptyWord,
  expandWord,
  flatten,
  hasGlob,
  lit,
  mark,
  restore,
} from "./parse.ts";

// Loading the GopherJS runtime sets these for the whole process: put them back.
if (Error.stackTraceLimit !== before.stackTraceLimit) Error.stackTraceLimit = before.stackTraceLimit;
if (!before.hadRequire) Reflect.deleteProperty(globalThis, "require");

const { syntax } = sh;
// biome-ignore lint/suspicious/noExplicitAny: GopherJS objects, read by field name as in the Go API
type N = any;
let parser: ReturnType<typeof syntax.NewParser> | null = null;

// ParamExp.Exp.Op (mvdan.cc/sh/v3 ParExpOperator) → its spelling, for the operators whose default we follow
const EXP_OPS: Record<number, string> = {
  68: "+",
  69: ":+",
  70: "-",
  71: ":-",
  72: "?",
  73: ":?",
  74: "=",
  75: ":=",
  76: "%",
  77: "%%",
  78: "#",
  79: "##",
};
const REDIR_OP = /^(?:&>>|&>|>>|>\||>&|<<<|<<-|<<|<&|<>|>|<)/;
const ASCII = /^[\x00-\x7f]*$/;

/** A syntax node (a non-nil pointer to a syntax.* struct). */
const isNode = (x: N): boolean =>
  x != null &&
  typeof x === "object" &&
  typeof x.constructor?.string === "string" &&
  x.constructor.string.startsWith("*syntax.") &&
  x !== x.constructor.nil;
/** The node's type name (`CallExpr`, `Lit`, …), "" for nil. */
const kind = (x: N): string => (isNode(x) ? x.constructor.string.slice(8) : "");
/** A Go slice's elements. */
const list = (s: N): N[] => (s?.$array ? s.$array.slice(s.$offset, s.$offset + s.$length) : []);
/** A Go string (UTF-8 bytes, one per char code) as a JS string. */
const str = (s: string): string => (ASCII.test(s) ? s : Buffer.from(s, "latin1").toString("utf8"));

/** Parses `src` with mvdan/sh (bash). Same contract as parseShell. */
export function parseBash(src: string, env?: Partial<ParseEnv>): Script {
  if (MARKS.test(src)) throw new ShellParseError("unsupported character in command");
  const depth = env?.depth ?? 0;
  if (depth > MAX_DEPTH) throw new ShellParseError("command nested too deeply");
  parser ??= syntax.NewParser(syntax.KeepComments(false), syntax.Variant(syntax.LangBash));
  let file: N;
  try {
    file = (parser.Parse(src, "") as N).__internal_object__;
  } catch (e) {
    parser = null; // a fresh parser after any failure (a stack overflow leaves GopherJS state behind)
    const err = e as N;
    const msg = typeof err?.Error === "function" ? err.Error() : String(err?.message ?? err);
    throw new ShellParseError(msg);
  }
  return new Conv(src, env?.vars ?? new Map(), depth).script(file.Stmts);
}

interface Stage {
  cmds: SimpleCmd[];
  /** the commands of the last pipeline stage (what a following `|` reads from) */
  last: SimpleCmd[];
}
interface WordState {
  start: boolean;
  braces: number;
  /** brace expansion applies (not in a `${…}` operand) */
  brace: boolean;
}

const newCmd = (): SimpleCmd => ({ assigns: [], words: [], redirs: [], background: false, pipeFrom: [] });
const litWord = (s: string): Word => {
  const w = emptyWord();
  lit(w, s, false);
  w.src = s;
  return w;
};

class Conv {
  private readonly bytes: Buffer | null;
  constructor(
    private readonly src: string,
    private readonly vars: Map<string, string>,
    private readonly depth: number,
  ) {
    // mvdan/sh positions are byte offsets
    this.bytes = ASCII.test(src) ? null : Buffer.from(src, "utf8");
  }

  private slice(a: number, b: number): string {
    return this.bytes ? this.bytes.subarray(a, b).toString("utf8") : this.src.slice(a, b);
  }
  private text(n: N): string {
    return this.slice(n.Pos().offs, n.End().offs);
  }

  script(stmts: N[]): Script {
    const cmds: SimpleCmd[] = [];
    for (const st of list(stmts)) cmds.push(...this.stmt(st, null).cmds);
    return { cmds };
  }

  private stmt(st: N, pipeIn: SimpleCmd[] | null): Stage {
    const out = this.command(st, pipeIn);
    if (st.Background) for (const c of out.cmds) c.background = true;
    return out;
  }

  private command(st: N, pipeIn: SimpleCmd[] | null): Stage {
    const cmd = st.Cmd;
    const stage = (cmds: SimpleCmd[]): Stage => {
      if (pipeIn) for (const c of cmds) if (!c.pipeFrom.length) c.pipeFrom = pipeIn;
      return { cmds, last: cmds };
    };
    if (!isNode(cmd)) {
      const c = newCmd();
      c.redirs = this.redirs(st.Redirs);
      return stage(c.redirs.length ? [c] : []);
    }
    const type = kind(cmd);
    switch (type) {
      case "CallExpr": {
        const c = this.call(cmd, st.Redirs);
        return stage(c ? [c] : []);
      }
      case "BinaryCmd": {
        const op = this.slice(cmd.OpPos.offs, cmd.OpPos.offs + 2);
        const x = this.stmt(cmd.X, pipeIn);
        const piped = op[0] === "|" && op !== "||";
        const y = this.stmt(cmd.Y, piped ? flatten(x.last) : null);
        return { cmds: [...x.cmds, ...y.cmds], last: y.last };
      }
      case "Subshell":
      case "Block": {
        const inner = this.script(cmd.Stmts);
        const g = newCmd();
        g.group = inner;
        g.redirs = this.redirs(st.Redirs);
        return stage([g, ...inner.cmds]);
      }
      case "DeclClause": {
        const c = this.decl(cmd);
        c.redirs = this.redirs(st.Redirs);
        return stage([c]);
      }
      case "LetClause": {
        const c = newCmd();
        c.words = [litWord("let")];
        c.subs = [];
        for (const e of list(cmd.Exprs)) this.collectSubs(e, c.subs);
        c.redirs = this.redirs(st.Redirs);
        return stage([c]);
      }
      case "TimeClause":
      case "CoprocClause": {
        const inner = isNode(cmd.Stmt) ? this.stmt(cmd.Stmt, pipeIn).cmds : [];
        const r = this.holder(st);
        return stage([...r, ...inner]);
      }
      default: {
        const r = this.holder(st);
        return stage([...r, ...this.compound(cmd, type)]);
      }
    }
  }

  /** Redirections of a compound command (`while …; done > f`) on a command of their own. */
  private holder(st: N): SimpleCmd[] {
    if (!list(st.Redirs).length) return [];
    const c = newCmd();
    c.redirs = this.redirs(st.Redirs);
    return [c];
  }

  /** if / while / until / for / select / case / function / [[ ]] / (( )): what runs inside, and the
   * substitutions in their headers (on a command without words). */
  private compound(cmd: N, type: string): SimpleCmd[] {
    const header = (nodes: N[]): SimpleCmd[] => {
      const subs: Script[] = [];
      for (const n of nodes) this.collectSubs(n, subs);
      if (!subs.length) return [];
      const c = newCmd();
      c.subs = subs;
      return [c];
    };
    const body = (stmts: N[]) => this.script(stmts).cmds;
    switch (type) {
      case "IfClause": {
        const out: SimpleCmd[] = [];
        for (let c = cmd; isNode(c); c = c.Else) out.push(...body(c.Cond), ...body(c.Then));
        return out;
      }
      case "WhileClause":
        return [...body(cmd.Cond), ...body(cmd.Do)];
      case "ForClause": {
        const loop = cmd.Loop;
        const h = kind(loop) === "WordIter" ? header(list(loop.Items)) : header([loop.Init, loop.Cond, loop.Post]);
        // `for NAME in WORD; do …`: with one static word, NAME is that word in the body (as parse.ts does)
        if (kind(loop) === "WordIter" && list(loop.Items).length === 1 && isNode(loop.Name)) {
          const ws = expandWord(this.word(list(loop.Items)[0]));
          if (ws.length === 1 && !ws[0].dynamic && !ws[0].glob) this.vars.set(str(loop.Name.Value), ws[0].text);
        }
        return [...h, ...body(cmd.Do)];
      }
      case "CaseClause": {
        const out = header([cmd.Word, ...list(cmd.Items).flatMap((i: N) => list(i.Patterns))]);
        for (const item of list(cmd.Items)) out.push(...body(item.Stmts));
        return out;
      }
      case "FuncDecl":
        return this.stmt(cmd.Body, null).cmds;
      case "TestClause":
        return header([cmd.X]);
      case "ArithmCmd":
        return header([cmd.X]);
      default:
        throw new ShellParseError(`unsupported shell syntax (${type})`);
    }
  }

  private call(ce: N, redirs: N[]): SimpleCmd | null {
    const cmd = newCmd();
    for (const a of list(ce.Assigns)) cmd.assigns.push(this.assign(a));
    for (const w of list(ce.Args)) cmd.words.push(...expandWord(this.word(w)));
    cmd.redirs = this.redirs(redirs);
    // A bare assignment line sets the variable for the rest of the script (`X=rm; $X -rf ~`).
    if (!cmd.words.length) for (const a of cmd.assigns) if (!a.value.dynamic) this.vars.set(a.name, a.value.text);
    if (!cmd.words.length && !cmd.assigns.length && !cmd.redirs.length) return null;
    return cmd;
  }

  /** NAME=value, NAME+=value, NAME[i]=value, NAME=(a b): the value is neither brace-expanded nor split. */
  private assign(a: N): { name: string; value: Word } {
    let value: Word;
    if (isNode(a.Array)) {
      // an array is not a variable we follow: its value is computed; what its elements run still counts
      value = emptyWord();
      value.dynamic = true;
      this.collectSubs(a.Array, value.subs);
      value.sh = this.text(a.Array);
    } else {
      value = isNode(a.Value) ? this.word(a.Value) : emptyWord();
      value.text = restore(value.text);
      value.sh = restore(value.sh);
      value.pat = restore(value.pat);
    }
    if (isNode(a.Index)) {
      value.dynamic = true;
      this.collectSubs(a.Index, value.subs);
    }
    value.src = this.text(a);
    return { name: isNode(a.Name) ? str(a.Name.Value) : "", value };
  }

  /** `export X=…` / `declare -x X=…` / `local` / `readonly` / `typeset`: words as written, and the variables they set. */
  private decl(dc: N): SimpleCmd {
    const c = newCmd();
    c.words.push(litWord(isNode(dc.Variant) ? str(dc.Variant.Value) : "declare"));
    for (const a of list(dc.Args)) {
      if (a.Naked) {
        if (isNode(a.Value)) c.words.push(...expandWord(this.word(a.Value)));
        else if (isNode(a.Name)) c.words.push(litWord(str(a.Name.Value)));
        continue;
      }
      const { name, value } = this.assign(a);
      const w = emptyWord();
      lit(w, `${name}${a.Append ? "+" : ""}=`, false);
      appendWord(w, value);
      w.quoted = value.quoted;
      w.subs = value.subs;
      w.src = value.src;
      w.glob = hasGlob(w.pat);
      c.words.push(w);
      if (!value.dynamic) this.vars.set(name, value.text);
    }
    return c;
  }

  private redirs(rs: N[]): Redir[] {
    const out: Redir[] = [];
    for (const r of list(rs)) {
      const at = r.OpPos.offs;
      const opText = REDIR_OP.exec(this.slice(at, at + 3))?.[0];
      if (!opText) throw new ShellParseError("unknown redirection");
      const fd = opText.startsWith("&") ? "&" : isNode(r.N) ? str(r.N.Value) : "";
      if (opText === "<<" || opText === "<<-") {
        // the body is data, but an unquoted delimiter lets its `$(…)` and backticks run
        const target: Word = { ...emptyWord(), quoted: true };
        if (isNode(r.Hdoc)) {
          const h = emptyWord();
          const st: WordState = { start: false, braces: 0, brace: false };
          for (const p of list(r.Hdoc.Parts)) this.part(h, p, true, st, false);
          target.subs = h.subs;
        }
        out.push({ op: opText, fd, target });
        continue;
      }
      for (const t of expandWord(this.word(r.Word))) out.push({ op: opText, fd, target: t });
    }
    return out;
  }

  word(w: N): Word {
    const out = emptyWord();
    const st: WordState = { start: true, braces: 0, brace: true };
    const parts = list(w.Parts);
    parts.forEach((p, i) => {
      this.part(out, p, false, st, i === parts.length - 1);
      st.start = false;
    });
    out.src = this.text(w);
    out.glob = hasGlob(out.pat);
    return out;
  }

  /** One part of a word. `quoted`: inside double quotes (no splitting, no globbing, no brace expansion). */
  private part(w: Word, p: N, quoted: boolean, st: WordState, last: boolean) {
    const type = kind(p);
    switch (type) {
      case "Lit":
        return quoted ? lit(w, dqUnescape(str(p.Value)), true) : this.unquotedLit(w, str(p.Value), st, last);
      case "SglQuoted":
        w.quoted = true;
        return lit(w, p.Dollar ? decodeAnsiC(str(p.Value)) : str(p.Value), true);
      case "DblQuoted": {
        w.quoted = true;
        // `$"…"` is a double-quoted string translated for the locale: the same string here
        const inner: WordState = { start: false, braces: 0, brace: false };
        for (const x of list(p.Parts)) this.part(w, x, true, inner, false);
        return;
      }
      case "ParamExp":
        return this.param(w, p, quoted);
      case "CmdSubst":
      case "ProcSubst":
        w.subs.push(this.sub(p.Stmts));
        return dyn(w, this.text(p));
      case "ArithmExp": {
        const subs: Script[] = [];
        this.collectSubs(p.X, subs);
        w.subs.push(...subs);
        // a constant number is static; anything else is computed when the command runs
        const x = p.X;
        const xp = kind(x) === "Word" ? list(x.Parts) : [];
        const n = xp.length === 1 && kind(xp[0]) === "Lit" ? str(xp[0].Value) : "";
        if (/^\d+$/.test(n) && !subs.length) return lit(w, n, true);
        return dyn(w, this.text(p));
      }
      default:
        // ExtGlob (`@(a|b)`) and anything newer than this adapter: we cannot say what it is
        throw new ShellParseError(`unsupported shell syntax (${type})`);
    }
  }

  /** Unquoted literal text: backslashes quote the next character, `~` at the start is $HOME, `{ , }` may expand. */
  private unquotedLit(w: Word, v: string, st: WordState, last: boolean) {
    for (let i = 0; i < v.length; i++) {
      const c = v[i];
      if (c === "\\") {
        if (v[i + 1] === "\n") {
          i++;
          continue;
        }
        lit(w, v[i + 1] ?? "", true);
        w.quoted = true;
        i++;
      } else if (c === "~" && i === 0 && st.start && (v[1] === "/" || (v.length === 1 && last))) {
        const home = this.vars.get("HOME");
        if (home !== undefined) lit(w, home, true);
        else lit(w, "~", false);
      } else if (c === "{" && st.brace) {
        st.braces++;
        mark(w, BRACE_OPEN);
      } else if (c === "," && st.brace && st.braces > 0) mark(w, BRACE_COMMA);
      else if (c === "}" && st.brace && st.braces > 0) {
        st.braces--;
        mark(w, BRACE_CLOSE);
      } else lit(w, c, false);
    }
  }

  /** `$X`, `${X}`, `${X:-default}`, `${#X}`, `${X%pat}`, `${a[i]}` …: what the operand runs is parsed too. */
  private param(w: Word, p: N, quoted: boolean) {
    const source = this.text(p);
    const name = isNode(p.Param) ? str(p.Param.Value) : "";
    if (p.Short) {
      const v = this.vars.get(name);
      if (v !== undefined) this.value(w, v, quoted);
      else dyn(w, source);
      return;
    }
    const operand = emptyWord();
    const exp = isNode(p.Exp) ? p.Exp : null;
    if (exp && isNode(exp.Word)) {
      const st: WordState = { start: true, braces: 0, brace: false };
      const parts = list(exp.Word.Parts);
      parts.forEach((x, i) => {
        this.part(operand, x, quoted, st, i === parts.length - 1);
        st.start = false;
      });
    }
    for (const n of [p.Index, p.Slice, p.Repl]) this.collectSubs(n, operand.subs);
    w.subs.push(...operand.subs);
    const prefix = p.Length || p.Excl || p.Width;
    let op = exp ? (EXP_OPS[exp.Op] ?? "other") : isNode(p.Index) || isNode(p.Slice) || isNode(p.Repl) || p.Names ? "other" : "";
    // `${x:off:len}` with literal numbers: the operand is `off:len`, as our parser reads it
    if (!exp && isNode(p.Slice) && !isNode(p.Index) && !isNode(p.Repl) && !p.Names) {
      const off = isNode(p.Slice.Offset) ? this.text(p.Slice.Offset) : "";
      const len = isNode(p.Slice.Length) ? this.text(p.Slice.Length) : undefined;
      if (/^\d+$/.test(off) && (len === undefined || /^\d+$/.test(len))) {
        operand.text = len === undefined ? off : `${off}:${len}`;
        op = ":";
      }
    }
    const v = prefix ? undefined : this.vars.get(name);
    expandParam(w, { value: v, op, prefix: !!prefix, operand, source }, (x) => this.value(w, x, quoted));
  }

  /** A known variable's value: unquoted, it is split into words (IFS) and its `* ? [` are patterns. */
  private value(w: Word, v: string, quoted: boolean) {
    if (quoted) return lit(w, v, true);
    const ifs = this.vars.get("IFS") ?? " \t\n";
    for (const ch of v) {
      if (ifs.includes(ch)) mark(w, SPLIT, ch);
      else lit(w, ch, false);
    }
  }

  private sub(stmts: N[]): Script {
    if (this.depth + 1 > MAX_DEPTH) throw new ShellParseError("command nested too deeply");
    return new Conv(this.src, this.vars, this.depth + 1).script(stmts);
  }

  /** The command and process substitutions anywhere under `n` (arithmetic, tests, subscripts, patterns). */
  private collectSubs(n: N, out: Script[]) {
    if (n?.$array) {
      for (const x of list(n)) this.collectSubs(x, out);
      return;
    }
    const t = kind(n);
    if (!t) return;
    if (t === "CmdSubst" || t === "ProcSubst") {
      out.push(this.sub(n.Stmts));
      return;
    }
    if (t === "ExtGlob") throw new ShellParseError("unsupported shell syntax (ExtGlob)");
    for (const k of Object.keys(n)) {
      const v = k === "$val" ? null : n[k];
      if (v && typeof v === "object" && (v.$array || isNode(v))) this.collectSubs(v, out);
    }
  }
}

/** Inside double quotes a backslash quotes only `$`, `` ` ``, `"`, `\` and a newline. */
function dqUnescape(v: string): string {
  return v.replace(/\\([$`"\\\n])/g, (_, c: string) => (c === "\n" ? "" : c));
}
