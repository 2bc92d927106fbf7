// Shell file-name patterns against the rules' path patterns. A command like `cat ~/.openclaw/.e*` names
// no protected file, yet the shell expands it to `.env`. The rules are Cedar `like` patterns over resolved
// paths (`*/.env`, `*.key`, `*/.ssh/id_*`); whether a shell pattern COULD expand to a path a rule matches
// is whether the two languages intersect. `witness` decides that exactly (a breadth-first search over the
// product of the two automata, the rule's `pathNotLike` exclusions included) and returns the shortest such
// path, which the engine then puts to Cedar like any other path: the rules stay as they are.
//
// Shell semantics followed: `*` and `?` never match `/`; at the start of a name they do not match a
// leading `.` unless the command turns dotglob on (`shopt -s dotglob`, `GLOBIGNORE`, zsh `globdots`);
// a bracket expression may match a leading `.` (older bash and some shells do); `**` may cross `/`
// (bash globstar, zsh); `.*` and `.?` may be `.` or `..` (dash, bash before 5.2), see `variants`.

import { posix } from "node:path";
import { bracketEnd } from "./shell/parse.ts";

type Item = string | [string, string];
type GTok = { k: "c"; c: string } | { k: "?" } | { k: "*" } | { k: "**" } | { k: "["; neg: boolean; items: Item[]; any: boolean };
type LTok = { k: "c"; c: string } | { k: "*" };

const POSIX_CLASS: Record<string, Item[]> = {
  alpha: [
    ["a", "z"],
    ["A", "Z"],
  ],
  digit: [["0", "9"]],
  alnum: [
    ["a", "z"],
    ["A", "Z"],
    ["0", "9"],
  ],
  upper: [["A", "Z"]],
  lower: [["a", "z"]],
  xdigit: [
    ["0", "9"],
    ["a", "f"],
    ["A", "F"],
  ],
  space: [" ", "\t", "\n", "\r", "\f", "\v"],
  blank: [" ", "\t"],
};

/** A pattern in the parser's `pat` form (quoted characters escaped with `\`) → tokens. */
export function globTokens(pat: string): GTok[] {
  const out: GTok[] = [];
  for (let i = 0; i < pat.length; i++) {
    const c = pat[i];
    if (c === "\\") out.push({ k: "c", c: pat[++i] ?? "\\" });
    else if (c === "*") {
      let j = i;
      while (pat[j + 1] === "*") j++;
      out.push({ k: j > i ? "**" : "*" });
      i = j;
    } else if (c === "?") out.push({ k: "?" });
    else if (c === "[" && bracketEnd(pat, i) > 0) {
      const end = bracketEnd(pat, i);
      let j = i + 1;
      const neg = pat[j] === "!" || pat[j] === "^";
      if (neg) j++;
      const items: Item[] = [];
      let any = false;
      const first = j;
      while (j < end) {
        const cls = j === first || pat[j] !== "]" ? /^\[:([a-z]+):\]/.exec(pat.slice(j, end + 1)) : null;
        if (cls) {
          const known = POSIX_CLASS[cls[1]];
          if (known) items.push(...known);
          else any = true; // a class we do not model: assume it may match anything
          j += cls[0].length;
          continue;
        }
        let ch = pat[j];
        if (ch === "\\") ch = pat[++j] ?? "\\";
        if (pat[j + 1] === "-" && j + 2 < end) {
          let hi = pat[j + 2];
          let k = j + 2;
          if (hi === "\\") hi = pat[++k] ?? "\\";
          items.push([ch, hi]);
          j = k + 1;
        } else {
          items.push(ch);
          j++;
        }
      }
      out.push({ k: "[", neg, items, any });
      i = end;
    } else out.push({ k: "c", c });
  }
  return out;
}

function likeTokens(glob: string): LTok[] {
  const out: LTok[] = [];
  for (let i = 0; i < glob.length; i++) {
    if (glob[i] === "\\" && glob[i + 1] === "*") {
      out.push({ k: "c", c: "*" });
      i++;
    } else if (glob[i] === "*") out.push({ k: "*" });
    else out.push({ k: "c", c: glob[i] });
  }
  return out;
}

