// A small POSIX-shell parser: enough of bash to see what a command line really runs.
// Quotes ('', "", $'', $"") and backslashes are removed the way the shell removes them; `$(…)`, backticks,
// `<(…)` and the command substitutions inside `${…}` and `$((…))` are parsed recursively; variables
// assigned earlier on the same line are substituted and, unquoted, split into words (so `X=rm; $X -rf ~`
// and `X="rm -rf"; $X ~` are seen as `rm -rf ~`); brace expansion (`{rm,-rf,~}`, `{1..3}`) is done.
// Anything we cannot parse throws: the gate then denies.

export class ShellParseError extends Error {}

export interface Word {
  text: string; // value after quote removal and known-variable expansion
  quoted: boolean; // any part was quoted
  dynamic: boolean; // contains an unknown variable, a command substitution or arithmetic: its value is computed when it runs
  glob: boolean; // has an active (unquoted) `*`, `?` or `[…]`: the shell expands it to matching file names
  subs: Script[]; // command / process substitutions inside the word
  /** the word as a file-name pattern: quoted characters escaped with `\`, unquoted `* ? [` active */
  pat: string;
  /** the word as a shell re-reads it (`sh -c`, `eval`): quotes removed, unknown expansions kept as written */
  sh: string;
  /** the word as written on the command line */
  src: string;
}
export interface Redir {
  op: string;
  fd: string;
  target: Word;
}
export interface SimpleCmd {
  assigns: { name: string; value: Word }[];
  words: Word[];
  redirs: Redir[];
  background: boolean;
  /** programs (recursively) of the previous pipeline stage: what feeds this command's stdin */
  pipeFrom: SimpleCmd[];
  /** nested groups/subshells that form this pipeline stage (for `( … ) | sh`) */
  group?: Script;
  /** command substitutions outside any word (inside an arithmetic command `(( … ))`) */
  subs?: Script[];
}
export interface Script {
  cmds: SimpleCmd[];
}

export const MAX_DEPTH = 12;
/** reserved words a subshell may follow (`for …; do ( cd "$d" && make ); done`) */
const SUBSHELL_AFTER = new Set(["do", "then", "else"]);
const OPS = ["&&", "||", ";;", "|&", "|", ";", "&", "\n"];

export interface ParseEnv {
  vars: Map<string, string>;
  depth: number;
}

/** A parser used instead of ours (bash-tree.ts's parseBash), set with setShellParser. */
let impl: ((src: string, env?: Partial<ParseEnv>) => Script) | null = null;

/** Makes parseShell use `fn` (null: our own parser); returns the previous one. */
export function setShellParser(fn: typeof impl): typeof impl {
  const prev = impl;
  impl = fn;
  return prev;
}

export function parseShell(src: string, env?: Partial<ParseEnv>): Script {
  return impl ? impl(src, env) : parseOwn(src, env);
}

/** Our own parser (the default until mvdan/sh passes every test). */
export function parseOwn(src: string, env?: Partial<ParseEnv>): Script {
  if (MARKS.test(src)) throw new ShellParseError("unsupported character in command");
  const p = new Parser(src, { vars: env?.vars ?? new Map(), depth: env?.depth ?? 0 });
  const s = p.parseList(null);
  // here-document bodies were cut out of p.s: the end is p.s's
  if (p.i < p.s.length) throw new ShellParseError(`unexpected "${p.s[p.i]}" at ${p.i}`);
  return s;
}

class Parser {
  i = 0;
  constructor(
    public s: string,
    readonly env: ParseEnv,
  ) {
    if (env.depth > MAX_DEPTH) throw new ShellParseError("command nested too deeply");
  }

  private skipBlanks() {
    while (this.i < this.s.length) {
      const c = this.s[this.i];
      if (c === " " || c === "\t" || c === "\r") this.i++;
      else if (c === "\\" && this.s[this.i + 1] === "\n") this.i += 2;
      else if (c === "#") {
        while (this.i < this.s.length && this.s[this.i] !== "\n") this.i++;
      } else break;
    }
  }

  private peekOp(): string | null {
    for (const op of OPS) if (this.s.startsWith(op, this.i)) return op;
    return null;
  }

