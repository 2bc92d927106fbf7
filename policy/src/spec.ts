// A rule's structured form. One RuleSpec compiles to one Cedar policy (its Cedar text) and to a TS
// "guard" that evaluates the very same condition in JS. The gate uses the guard only to skip Cedar
// calls that cannot match (evaluating every rule for every call is what makes other gates slow);
// Cedar stays the decider. Specs are plain JSON so they can be stored, diffed and tested.

export type Effect = "allow" | "confirm" | "deny";

/** What one normalised operation is. A tool call becomes one or more ops (see gate/src/context.ts). */
export type OpKind =
  | "tool" // every call: the tool itself
  | "shell" // the whole exec command line
  | "exec" // one simple command inside it
  | "read"
  | "write"
  | "delete"
  | "access" // a path named by a command whose effect is unknown
  | "net" // an outbound connection (port -1: not known, e.g. an ssh config alias)
  | "listen" // a local port listened on or exposed (tunnels, port forwards, published container ports)
  | "browse" // browser / web_fetch page visit
  | "download" // saving remote content to a file
  | "message" // sending a message on a channel
  | "cron"
  | "redact"; // a secret found in tool output (action tool_result)

/** All present fields are ANDed. List fields mean "any of". Globs use Cedar `like` semantics (`*`). */
export interface Cond {
  op: OpKind[];
  tool?: string[];
  program?: string[];
  interp?: string[];
  argsAny?: string[];
  /** the exec op's program exercises any of these capabilities (gate/src/capabilities) */
  capsAny?: string[];
  /** … and none of these (`script`: it runs a file from disk, so its standard input is data) */
  capsNone?: string[];
  flagsAll?: string[][];
  argvLike?: string[];
  lineLike?: string[];
  codeLike?: string[];
  feedsAny?: string[];
  pathLike?: string[];
  pathNotLike?: string[];
  inWorkspace?: boolean;
  hostLike?: string[];
  hostPublic?: boolean;
  port?: number[];
  upload?: boolean;
  channel?: string[];
  phoneLike?: string[];
  phoneNotLike?: string[]; // true when phone is empty or matches none
  contentLike?: string[];
  actionIn?: string[];
  maxBytesOver?: number;
  background?: boolean;
  sudo?: boolean;
  dynamic?: boolean;
  outside?: boolean;
  sandbox?: boolean;
  secret?: boolean;
  kind?: string[];
  textLike?: string[];
  mode?: string[];
  scheduleLike?: string[];
}

export interface RuleSpec {
  id: string;
  effect: Effect;
  description: string;
  any: Cond[]; // OR of conditions
}

/** The normalised context of one op. Every field is always present (a uniform record keeps Cedar
 * from raising "attribute not found", which would fail closed on harmless calls). */
export interface OpContext {
  op: OpKind;
  tool: string;
  agent: string;
  program: string;
  programPath: string;
  interp: string;
  args: string[];
  flags: string[];
  /** exec: the capabilities its arguments trigger (read, write, delete, exec, shell, code, net, listen, priv, kernel, …) */
  caps: string[];
  argv: string;
  line: string;
  code: string;
  feeds: string[];
  path: string;
  inWorkspace: boolean;
  host: string;
  hostPublic: boolean;
  port: number;
  url: string;
  upload: boolean;
  channel: string;
  target: string;
  phone: string;
  content: string;
  action: string;
  maxBytes: number;
  background: boolean;
  sudo: boolean;
  dynamic: boolean;
  outside: boolean;
  sandbox: boolean;
  secret: boolean;
  kind: string;
  text: string;
  mode: string;
  schedule: string;
}