const inItems = (items: Item[], ch: string) => items.some((x) => (typeof x === "string" ? x === ch : ch >= x[0] && ch <= x[1]));
const member = (t: Extract<GTok, { k: "[" }>, ch: string) => (t.any ? true : inItems(t.items, ch) !== t.neg);

// ---- automata over position sets ----

function gClose(g: GTok[], set: number[]): number[] {
  const out = new Set(set);
  for (const p of set) for (let q = p; q < g.length && (g[q].k === "*" || g[q].k === "**"); q++) out.add(q + 1);
  return [...out].sort((a, b) => a - b);
}
function gStep(g: GTok[], set: number[], ch: string, segStart: boolean, dotglob: boolean): number[] {
  // A name's leading `.` is matched only by a `.` (or bracket expression) that starts the name in the
  // pattern: `*.json` does not match `.json`.
  const hiddenDot = segStart && ch === "." && !dotglob;
  const next: number[] = [];
  for (const p of set) {
    const t = g[p];
    if (!t) continue;
    if (hiddenDot && p > 0 && !(g[p - 1].k === "c" && (g[p - 1] as { c: string }).c === "/")) continue;
    if (t.k === "c") {
      if (t.c === ch) next.push(p + 1);
    } else if (t.k === "?") {
      if (ch !== "/" && !hiddenDot) next.push(p + 1);
    } else if (t.k === "*") {
      if (ch !== "/" && !hiddenDot) next.push(p);
    } else if (t.k === "**") {
      if (!hiddenDot) next.push(p);
    } else if (ch !== "/" && member(t, ch)) next.push(p + 1);
  }
  return gClose(g, next);
}
function lClose(l: LTok[], set: number[]): number[] {
  const out = new Set(set);
  for (const p of set) for (let q = p; q < l.length && l[q].k === "*"; q++) out.add(q + 1);
  return [...out].sort((a, b) => a - b);
}
function lStep(l: LTok[], set: number[], ch: string): number[] {
  const next: number[] = [];
  for (const p of set) {
    const t = l[p];
    if (!t) continue;
    if (t.k === "*") next.push(p);
    else if (t.c === ch) next.push(p + 1);
  }
  return lClose(l, next);
}

/** Cheap necessary condition: the literal ends of the two patterns agree (most rules fail here). */
function endsAgree(g: GTok[], l: LTok[]): boolean {
  for (let i = g.length - 1, j = l.length - 1; i >= 0 && j >= 0; i--, j--) {
    const a = g[i];
    const b = l[j];
    if (a.k !== "c" || b.k !== "c") break;
    if (a.c !== b.c) return false;
  }
  for (let i = 0; i < g.length && i < l.length; i++) {
    const a = g[i];
    const b = l[i];
    if (a.k !== "c" || b.k !== "c") break;
    if (a.c !== b.c) return false;
  }
  return true;
}

const MAX_STATES = 20000;

/** A character no pattern mentions: every such character behaves alike, so one stands for all. */
function freshChar(g: GTok[], ls: LTok[][]): string {
  const used = new Set<string>();
  for (const t of g) {
    if (t.k === "c") used.add(t.c);
    else if (t.k === "[") for (const x of t.items) for (const c of typeof x === "string" ? [x] : x) used.add(c);
  }
  for (const l of ls) for (const t of l) if (t.k === "c") used.add(t.c);
  return [..."xqzjkw_0-~"].find((c) => !used.has(c)) ?? "\u00e9";
}

/** The characters worth trying from a state: the free character first (where a wildcard may be anything
 * the witness shows an `x`), then those a live literal position of any pattern wants, the members and
 * bounds of live bracket expressions, `/` and `.`. Any other character acts exactly like the free one. */