  /** Parses `cmd | cmd && cmd ; …` until `term` (")" for subshells/substitutions, "}" for groups). */
  parseList(term: string | null): Script {
    const cmds: SimpleCmd[] = [];
    let prevStage: SimpleCmd[] = [];
    let piped = false;
    for (;;) {
      this.skipBlanks();
      if (this.i >= this.s.length) break;
      const ch = this.s[this.i];
      if (term && ch === term) break;
      if (ch === ")" && !term) {
        // stray ")" (e.g. `case` patterns): treat as a separator rather than fail on harmless scripts
        this.i++;
        continue;
      }
      const op = this.peekOp();
      if (op) {
        this.i += op.length;
        if (op === "|" || op === "|&") piped = true;
        else {
          if (op === "&" && cmds.length) cmds[cmds.length - 1].background = true;
          piped = false;
          prevStage = [];
        }
        continue;
      }
      const stageStart = cmds.length;
      if (ch === "(" && !this.s.startsWith("((", this.i)) {
        this.i++;
        const inner = this.parseList(")");
        this.expect(")");
        const g: SimpleCmd = { assigns: [], words: [], redirs: [], background: false, pipeFrom: piped ? prevStage : [], group: inner };
        this.parseRedirsAfterGroup(g);
        cmds.push(g);
        for (const c of inner.cmds) {
          if (piped && !c.pipeFrom.length) c.pipeFrom = prevStage;
          cmds.push(c);
        }
      } else {
        const c = this.parseSimple(term);
        if (!c) continue;
        if (piped) c.pipeFrom = prevStage;
        cmds.push(c);
        // a `{ …; }` group reads the pipe too (`curl … | { sh; }`)
        if (c.group)
          for (const g of c.group.cmds) {
            if (piped && !g.pipeFrom.length) g.pipeFrom = prevStage;
            cmds.push(g);
          }
      }
      prevStage = flatten(cmds.slice(stageStart));
      piped = false;
    }
    return { cmds };
  }

  private expect(ch: string) {
    if (this.s[this.i] !== ch) throw new ShellParseError(`expected "${ch}"`);
    this.i++;
  }

  private parseRedirsAfterGroup(g: SimpleCmd) {
    for (;;) {
      this.skipBlanks();
      const r = this.tryRedir();
      if (!r) return;
      g.redirs.push(...r);
    }
  }

  /** A redirection; a target that brace expansion turns into several words gives one redirection each. */
  private tryRedir(): Redir[] | null {
    const m = /^(\d*|&)(>>|>\||>&|<<<|<<-|<<|<&|<>|>|<)/.exec(this.s.slice(this.i, this.i + 6));
    if (!m) return null;
    // `<(` / `>(` are process substitutions, not redirections
    if ((m[2] === "<" || m[2] === ">") && this.s[this.i + m[0].length] === "(" && m[1] === "") return null;
    this.i += m[0].length;
    this.skipBlanks();
    const op = m[1] === "&" ? `&${m[2]}` : m[2];
    if (op === "<<" || op === "<<-") {
      const delimWord = this.parseWord();
      if (!delimWord) throw new ShellParseError("here-document without delimiter");
      const body = this.skipHeredoc(restore(delimWord.text), op === "<<-");
      // an unquoted delimiter lets the body's `$(…)`, backticks and `${…}` run
      const target: Word = { ...emptyWord(), quoted: true };
      if (!delimWord.quoted) target.subs = this.heredocSubs(body);
      return [{ op, fd: m[1], target }];
    }
    const target = this.parseWord();
    if (!target) throw new ShellParseError(`redirection "${op}" without target`);
    return expandWord(target).map((t) => ({ op, fd: m[1], target: t }));
  }

  /** Here-document bodies are data, not commands: cut them out (the rest of the `<<EOF` line stays) and return them. */
  private skipHeredoc(delim: string, dash: boolean): string {
    const nl = this.s.indexOf("\n", this.i);
    if (nl < 0) return "";
    const lines = this.s.slice(nl + 1).split("\n");
    const body: string[] = [];
    let consumed = nl + 1;
    for (const line of lines) {
      consumed += line.length + 1;
      if ((dash ? line.replace(/^\t+/, "") : line) === delim) break;
      body.push(line);
    }
    this.s = this.s.slice(0, nl + 1) + this.s.slice(Math.min(consumed, this.s.length));
    return body.join("\n");
  }