export function emptyContext(op: OpKind, tool: string, agent: string): OpContext {
  return {
    op,
    tool,
    agent,
    program: "",
    programPath: "",
    interp: "",
    args: [],
    flags: [],
    caps: [],
    argv: "",
    line: "",
    code: "",
    feeds: [],
    path: "",
    inWorkspace: false,
    host: "",
    hostPublic: false,
    port: -1,
    url: "",
    upload: false,
    channel: "",
    target: "",
    phone: "",
    content: "",
    action: "",
    maxBytes: -1,
    background: false,
    sudo: false,
    dynamic: false,
    outside: false,
    sandbox: false,
    secret: false,
    kind: "",
    text: "",
    mode: "",
    schedule: "",
  };
}

// ---------- Cedar text ----------

export function cedarString(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\t/g, "\\t").replace(/\0/g, "\\0")}"`;
}
/** A glob for Cedar `like`: `*` is the wildcard; backslashes and quotes escaped. */
function cedarLike(glob: string): string {
  // `\*` stays the Cedar escape for a literal star; every other backslash is a literal backslash.
  return cedarString(glob.replace(/\\\*/g, "\u0000STAR")).replace(/\\0STAR/g, "\\*");
}
const strSet = (xs: string[]) => `[${xs.map(cedarString).join(", ")}]`;
const likeAny = (field: string, globs: string[]) =>
  globs.length === 1 ? `context.${field} like ${cedarLike(globs[0])}` : `(${globs.map((g) => `context.${field} like ${cedarLike(g)}`).join(" || ")})`;
/** `flat`: the same tests as chains of `==` / `.contains(…)` joined by `||`. Cedar evaluates them the same
 * way (true, false or the same error) but builds no set literal on every evaluation: a rule that applies
 * costs the engine ~half as much. The engine prepares this form; the form shown to people stays the sets. */
const inSet = (field: string, xs: string[], flat = false) =>
  xs.length === 1
    ? `context.${field} == ${cedarString(xs[0])}`
    : flat
      ? `(${xs.map((x) => `context.${field} == ${cedarString(x)}`).join(" || ")})`
      : `${strSet(xs)}.contains(context.${field})`;
const anyOf = (field: string, xs: string[], flat: boolean) =>
  flat ? `(${xs.map((x) => `context.${field}.contains(${cedarString(x)})`).join(" || ")})` : `context.${field}.containsAny(${strSet(xs)})`;

export function condToCedar(c: Cond, flat = false): string {
  const parts: string[] = [inSet("op", c.op, flat)];
  if (c.tool) parts.push(inSet("tool", c.tool, flat));
  if (c.program) parts.push(inSet("program", c.program, flat));
  if (c.interp) parts.push(inSet("interp", c.interp, flat));
  if (c.argsAny) parts.push(anyOf("args", c.argsAny, flat));
  if (c.capsAny) parts.push(anyOf("caps", c.capsAny, flat));
  if (c.capsNone) parts.push(`!${anyOf("caps", c.capsNone, flat)}`);
  if (c.flagsAll) for (const g of c.flagsAll) parts.push(anyOf("flags", g, flat));
  if (c.argvLike) parts.push(likeAny("argv", c.argvLike));
  if (c.lineLike) parts.push(likeAny("line", c.lineLike));
  if (c.codeLike) parts.push(likeAny("code", c.codeLike));
  if (c.feedsAny) parts.push(anyOf("feeds", c.feedsAny, flat));
  if (c.pathLike) parts.push(likeAny("path", c.pathLike));
  if (c.pathNotLike) parts.push(`!(${likeAny("path", c.pathNotLike)})`);
  if (c.inWorkspace !== undefined) parts.push(`context.inWorkspace == ${c.inWorkspace}`);
  if (c.hostLike) parts.push(likeAny("host", c.hostLike));
  if (c.hostPublic !== undefined) parts.push(`context.hostPublic == ${c.hostPublic}`);
  if (c.port)
    parts.push(
      c.port.length === 1
        ? `context.port == ${c.port[0]}`
        : flat
          ? `(${c.port.map((p) => `context.port == ${p}`).join(" || ")})`
          : `[${c.port.join(", ")}].contains(context.port)`,
    );
  if (c.upload !== undefined) parts.push(`context.upload == ${c.upload}`);
  if (c.channel) parts.push(inSet("channel", c.channel, flat));
  if (c.phoneLike) parts.push(likeAny("phone", c.phoneLike));
  if (c.phoneNotLike) parts.push(`(context.phone == "" || !(${likeAny("phone", c.phoneNotLike)}))`);
  if (c.contentLike) parts.push(likeAny("content", c.contentLike));
  if (c.actionIn) parts.push(inSet("action", c.actionIn, flat));
  if (c.maxBytesOver !== undefined) parts.push(`(context.maxBytes < 0 || context.maxBytes > ${Math.floor(c.maxBytesOver)})`);
  if (c.background !== undefined) parts.push(`context.background == ${c.background}`);
  if (c.sudo !== undefined) parts.push(`context.sudo == ${c.sudo}`);
  if (c.dynamic !== undefined) parts.push(`context.dynamic == ${c.dynamic}`);
  if (c.outside !== undefined) parts.push(`context.outside == ${c.outside}`);
  if (c.sandbox !== undefined) parts.push(`context.sandbox == ${c.sandbox}`);
  if (c.secret !== undefined) parts.push(`context.secret == ${c.secret}`);
  if (c.kind) parts.push(inSet("kind", c.kind, flat));
  if (c.textLike) parts.push(likeAny("text", c.textLike));
  if (c.mode) parts.push(inSet("mode", c.mode, flat));
  if (c.scheduleLike) parts.push(likeAny("schedule", c.scheduleLike));
  return parts.join(" && ");
}