function candidates(g: GTok[], l: LTok[], ns: LTok[][], s: { g: number[]; l: number[]; n: number[][] }, fresh: string): string[] {
  const out = new Set<string>([fresh]);
  const lit = (toks: LTok[], set: number[]) => {
    for (const p of set) {
      const t = toks[p];
      if (t?.k === "c") out.add(t.c);
    }
  };
  for (const p of s.g) {
    const t = g[p];
    if (!t) continue;
    if (t.k === "c") out.add(t.c);
    else if (t.k === "[")
      for (const x of t.items)
        if (typeof x === "string") out.add(x);
        else for (const c of [x[0], x[1], String.fromCharCode(x[0].charCodeAt(0) + 1)]) out.add(c);
  }
  lit(l, s.l);
  for (const [i, set] of s.n.entries()) lit(ns[i], set);
  out.add("/");
  out.add(".");
  return [...out];
}

const tokenCache = new Map<string, GTok[]>();
const likeCache = new Map<string, LTok[]>();
function memo<T>(cache: Map<string, T>, key: string, make: (k: string) => T): T {
  let v = cache.get(key);
  if (v === undefined) {
    if (cache.size >= 4096) cache.clear();
    v = make(key);
    cache.set(key, v);
  }
  return v;
}

/** A path the shell pattern `pat` could expand to that `like` matches and no `notLike` matches, or null. */
export function witness(pat: string, like: string, notLike: string[] = [], dotglob = false): string | null {
  const g = memo(tokenCache, pat, globTokens);
  const l = memo(likeCache, like, likeTokens);
  if (!endsAgree(g, l) || !runsFit(g, l, dotglob) || !lastNamesMeet(g, l, dotglob)) return null;
  const ns = notLike.map((x) => memo(likeCache, x, likeTokens));
  // Most often the shortest path of the two patterns is not excluded: search without the exclusions
  // first (a small product), and only then with them (each one multiplies the states).
  const quick = search(g, l, [], dotglob, freshChar(g, [l, ...ns]));
  if (quick === null || !ns.some((n) => accepts(n, quick))) return quick;
  return search(g, l, ns, dotglob, freshChar(g, [l, ...ns]));
}

function accepts(l: LTok[], s: string): boolean {
  let set = lClose(l, [0]);
  for (const ch of s) {
    set = lStep(l, set, ch);
    if (!set.length) return false;
  }
  return set.includes(l.length);
}

/** Necessary condition: the last name of the witness is spelled by the shell pattern's last name (no `/`
 * there unless `**`) and by what follows the rule pattern's last `/`: two short patterns. */
function lastNamesMeet(g: GTok[], l: LTok[], dotglob: boolean): boolean {
  let gi = -1;
  for (let i = g.length - 1; i >= 0; i--) {
    const t = g[i];
    if (t.k === "**") return true;
    if (t.k === "c" && t.c === "/") {
      gi = i;
      break;
    }
  }
  let li = -1;
  for (let i = l.length - 1; i >= 0; i--) {
    const t = l[i];
    if (t.k === "c" && t.c === "/") {
      li = i;
      break;
    }
  }
  if (gi < 0 || li < 0) return true;
  const gs = g.slice(gi + 1);
  const ls = l.slice(li + 1);
  return search(gs, ls, [], dotglob, freshChar(gs, [ls]), 1) !== null;
}

