// A small POSIX-shell parser: enough of bash to see what a command line really runs.
// Quotes ('', "", $'') and backslashes are removed the way the shell removes them; `$(…)`, backticks and
// `<(…)` are parsed recursively; variables assigned earlier on the same line are substituted
// (so `X=rm; $X -rf ~` is seen as `rm -rf ~`). Anything we cannot parse throws: the gate then denies.

export class ShellParseError extends Error {}

export interface Word {
  text: string; // value after quote removal and known-variable expansion
  quoted: boolean; // any part was quoted
  dynamic: boolean; // contains an unknown variable or a command substitution
  glob: boolean; // unquoted * ? [
  subs: Script[]; // command / process substitutions inside the word
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
}
export interface Script {
  cmds: SimpleCmd[];
}

const MAX_DEPTH = 12;
const OPS = ["&&", "||", ";;", "|&", "|", ";", "&", "\n"];

export interface ParseEnv {
  vars: Map<string, string>;
  depth: number;
}

export function parseShell(src: string, env?: Partial<ParseEnv>): Script {
  const p = new Parser(src, { vars: env?.vars ?? new Map(), depth: env?.depth ?? 0 });
  const s = p.parseList(null);
  if (p.i < src.length) throw new ShellParseError(`unexpected "${src[p.i]}" at ${p.i}`);
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
        if (c.group) for (const g of c.group.cmds) cmds.push(g);
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
      g.redirs.push(r);
    }
  }

  private tryRedir(): Redir | null {
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
      this.skipHeredoc(delimWord.text);
      return { op, fd: m[1], target: { text: "", quoted: true, dynamic: false, glob: false, subs: [] } };
    }
    const target = this.parseWord();
    if (!target) throw new ShellParseError(`redirection "${op}" without target`);
    return { op, fd: m[1], target };
  }

  /** Here-document bodies are data, not commands: drop them (the rest of the `<<EOF` line stays). */
  private skipHeredoc(delim: string) {
    const nl = this.s.indexOf("\n", this.i);
    if (nl < 0) return;
    const lines = this.s.slice(nl + 1).split("\n");
    let consumed = nl + 1;
    for (const line of lines) {
      consumed += line.length + 1;
      if (line.replace(/^\t+/, "") === delim) break;
    }
    this.s = this.s.slice(0, nl + 1) + this.s.slice(Math.min(consumed, this.s.length));
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
        cmd.redirs.push(r);
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
      if (ch === "(" && cmd.words.length === 0 && this.s.startsWith("((", this.i)) {
        // arithmetic command (( … ))
        const end = this.s.indexOf("))", this.i);
        if (end < 0) throw new ShellParseError("unterminated (( ))");
        this.i = end + 2;
        continue;
      }
      if (ch === "(") throw new ShellParseError(`unexpected "(" at ${this.i}`);
      const w = this.parseWord();
      if (!w) break;
      const am = cmd.words.length === 0 && !w.quoted ? /^([A-Za-z_][A-Za-z0-9_]*)(\+?=)([\s\S]*)$/.exec(w.text) : null;
      if (am) {
        const value = { ...w, text: am[3] };
        cmd.assigns.push({ name: am[1], value });
        continue;
      }
      cmd.words.push(w);
    }
    // A bare assignment line sets the variable for the rest of the script (`X=rm; $X -rf ~`).
    if (cmd.words.length === 0) for (const a of cmd.assigns) if (!a.value.dynamic) this.env.vars.set(a.name, a.value.text);
    if (cmd.words.length === 0 && cmd.assigns.length === 0 && cmd.redirs.length === 0 && !cmd.group) return null;
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
    const w: Word = { text: "", quoted: false, dynamic: false, glob: false, subs: [] };
    const start = this.i;
    const s = this.s;
    while (this.i < s.length) {
      const c = s[this.i];
      if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === ";" || c === "&" || c === "|" || c === ")") break;
      if ((c === "<" || c === ">") && s[this.i + 1] === "(") {
        // process substitution <( … )
        this.i += 2;
        const inner = this.sub(")");
        w.subs.push(inner);
        w.dynamic = true;
        continue;
      }
      if (c === "<" || c === ">") break;
      if (c === "(") {
        if (this.i === start) break;
        break;
      }
      if (c === "\\") {
        if (s[this.i + 1] === "\n") this.i += 2;
        else {
          w.text += s[this.i + 1] ?? "";
          w.quoted = true;
          this.i += 2;
        }
        continue;
      }
      if (c === "'") {
        const end = s.indexOf("'", this.i + 1);
        if (end < 0) throw new ShellParseError("unterminated single quote");
        w.text += s.slice(this.i + 1, end);
        w.quoted = true;
        this.i = end + 1;
        continue;
      }
      if (c === "$" && s[this.i + 1] === "'") {
        this.i += 2;
        w.text += this.ansiC();
        w.quoted = true;
        continue;
      }
      if (c === '"') {
        this.i++;
        this.doubleQuoted(w);
        w.quoted = true;
        continue;
      }
      if (c === "$") {
        this.dollar(w);
        continue;
      }
      if (c === "`") {
        this.backtick(w);
        continue;
      }
      if (c === "~" && this.i === start && (s[this.i + 1] === "/" || this.i + 1 >= s.length || /[\s;&|)]/.test(s[this.i + 1]))) {
        w.text += this.env.vars.get("HOME") ?? "~";
        this.i++;
        continue;
      }
      if (c === "*" || c === "?" || c === "[") w.glob = true;
      w.text += c;
      this.i++;
    }
    return this.i === start ? null : w;
  }

  private sub(term: string): Script {
    const p = new Parser(this.s.slice(this.i), { vars: this.env.vars, depth: this.env.depth + 1 });
    const inner = p.parseList(term);
    if (p.s[p.i] !== term) throw new ShellParseError(`unterminated substitution (expected "${term}")`);
    this.i += p.i + 1;
    return inner;
  }

  private dollar(w: Word) {
    const s = this.s;
    const n = s[this.i + 1];
    if (n === "(" && s[this.i + 2] === "(") {
      const end = s.indexOf("))", this.i);
      if (end < 0) throw new ShellParseError("unterminated $(( ))");
      this.i = end + 2;
      w.text += "0";
      return;
    }
    if (n === "(") {
      this.i += 2;
      w.subs.push(this.sub(")"));
      w.dynamic = true;
      return;
    }
    if (n === "{") {
      const end = s.indexOf("}", this.i);
      if (end < 0) throw new ShellParseError("unterminated ${");
      const inner = s.slice(this.i + 2, end);
      this.i = end + 1;
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(inner)?.[0] ?? "";
      const v = this.env.vars.get(name);
      if (v !== undefined && name === inner) w.text += v;
      else {
        const def = /^[A-Za-z_][A-Za-z0-9_]*:?-([\s\S]*)$/.exec(inner);
        if (v === undefined && def) w.text += def[1];
        else w.dynamic = true;
      }
      return;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*|^[0-9@*#?$!-]/.exec(s.slice(this.i + 1));
    if (!m) {
      w.text += "$";
      this.i++;
      return;
    }
    this.i += 1 + m[0].length;
    const v = this.env.vars.get(m[0]);
    if (v !== undefined) w.text += v;
    else w.dynamic = true;
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
    w.subs.push(parseShell(inner, { vars: this.env.vars, depth: this.env.depth + 1 }));
    w.dynamic = true;
    this.i = j + 1;
  }

  private doubleQuoted(w: Word) {
    const s = this.s;
    while (this.i < s.length && s[this.i] !== '"') {
      const c = s[this.i];
      if (c === "\\" && '$`"\\\n'.includes(s[this.i + 1] ?? "")) {
        if (s[this.i + 1] !== "\n") w.text += s[this.i + 1];
        this.i += 2;
      } else if (c === "$") this.dollar(w);
      else if (c === "`") this.backtick(w);
      else {
        w.text += c;
        this.i++;
      }
    }
    if (s[this.i] !== '"') throw new ShellParseError("unterminated double quote");
    this.i++;
  }

  private ansiC(): string {
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

function flatten(cmds: SimpleCmd[]): SimpleCmd[] {
  const out: SimpleCmd[] = [];
  const walk = (c: SimpleCmd) => {
    out.push(c);
    for (const w of c.words) for (const s of w.subs) s.cmds.forEach(walk);
  };
  cmds.forEach(walk);
  return out;
}