/** One Cedar policy per spec. `@id` carries the rule id; the engine also keys the policy set by it. */
export function specToCedar(s: RuleSpec): string {
  return cedarOf(s, false);
}
/** The same policy with its sets as chains of `==` / `.contains(…)` (see `inSet`): what the engine evaluates. */
export function specToCedarFlat(s: RuleSpec): string {
  return cedarOf(s, true);
}
function cedarOf(s: RuleSpec, flat: boolean): string {
  const kind = s.effect === "deny" ? "forbid" : "permit";
  const action = s.any.every((c) => c.op.length === 1 && c.op[0] === "redact") ? "tool_result" : "tool_call";
  const when = s.any.length === 1 ? condToCedar(s.any[0], flat) : s.any.map((c) => `(${condToCedar(c, flat)})`).join(" ||\n    ");
  return `@id(${cedarString(s.id)})\n@effect(${cedarString(s.effect)})\n@description(${cedarString(s.description)})\n${kind}(principal, action == Action::"${action}", resource)\nwhen {\n    ${when}\n};`;
}

// ---------- TS guard (mirror of the Cedar condition) ----------

const globCache = new Map<string, RegExp>();
/** Cedar `like`: `*` matches any sequence (including `/`), `\*` a literal star; whole-string match. */
export function globToRegExp(glob: string): RegExp {
  let re = globCache.get(glob);
  if (re) return re;
  let src = "^";
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === "\\" && glob[i + 1] === "*") {
      src += "\\*";
      i++;
    } else if (ch === "*") src += "[\\s\\S]*";
    else src += ch.replace(/[.+?^${}()|[\]\\/-]/g, "\\$&");
  }
  re = new RegExp(`${src}$`);
  globCache.set(glob, re);
  return re;
}
export const like = (value: string, glob: string) => globToRegExp(glob).test(value);
/** The same match as a search: `^[\s\S]*X` is "X somewhere" and `X[\s\S]*$` is "X, then anything", and
 * V8 finds a literal with a fast scan instead of trying every alternative of a list from the end back. */