function search(g: GTok[], l: LTok[], ns: LTok[][], dotglob: boolean, fresh: string, seg0: 0 | 1 = 0): string | null {
  // seg: 0 before the first character, 1 just after a `/`, 2 inside a name (names are never empty)
  type State = { g: number[]; l: number[]; n: number[][]; seg: 0 | 1 | 2 };
  const keyOf = (s: State) => `${s.g.join(",")}|${s.l.join(",")}|${s.n.map((x) => x.join(",")).join(";")}|${s.seg}`;
  // The leading literal run of the shell pattern (`/home/u/.openclaw/workspace/`) has one way through:
  // walk it directly, then search from its end.
  let prefix = "";
  let start: State = { g: gClose(g, [0]), l: lClose(l, [0]), n: ns.map((x) => lClose(x, [0])), seg: seg0 };
  for (let i = 0; i < g.length; i++) {
    const t = g[i];
    if (t.k !== "c" || (t.c === "/" && start.seg === 1)) break;
    const nl = lStep(l, start.l, t.c);
    if (!nl.length) return null;
    start = { g: gClose(g, [i + 1]), l: nl, n: start.n.map((x, j) => lStep(ns[j], x, t.c)), seg: t.c === "/" ? 1 : 2 };
    prefix += t.c;
  }
  const parent = new Map<string, { prev: string; ch: string } | null>([[keyOf(start), null]]);
  const queue: [State, string][] = [[start, keyOf(start)]];
  for (let qi = 0; qi < queue.length; qi++) {
    const [s, key] = queue[qi];
    if (s.seg === 2 && s.g.includes(g.length) && s.l.includes(l.length) && s.n.every((x, i) => !x.includes(ns[i].length))) {
      let out = "";
      for (let k: string | undefined = key; k !== undefined; ) {
        const p = parent.get(k);
        if (!p) break;
        out = p.ch + out;
        k = p.prev;
      }
      return prefix + out;
    }
    for (const ch of candidates(g, l, ns, s, fresh)) {
      if (ch === "/" && s.seg === 1) continue;
      const ng = gStep(g, s.g, ch, s.seg !== 2, dotglob);
      if (!ng.length) continue;
      const nl = lStep(l, s.l, ch);
      if (!nl.length) continue;
      const next: State = { g: ng, l: nl, n: s.n.map((x, i) => lStep(ns[i], x, ch)), seg: ch === "/" ? 1 : 2 };
      const k = keyOf(next);
      if (parent.has(k)) continue;
      parent.set(k, { prev: key, ch });
      // never seen in practice; if a pattern ever is this complex, the gate fails closed on it
      if (parent.size > MAX_STATES) throw new Error("a file-name pattern is too complex to compare with the protected paths");
      queue.push([next, k]);
    }
  }
  return null;
}

// Cheap necessary condition: each literal run of the rule's pattern (the `/.ssh/id_` of `*/.ssh/id_*`)
// is spelled by some stretch of the shell pattern (a `*` may spell any part of it without a `/`).
function runsFit(g: GTok[], l: LTok[], dotglob: boolean): boolean {
  const runs: string[] = [];
  let cur = "";
  for (const t of l) {
    if (t.k === "c") cur += t.c;
    else if (cur) {
      runs.push(cur);
      cur = "";
    }
  }
  if (cur) runs.push(cur);
  const all = g.map((_, i) => i);
  for (const r of runs) {
    // start anywhere (also inside a `*`); dot rules ignored: this only has to be necessary
    let set = all;
    for (let i = 0; i < r.length && set.length; i++) set = gStep(g, set, r[i], r[i - 1] === "/", dotglob);
    if (!set.length) return false;
  }
  return true;
}

/** Whether a one-name pattern (no `/`) can match the name `name` (`.` or `..`). */
function nameMatches(seg: string, name: string): boolean {
  const g = globTokens(seg);
  let set = gClose(g, [0]);
  for (let i = 0; i < name.length && set.length; i++) set = gStep(g, set, name[i], i === 0, false);
  return set.includes(g.length);
}

/** `unescape(pat)`: the pattern as a plain path (what the rules see when it is taken literally). */
export const unescapePattern = (pat: string) => pat.replace(/\\([\s\S])/g, "$1");

/** The pattern itself plus, for each name in it that can match `.` or `..` (`.?`, `.*`), the pattern with
 * that name being `.` / `..`, normalised: `cat .?/.env` may read `../.env`. At most three such names. */
export function variants(pat: string): string[] {
  const segs = pat.split(/(?<!\\)\//);
  const choices = segs.map((s) =>
    s && s !== "." && s !== ".." && /[*?[]/.test(s) ? ([".", ".."].filter((n) => nameMatches(s, n)) as string[]) : [],
  );
  const idx = choices.flatMap((c, i) => (c.length ? [i] : [])).slice(0, 3);
  const out = new Set<string>([pat]);
  const walk = (k: number, cur: string[]) => {
    if (k === idx.length) {
      const n = posix.normalize(cur.join("/"));
      out.add(n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n);
      return;
    }
    const i = idx[k];
    walk(k + 1, cur);
    for (const name of choices[i]) {
      const next = [...cur];
      next[i] = name;
      walk(k + 1, next);
    }
  };
  if (idx.length) walk(0, segs);
  return [...out];
}