  /** The command substitutions an unquoted here-document body runs (`$(…)`, backticks, inside `${…}`). */
  private heredocSubs(body: string): Script[] {
    const p = new Parser(body, { vars: this.env.vars, depth: this.env.depth + 1 });
    const w = emptyWord();
    while (p.i < body.length) {
      const c = body[p.i];
      if (c === "\\") p.i += 2;
      else if (c === "$") p.dollar(w, true);
      else if (c === "`") p.backtick(w);
      else p.i++;
    }
    return w.subs;
  }

  private parseSimple(term: string | null): SimpleCmd | null {
    const cmd: SimpleCmd = { assigns: [], words: [], redirs: [], background: false, pipeFrom: [] };
    for (;;) {
      this.skipBlanks();
      if (this.i >= this.s.length) break;
      const ch = this.s[this.i];
      if (term && ch === term) break;
      if (ch === ")") break;
      if (this.peekOp()) break;
      const r = this.tryRedir();
      if (r) {
        cmd.redirs.push(...r);
        continue;
      }
      // `{ …; }` group at command start
      if (ch === "{" && cmd.words.length === 0 && /[\s]/.test(this.s[this.i + 1] ?? "")) {
        this.i++;
        const inner = this.parseList("}");
        this.expect("}");
        cmd.group = inner;
        continue;
      }
      // `name() {` function definition: drop the `()`
      if (ch === "(" && this.s[this.i + 1] === ")" && cmd.words.length === 1) {
        this.i += 2;
        cmd.words = [];
        continue;
      }
      if (ch === "(" && this.s.startsWith("((", this.i) && (cmd.words.length === 0 || (cmd.words.length === 1 && cmd.words[0].text === "for"))) {
        // arithmetic command (( … )) or `for (( … ))`: its command substitutions still run
        this.i += 2;
        const w = emptyWord();
        this.arithmetic(w);
        cmd.subs = [...(cmd.subs ?? []), ...w.subs];
        continue;
      }
      // `do ( … )`, `then ( … )`: a subshell right after a reserved word is a command of its own
      if (ch === "(" && cmd.words.length && cmd.words.every((w) => !w.quoted && SUBSHELL_AFTER.has(w.text))) {
        this.i++;
        const inner = this.parseList(")");
        this.expect(")");
        cmd.words = [];
        cmd.group = inner;
        continue;
      }
      if (ch === "(") throw new ShellParseError(`unexpected "(" at ${this.i}`);
      const w = this.parseWord();
      if (!w) break;
      // NAME=value or NAME[subscript]=value (the name unquoted; the value may be quoted: `X="rm -rf"`)
      const am =
        cmd.words.length === 0 && /^[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=/.test(w.src)
          ? /^([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])?(\+?=)([\s\S]*)$/.exec(w.text)
          : null;
      if (am) {
        // assignments are neither brace-expanded nor split; an array element is not a variable we follow
        const eq = w.sh.indexOf("=");
        const value = { ...w, text: restore(am[4]), sh: restore(w.sh.slice(eq + 1)), pat: restore(w.pat.slice(w.pat.indexOf("=") + 1)) };
        if (am[2] !== undefined) value.dynamic = true;
        cmd.assigns.push({ name: am[1], value });
        continue;
      }
      cmd.words.push(...expandWord(w));
    }
    // A bare assignment line sets the variable for the rest of the script (`X=rm; $X -rf ~`).
    if (cmd.words.length === 0) for (const a of cmd.assigns) if (!a.value.dynamic) this.env.vars.set(a.name, a.value.text);
    if (cmd.words.length === 0 && cmd.assigns.length === 0 && cmd.redirs.length === 0 && !cmd.group && !cmd.subs) return null;
    // `for NAME in WORD; do …`: with one static word, NAME is that word in the body (several: unknown, as before)
    const fw = cmd.words;
    if (fw.length === 4 && fw[0].text === "for" && !fw[0].quoted && fw[2].text === "in" && !fw[3].dynamic && !fw[3].glob)
      this.env.vars.set(fw[1].text, fw[3].text);
    // `export X=…` / `declare X=…` / `local X=…`
    if (cmd.words.length && ["export", "declare", "local", "readonly", "typeset"].includes(cmd.words[0].text)) {
      for (const w of cmd.words.slice(1)) {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)=([\s\S]*)$/.exec(w.text);
        if (m && !w.dynamic) this.env.vars.set(m[1], m[2]);
      }
    }
    return cmd;
  }