function searchSource(glob: string): string {
  let src = globToRegExp(glob).source;
  if (src.startsWith("^[\\s\\S]*")) src = src.slice(8);
  if (src.endsWith("[\\s\\S]*$")) src = src.slice(0, -8);
  return src || "(?:)";
}
// A rule's list of globs as one alternation, compiled once per list (rule specs are built once): the
// prefilter tests every rule of an op's bucket, and one regular expression beats a lookup per glob.
const listCache = new WeakMap<string[], RegExp>();
function likeSome(v: string, gs: string[]): boolean {
  let re = listCache.get(gs);
  if (!re) {
    re = new RegExp(gs.map((g) => `(?:${searchSource(g)})`).join("|"));
    listCache.set(gs, re);
  }
  return re.test(v);
}
const hasAny = (set: string[], xs: string[]) => xs.some((x) => set.includes(x));

export function condMatches(c: Cond, x: OpContext): boolean {
  // The same AND as the Cedar condition, cheapest tests first (equalities and booleans, then sets,
  // then `like` patterns): this runs for every rule of an op's bucket.
  if (!c.op.includes(x.op)) return false;
  if (c.inWorkspace !== undefined && x.inWorkspace !== c.inWorkspace) return false;
  if (c.outside !== undefined && x.outside !== c.outside) return false;
  if (c.hostPublic !== undefined && x.hostPublic !== c.hostPublic) return false;
  if (c.upload !== undefined && x.upload !== c.upload) return false;
  if (c.background !== undefined && x.background !== c.background) return false;
  if (c.sudo !== undefined && x.sudo !== c.sudo) return false;
  if (c.dynamic !== undefined && x.dynamic !== c.dynamic) return false;
  if (c.sandbox !== undefined && x.sandbox !== c.sandbox) return false;
  if (c.secret !== undefined && x.secret !== c.secret) return false;
  if (c.maxBytesOver !== undefined && !(x.maxBytes < 0 || x.maxBytes > Math.floor(c.maxBytesOver))) return false;
  if (c.port && !c.port.includes(x.port)) return false;
  if (c.tool && !c.tool.includes(x.tool)) return false;
  if (c.program && !c.program.includes(x.program)) return false;
  if (c.interp && !c.interp.includes(x.interp)) return false;
  if (c.mode && !c.mode.includes(x.mode)) return false;
  if (c.kind && !c.kind.includes(x.kind)) return false;
  if (c.channel && !c.channel.includes(x.channel)) return false;
  if (c.actionIn && !c.actionIn.includes(x.action)) return false;
  if (c.argsAny && !hasAny(x.args, c.argsAny)) return false;
  if (c.capsAny && !hasAny(x.caps, c.capsAny)) return false;
  if (c.capsNone && hasAny(x.caps, c.capsNone)) return false;
  if (c.flagsAll && !c.flagsAll.every((g) => hasAny(x.flags, g))) return false;
  if (c.feedsAny && !hasAny(x.feeds, c.feedsAny)) return false;
  if (c.pathLike && !likeSome(x.path, c.pathLike)) return false;
  if (c.pathNotLike && likeSome(x.path, c.pathNotLike)) return false;
  if (c.hostLike && !likeSome(x.host, c.hostLike)) return false;
  if (c.argvLike && !likeSome(x.argv, c.argvLike)) return false;
  if (c.lineLike && !likeSome(x.line, c.lineLike)) return false;
  if (c.codeLike && !likeSome(x.code, c.codeLike)) return false;
  if (c.phoneLike && !likeSome(x.phone, c.phoneLike)) return false;
  if (c.phoneNotLike && !(x.phone === "" || !likeSome(x.phone, c.phoneNotLike))) return false;
  if (c.contentLike && !likeSome(x.content, c.contentLike)) return false;
  if (c.textLike && !likeSome(x.text, c.textLike)) return false;
  if (c.scheduleLike && !likeSome(x.schedule, c.scheduleLike)) return false;
  return true;
}

export const specMatches = (s: RuleSpec, x: OpContext) => s.any.some((c) => condMatches(c, x));