  parseWord(): Word | null {
    const w = emptyWord();
    const start = this.i;
    const s = this.s;
    let braces = 0; // unquoted `{` still open in this word (for brace expansion)
    while (this.i < s.length) {
      const c = s[this.i];
      if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === ";" || c === "&" || c === "|" || c === ")") break;
      if ((c === "<" || c === ">") && s[this.i + 1] === "(") {
        // process substitution <( … )
        const from = this.i;
        this.i += 2;
        const inner = this.sub(")");
        w.subs.push(inner);
        dyn(w, s.slice(from, this.i));
        continue;
      }
      if (c === "<" || c === ">") break;
      if (c === "(") break;
      if (c === "\\") {
        if (s[this.i + 1] === "\n") this.i += 2;
        else {
          lit(w, s[this.i + 1] ?? "", true);
          w.quoted = true;
          this.i += 2;
        }
        continue;
      }
      if (c === "'") {
        const end = s.indexOf("'", this.i + 1);
        if (end < 0) throw new ShellParseError("unterminated single quote");
        lit(w, s.slice(this.i + 1, end), true);
        w.quoted = true;
        this.i = end + 1;
        continue;
      }
      if (c === "$" && s[this.i + 1] === "'") {
        this.i += 2;
        lit(w, this.ansiC(), true);
        w.quoted = true;
        continue;
      }
      if (c === '"' || (c === "$" && s[this.i + 1] === '"')) {
        // `$"…"` is a double-quoted string translated for the locale: the same string here
        this.i += c === "$" ? 2 : 1;
        this.doubleQuoted(w);
        w.quoted = true;
        continue;
      }
      if (c === "$") {
        this.dollar(w, false);
        continue;
      }
      if (c === "`") {
        this.backtick(w);
        continue;
      }
      if (c === "~" && this.i === start && (s[this.i + 1] === "/" || this.i + 1 >= s.length || /[\s;&|)]/.test(s[this.i + 1]))) {
        const home = this.env.vars.get("HOME");
        if (home !== undefined) lit(w, home, true);
        else lit(w, "~", false);
        this.i++;
        continue;
      }
      if (c === "{") {
        braces++;
        mark(w, BRACE_OPEN);
      } else if (c === "," && braces > 0) mark(w, BRACE_COMMA);
      else if (c === "}" && braces > 0) {
        braces--;
        mark(w, BRACE_CLOSE);
      } else lit(w, c, false);
      this.i++;
    }
    if (this.i === start) return null;
    w.src = s.slice(start, this.i);
    w.glob = hasGlob(w.pat);
    return w;
  }

  private sub(term: string): Script {
    const rest = this.s.slice(this.i);
    const p = new Parser(rest, { vars: this.env.vars, depth: this.env.depth + 1 });
    const inner = p.parseList(term);
    // its offsets no longer match ours once it cut a here-document body out
    if (p.s.length !== rest.length) throw new ShellParseError("here-document inside a substitution");
    if (p.s[p.i] !== term) throw new ShellParseError(`unterminated substitution (expected "${term}")`);
    this.i += p.i + 1;
    return inner;
  }

  /** `$…` at this.i: a variable, `${…}`, `$(…)` or `$((…))`. `quoted`: inside double quotes (no splitting, no globbing). */
  private dollar(w: Word, quoted: boolean) {
    const s = this.s;
    const from = this.i;
    const n = s[this.i + 1];
    if (n === "(" && s[this.i + 2] === "(") {
      this.i += 3;
      const a = emptyWord();
      const expr = this.arithmetic(a);
      w.subs.push(...a.subs);
      // a constant number is static; anything else is computed when the command runs
      if (/^\s*\d+\s*$/.test(expr) && !a.dynamic) lit(w, expr.trim(), true);
      else dyn(w, s.slice(from, this.i));
      return;
    }
    if (n === "(") {
      this.i += 2;
      w.subs.push(this.sub(")"));
      dyn(w, s.slice(from, this.i));
      return;
    }
    if (n === "{") {
      this.braceParam(w, quoted);
      return;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*|^[0-9@*#?$!-]/.exec(s.slice(this.i + 1));
    if (!m) {
      lit(w, "$", quoted);
      this.i++;
      return;
    }
    this.i += 1 + m[0].length;
    const v = this.env.vars.get(m[0]);
    if (v !== undefined) this.value(w, v, quoted);
    else dyn(w, s.slice(from, this.i));
  }

  /** A known variable's value: unquoted, it is split into words (IFS) and its `* ? [` are patterns. */
  private value(w: Word, v: string, quoted: boolean) {
    if (quoted) return lit(w, v, true);
    const ifs = this.env.vars.get("IFS") ?? " \t\n";
    for (const ch of v) {
      if (ifs.includes(ch)) mark(w, SPLIT, ch);
      else lit(w, ch, false);
    }
  }

  /** `${name}`, `${name:-default}`, `${#name}`, `${name%pat}`, `${a[i]}` …: what the operand runs is parsed too. */
  private braceParam(w: Word, quoted: boolean) {
    const s = this.s;
    const from = this.i;
    this.i += 2;
    const m = /^([#!]?)([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!-])?/.exec(s.slice(this.i));
    const prefix = m?.[1] ?? "";
    const name = m?.[2] ?? "";
    if (!name && prefix) {
      // `${#}` / `${!}`: the special parameter itself
      this.i += prefix.length;
    } else this.i += m?.[0].length ?? 0;
    const op = /^(?::?[-=+?]|##?|%%?|\/[/#%]?|\^\^?|,,?|@|:)?/.exec(s.slice(this.i))?.[0] ?? "";
    this.i += op.length;
    const operand = emptyWord();
    let depth = 0;
    for (;;) {
      if (this.i >= s.length) throw new ShellParseError("unterminated ${");
      const c = s[this.i];
      if (c === "}" && depth === 0) {
        this.i++;
        break;
      }
      if (c === "{") depth++;
      if (c === "}") depth--;
      if (c === "\\") {
        lit(operand, s[this.i + 1] ?? "", true);
        this.i += 2;
      } else if (c === "'" && !quoted) {
        const end = s.indexOf("'", this.i + 1);
        if (end < 0) throw new ShellParseError("unterminated single quote");
        lit(operand, s.slice(this.i + 1, end), true);
        this.i = end + 1;
      } else if (c === '"') {
        this.i++;
        this.doubleQuoted(operand);
      } else if (c === "$") this.dollar(operand, quoted);
      else if (c === "`") this.backtick(operand);
      else {
        lit(operand, c, quoted);
        this.i++;
      }
    }
    w.subs.push(...operand.subs);
    const source = s.slice(from, this.i);
    const v = prefix ? undefined : this.env.vars.get(name);
    expandParam(w, { value: v, op, prefix: !!prefix, operand, source }, (x) => this.value(w, x, quoted));
  }

  /** The body of `$(( … ))` / `(( … ))` after the opening parentheses, through the closing `))`. */
  private arithmetic(w: Word): string {
    const s = this.s;
    const from = this.i;
    let depth = 0;
    for (;;) {
      if (this.i >= s.length) throw new ShellParseError("unterminated (( ))");
      const c = s[this.i];
      if (c === ")" && depth === 0) {
        if (s[this.i + 1] !== ")") throw new ShellParseError("unterminated (( ))");
        const expr = s.slice(from, this.i);
        this.i += 2;
        return expr;
      }
      if (c === "(") depth++;
      else if (c === ")") depth--;
      if (c === "$") this.dollar(w, true);
      else if (c === "`") this.backtick(w);
      else if (c === "\\") {
        lit(w, s[this.i + 1] ?? "", true);
        this.i += 2;
      } else {
        lit(w, c, true);
        this.i++;
      }
    }
  }

  private backtick(w: Word) {
    const s = this.s;
    let j = this.i + 1;
    let inner = "";
    while (j < s.length && s[j] !== "`") {
      if (s[j] === "\\" && j + 1 < s.length) {
        inner += s[j + 1];
        j += 2;
      } else inner += s[j++];
    }
    if (j >= s.length) throw new ShellParseError("unterminated backquote");
    w.subs.push(parseOwn(inner, { vars: this.env.vars, depth: this.env.depth + 1 }));
    dyn(w, s.slice(this.i, j + 1));
    this.i = j + 1;
  }

  private doubleQuoted(w: Word) {
    const s = this.s;
    while (this.i < s.length && s[this.i] !== '"') {
      const c = s[this.i];
      if (c === "\\" && '$`"\\\n'.includes(s[this.i + 1] ?? "")) {
        if (s[this.i + 1] !== "\n") lit(w, s[this.i + 1], true);
        this.i += 2;
      } else if (c === "$") this.dollar(w, true);
      else if (c === "`") this.backtick(w);
      else {
        lit(w, c, true);
        this.i++;
      }
    }
    if (s[this.i] !== '"') throw new ShellParseError("unterminated double quote");
    this.i++;
  }

  ansiC(): string {
    const s = this.s;
    let out = "";
    const map: Record<string, string> = {
      n: "\n",
      t: "\t",
      r: "\r",
      a: "\x07",
      b: "\b",
      e: "\x1b",
      E: "\x1b",
      f: "\f",
      v: "\v",
      "\\": "\\",
      "'": "'",
      '"': '"',
      "?": "?",
    };
    while (this.i < s.length && s[this.i] !== "'") {
      if (s[this.i] === "\\") {
        const n = s[this.i + 1] ?? "";
        if (map[n] !== undefined) {
          out += map[n];
          this.i += 2;
        } else if (n === "x") {
          const m = /^[0-9a-fA-F]{1,2}/.exec(s.slice(this.i + 2));
          out += m ? String.fromCharCode(Number.parseInt(m[0], 16)) : "x";
          this.i += 2 + (m?.[0].length ?? 0);
        } else if (/[0-7]/.test(n)) {
          const m = /^[0-7]{1,3}/.exec(s.slice(this.i + 1)) as RegExpExecArray;
          out += String.fromCharCode(Number.parseInt(m[0], 8));
          this.i += 1 + m[0].length;
        } else if (n === "u" || n === "U") {
          const m = /^[0-9a-fA-F]{1,8}/.exec(s.slice(this.i + 2));
          out += m ? String.fromCodePoint(Number.parseInt(m[0], 16)) : n;
          this.i += 2 + (m?.[0].length ?? 0);
        } else if (n === "c" && this.i + 2 < s.length) {
          // \cX: control-X
          out += String.fromCharCode(s.charCodeAt(this.i + 2) & 0x1f);
          this.i += 3;
        } else {
          out += `\\${n}`;
          this.i += 2;
        }
      } else out += s[this.i++];
    }
    if (s[this.i] !== "'") throw new ShellParseError("unterminated $'…' quote");
    this.i++;
    return out;
  }
}

// ---- words: three parallel forms (value, file-name pattern, re-read form) and expansion markers ----

export const BRACE_OPEN = "\uE000";
export const BRACE_COMMA = "\uE001";
export const BRACE_CLOSE = "\uE002";
/** followed by the separator character it replaced (kept when the word is not split: assignments) */
export const SPLIT = "\uE003";
export const MARKS = /[\uE000-\uE003]/;
const MAX_WORDS = 512;

export const emptyWord = (): Word => ({ text: "", quoted: false, dynamic: false, glob: false, subs: [], pat: "", sh: "", src: "" });
/** `s` with the file-name pattern characters (and `\\`) escaped. */
export const escapeGlob = (s: string) => s.replace(/[*?[\]\\]/g, "\\$&");

export function lit(w: Word, s: string, quoted: boolean) {
  w.text += s;
  w.sh += s;
  w.pat += quoted ? escapeGlob(s) : s;
}
/** A part whose value is only known when the command runs. */
export function dyn(w: Word, source: string) {
  w.dynamic = true;
  w.sh += source;
}
export function mark(w: Word, m: string, sep = "") {
  w.text += m + sep;
  w.sh += m + sep;
  w.pat += m + sep;
}
/**
 * `${NAME}`, `${NAME:-default}` and the like once the parts are known (both parsers): a known value is
 * used; an unset one with a default takes the default's text but stays dynamic (the environment may set
 * it); anything else is dynamic.
 */
export function expandParam(
  w: Word,
  p: { value: string | undefined; op: string; prefix: boolean; operand: Word; source: string },
  value: (v: string) => void,
): void {
  const { value: v, op, prefix, operand, source } = p;
  if (!prefix && op === "" && v !== undefined) {
    value(v);
    return;
  }
  // a known value trimmed by a static pattern (`${PWD%/*}`, `${f##*/}`) or cut (`${x:0:6}`): computed here as the shell would
  if (!prefix && v !== undefined && !operand.dynamic && (op === "%" || op === "%%" || op === "#" || op === "##" || op === ":")) {
    if (op === ":") {
      const m = /^\s*(\d+)\s*(?::\s*(\d+)\s*)?$/.exec(operand.text);
      if (m) {
        value(v.substr(Number(m[1]), m[2] === undefined ? undefined : Number(m[2])));
        return;
      }
    } else {
      const re = operand.text
        .replace(/[.+^${}()|\\[\]]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".");
      const lazy = op.length === 1 ? re.replace(/\.\*/g, ".*?") : re;
      const rx = op.startsWith("%")
        ? new RegExp(`^(.*${op === "%" ? "" : "?"})(?:${op === "%" ? lazy : re})$`, "s")
        : new RegExp(`^(?:${lazy})(.*)$`, "s");
      const m = rx.exec(v);
      value(m ? m[1] : v);
      return;
    }
  }
  if (!prefix && (op === ":-" || op === "-" || op === ":=" || op === "=")) {
    if (v !== undefined && (v !== "" || !op.startsWith(":"))) {
      value(v);
      return;
    }
    if (v === undefined) {
      // unset on this line, but the environment may set it: the default is what it likely is, not what it is
      w.text += operand.text;
      w.pat += operand.pat;
      dyn(w, source);
      return;
    }
    appendWord(w, operand);
    return;
  }
  dyn(w, source);
}

export function appendWord(w: Word, x: Word) {
  w.text += x.text;
  w.sh += x.sh;
  w.pat += x.pat;
  w.dynamic ||= x.dynamic;
}
/** The markers back to the characters they stand for (no expansion, no splitting). */
export function restore(s: string): string {
  return s
    .replace(/\uE003/g, "")
    .replace(/\uE000/g, "{")
    .replace(/\uE001/g, ",")
    .replace(/\uE002/g, "}");
}

/** Whether a pattern (`pat` form) has an active `*`, `?` or bracket expression. */
export function hasGlob(pat: string): boolean {
  for (let i = 0; i < pat.length; i++) {
    const c = pat[i];
    if (c === "\\") i++;
    else if (c === "*" || c === "?") return true;
    else if (c === "[" && bracketEnd(pat, i) > 0) return true;
  }
  return false;
}
/** Index of the `]` closing the bracket expression opened at `i`, or -1 (then `[` is an ordinary character). */
export function bracketEnd(pat: string, i: number): number {
  let j = i + 1;
  if (pat[j] === "!" || pat[j] === "^") j++;
  if (pat[j] === "]") j++;
  for (; j < pat.length; j++) {
    if (pat[j] === "\\") j++;
    else if (pat[j] === "/") return -1;
    else if (pat[j] === "]") return j;
    else if (pat[j] === "[" && /[:=.]/.test(pat[j + 1] ?? "")) {
      // [:alpha:], [=a=], [.x.] inside a bracket expression
      const close = pat.indexOf(`${pat[j + 1]}]`, j + 2);
      if (close > 0) j = close + 1;
    }
  }
  return -1;
}

interface Piece {
  mark: string; // "" for text, else one of the markers
  text: string;
  pat: string;
  sh: string;
}
/** Brace expansion, then splitting of unquoted variable values: one parsed word → the words the shell passes. */
export function expandWord(w: Word): Word[] {
  if (!MARKS.test(w.text) && !MARKS.test(w.sh)) return [w];
  const split = (s: string) => s.split(/([\uE000-\uE003])/);
  const [t, p, h] = [split(w.text), split(w.pat), split(w.sh)];
  if (t.length !== p.length || t.length !== h.length) throw new ShellParseError("could not expand a word");
  const pieces: Piece[] = [];
  for (let i = 0; i < t.length; i++) {
    if (i % 2 === 1) pieces.push({ mark: t[i], text: "", pat: "", sh: "" });
    else pieces.push({ mark: "", text: t[i], pat: p[i], sh: h[i] });
  }
  const out: Word[] = [];
  const alts = braceExpand(pieces, { n: 0 });
  for (const alt of alts) {
    const fresh = (): Word => ({ ...emptyWord(), quoted: w.quoted, dynamic: w.dynamic, src: w.src });
    const words: Word[] = [fresh()];
    for (const x of alt) {
      if (x.mark === SPLIT) {
        words.push(fresh());
        continue;
      }
      const cur = words[words.length - 1];
      const c = x.mark === BRACE_OPEN ? "{" : x.mark === BRACE_COMMA ? "," : x.mark === BRACE_CLOSE ? "}" : "";
      // the separator character that followed a split marker belongs to neither word
      const skip = !c && cur !== words[0] && cur.text === "" && cur.sh === "" && cur.pat === "" ? 1 : 0;
      cur.text += c || x.text.slice(skip);
      cur.pat += c || x.pat.slice(skip);
      cur.sh += c || x.sh.slice(skip);
    }
    for (const x of words) {
      // unquoted empty results of splitting or brace expansion are removed, as the shell does
      if (x.text === "" && x.sh === "" && (words.length > 1 || alts.length > 1)) continue;
      x.glob = hasGlob(x.pat);
      out.push(x);
    }
  }
  if (out.length > MAX_WORDS) throw new ShellParseError("brace expansion too large");
  if (out.length) out[0].subs = w.subs;
  else out.push({ ...emptyWord(), dynamic: w.dynamic, subs: w.subs, src: w.src });
  return out;
}

function braceExpand(ps: Piece[], count: { n: number }): Piece[][] {
  for (let i = 0; i < ps.length; i++) {
    if (ps[i].mark !== BRACE_OPEN) continue;
    let depth = 0;
    let end = -1;
    const commas: number[] = [];
    for (let j = i; j < ps.length; j++) {
      const m = ps[j].mark;
      if (m === BRACE_OPEN) depth++;
      else if (m === BRACE_CLOSE && --depth === 0) {
        end = j;
        break;
      } else if (m === BRACE_COMMA && depth === 1) commas.push(j);
    }
    if (end < 0) continue;
    const pre = ps.slice(0, i);
    const post = ps.slice(end + 1);
    let alts: Piece[][] = [];
    if (commas.length) {
      let from = i + 1;
      for (const c of [...commas, end]) {
        alts.push(ps.slice(from, c));
        from = c + 1;
      }
    } else {
      const inner = ps.slice(i + 1, end);
      const seq = inner.length === 1 && inner[0].text === inner[0].pat ? sequence(inner[0].text) : null;
      if (!seq) continue;
      alts = seq.map((x) => [{ mark: "", text: x, pat: x, sh: x }]);
    }
    count.n += alts.length;
    if (count.n > MAX_WORDS) throw new ShellParseError("brace expansion too large");
    return alts.flatMap((a) => braceExpand([...pre, ...a, ...post], count));
  }
  return [ps];
}

/** `1..5`, `a..e`, `0..10..2` → its items (null when it is not a sequence or too long). */
function sequence(s: string): string[] | null {
  const m = /^(-?\d+|[a-zA-Z])\.\.(-?\d+|[a-zA-Z])(?:\.\.(-?\d+))?$/.exec(s);
  if (!m) return null;
  const num = /^-?\d/.test(m[1]);
  if (num !== /^-?\d/.test(m[2])) return null;
  const a = num ? Number(m[1]) : m[1].charCodeAt(0);
  const b = num ? Number(m[2]) : m[2].charCodeAt(0);
  const step = Math.abs(Number(m[3] ?? 1)) || 1;
  if (Math.abs(b - a) / step > MAX_WORDS) throw new ShellParseError("brace expansion too large");
  const out: string[] = [];
  for (let x = a; a <= b ? x <= b : x >= b; x += a <= b ? step : -step) out.push(num ? String(x) : String.fromCharCode(x));
  return out;
}

export function flatten(cmds: SimpleCmd[]): SimpleCmd[] {
  const out: SimpleCmd[] = [];
  const walk = (c: SimpleCmd) => {
    out.push(c);
    for (const w of c.words) for (const s of w.subs) s.cmds.forEach(walk);
  };
  cmds.forEach(walk);
  return out;
}

/** The value of a `$'…'` string whose body (between the quotes) is `body`. */
export function decodeAnsiC(body: string): string {
  const p = new Parser(`${body}'`, { vars: new Map(), depth: 0 });
  return p.ansiC();
}
