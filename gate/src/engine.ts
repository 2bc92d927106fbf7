// The decision engine. Rules are parsed into Cedar once, in buckets per (agent, op kind[, program]):
// a call only evaluates the bucket of each of its ops, and only when the TS mirror of some rule in
// that bucket can match (otherwise the outcome is known: nothing applies). Cedar decides; forbid
// beats permit; permits annotated confirm turn an allow into confirm. Any error denies, and so does a
// command whose program is only known when it runs. A path that is a shell pattern (`.e*`) is also
// checked as each protected path it could expand to (see glob.ts).

import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import {
  type CompiledPolicy,
  type GateSettings,
  type OpContext,
  type RuleSpec,
  compilePolicy,
  compileSettings,
  like,
  specMatches,
  specToCedarFlat,
} from "@tropic/policy";
import { homedir } from "node:os";
import { posix } from "node:path";
import { type Op, type ToolCall, callToOps } from "./context.ts";
import { unescapePattern, variants, witness } from "./glob.ts";
import { PACKS, type PackName } from "./packs/index.ts";
import { REDACTED, type Redaction, SECRET_KINDS, redactSecrets } from "./redact.ts";

export interface Decision {
  decision: "allow" | "deny" | "confirm";
  rules: string[];
  reason: string;
}
export interface GateConfig {
  packs: PackName[];
  policies?: Record<string, string>;
  settings?: GateSettings;
  gatewayToken?: string;
  workspace?: string;
  home?: string;
  /** true when tool calls run inside the instance sandbox (bubblewrap); `… in sandbox environment` rules use it */
  sandbox?: boolean;
  /** false evaluates every op against its whole bucket (for equivalence tests) */
  prefilter?: boolean;
  /** how many Cedar answers to remember (0 = none). A decision is a pure function of the rule set and
   * the request, and agents repeat the same commands and paths, so a repeat skips the wasm call. */
  decisionCache?: number;
}

const DEFAULT_PERMIT = "tropic-default-allow";
const PACK_RULES = new Set<RuleSpec>(Object.values(PACKS).flat());
let setCounter = 0;

interface AgentSet {
  mode: "default" | "lockdown";
  specs: RuleSpec[];
  byId: Map<string, RuleSpec>;
  /** op kind (exec: and program) → the rules that can apply to it (Cedar-prepared only when the prefilter is off) */
  buckets: Map<string, Bucket>;
  /** candidate rules of one op, or of every op of a call (one slot per op) → the id of their prepared Cedar set.
   * Least recently used first; past PREPARED_MAX the oldest is released (its id re-prepared empty). */
  prepared: Map<string, string>;
  /** op kind and candidate ids → the context fields Cedar reads of them */
  fields: Map<string, Picker>;
  /** unique per set (and load): part of every decision-cache key */
  serial: number;
  /** every path condition of the set's rules: what a file-name pattern is compared with */
  pathConds: PathCond[];
  /** pattern → the protected paths it could expand to (per op kind) */
  globPaths: Map<string, string[]>;
  /** the prefilter's answer for a path a pattern could expand to: the op it was derived from (the fields its
   * bucket's rules read, path and inWorkspace aside) and the path → the candidate rules (null: none) */
  derivedCand: Map<string, RuleSpec[] | null>;
}
interface PathCond {
  ops: string[];
  like: string[];
  notLike: string[];
}
const UNKNOWN_PROGRAM = "tropic-unknown-program";

function pathCondsOf(specs: RuleSpec[]): PathCond[] {
  const out = new Map<string, PathCond>();
  for (const s of specs)
    for (const c of s.any)
      if (c.pathLike) {
        const pc = { ops: c.op, like: c.pathLike, notLike: c.pathNotLike ?? [] };
        out.set(JSON.stringify(pc), pc);
      }
  return [...out.values()];
}
interface Bucket {
  /** the prepared Cedar set of all the bucket's rules, made only when the prefilter is off */
  id?: string;
  specs: RuleSpec[];
  fields: string[];
}
/** An op the prefilter kept: the rules that match it (its candidates), which Cedar then decides. */
interface Pending {
  op: Op;
  /** order among the call's ops (the first op missing an ALLOW rule in lockdown is the one reported) */
  index: number;
  cand: RuleSpec[];
  /** the candidates' ids, comma-joined */
  key: string;
  fields: Picker;
}
/** The part of an op's context a set of rules reads. A list field is only ever tested with
 * `containsAny(S)`, so it is sent as its elements that appear in some S of those rules: same answer,
 * fewer values for Cedar to parse (a long `args` list shrinks to the one or two that matter). */
interface Picker {
  fields: string[];
  keep: Map<string, Set<string>>;
}
function pickerOf(specs: RuleSpec[]): Picker {
  const keep = new Map<string, Set<string>>();
  const add = (f: string, xs: string[] | undefined) => {
    if (!xs) return;
    const k = keep.get(f) ?? new Set<string>();
    keep.set(f, k);
    for (const x of xs) k.add(x);
  };
  for (const s of specs)
    for (const c of s.any) {
      add("args", c.argsAny);
      add("caps", c.capsAny);
      add("caps", c.capsNone);
      for (const g of c.flagsAll ?? []) add("flags", g);
      add("feeds", c.feedsAny);
    }
  return { fields: fieldsOf(specs), keep };
}
/** What Cedar decided for one op: the forbid policies that applied (then the op is denied) or, if none,
 * the permit policies that applied (the default permit left out). */
interface Verdict {
  forbid: string[];
  permit: string[];
  /** the op's permits are unknown (another op of the same request was denied) */
  partial?: boolean;
}
interface OpResult {
  deny: string[];
  confirm: string[];
  allow: string[];
  lockdownMiss: boolean;
}
const NONE: string[] = [];
/** Prepares a Cedar policy set (with the default permit unless the set is in lockdown) and returns its id. */
function prepareSet(set: AgentSet, policies: Record<string, string>): string {
  const id = `tropic-${++setCounter}`;
  if (set.mode === "default") policies[DEFAULT_PERMIT] = `@id("${DEFAULT_PERMIT}")\npermit(principal, action, resource);`;
  const r = cedar.preparsePolicySet(id, { staticPolicies: policies });
  if (r.type !== "success") throw new Error(`gate: Cedar rejected the rule set: ${r.errors.map((e) => e.message).join("; ")}`);
  return id;
}
/** Rule ids in the order of the rules (Cedar reports the policies that applied in no particular order). */
function inOrder(ids: string[], rules: RuleSpec[]): string[] {
  if (ids.length < 2) return ids;
  const at = new Map(rules.map((r, i) => [r.id, i]));
  return ids.sort((a, b) => (at.get(a) ?? 0) - (at.get(b) ?? 0));
}
/** Cedar keeps every prepared set until its id is prepared again: an empty set frees the memory of one no longer used. */
function release(id: string) {
  cedar.preparsePolicySet(id, { staticPolicies: {} });
}
const PREPARED_MAX = 512;
/** a path op a pattern could expand to → the context of the op it was derived from (see `candidates`) */
const derivedFrom = new WeakMap<Op, OpContext>();
/** that context → the JSON of the fields its bucket's rules read, `path` and `inWorkspace` aside */
const fingerprints = new WeakMap<OpContext, string>();
// Rule ids never contain "#": a call's combined set names its policies `#<slot>#<rule id>`.
const slotId = (slot: number, id: string) => `#${slot}#${id}`;
/** The Cedar text of a policy with every `context.` read moved to `context.s<slot>.` (string literals untouched). */
function toSlot(text: string, slot: number): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (text.startsWith("context.", i) && !/[A-Za-z0-9_]/.test(text[i - 1] ?? " ")) {
      out += `context.s${slot}.`;
      i += 8;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

// Cond key → the context field it reads. A bucket sends Cedar only the fields its rules read:
// serialising the context across the wasm boundary is most of the cost of a call.
const FIELD: Record<string, string> = {
  op: "op",
  tool: "tool",
  program: "program",
  interp: "interp",
  argsAny: "args",
  capsAny: "caps",
  capsNone: "caps",
  flagsAll: "flags",
  argvLike: "argv",
  lineLike: "line",
  codeLike: "code",
  feedsAny: "feeds",
  pathLike: "path",
  pathNotLike: "path",
  inWorkspace: "inWorkspace",
  hostLike: "host",
  hostPublic: "hostPublic",
  port: "port",
  upload: "upload",
  channel: "channel",
  phoneLike: "phone",
  phoneNotLike: "phone",
  contentLike: "content",
  actionIn: "action",
  maxBytesOver: "maxBytes",
  background: "background",
  sudo: "sudo",
  dynamic: "dynamic",
  outside: "outside",
  sandbox: "sandbox",
  secret: "secret",
  kind: "kind",
  textLike: "text",
  mode: "mode",
  scheduleLike: "schedule",
};
const fieldsOf = (specs: RuleSpec[]) => [...new Set(["op", ...specs.flatMap((s) => s.any.flatMap((c) => Object.keys(c).map((k) => FIELD[k] ?? k)))])];

export class Gate {
  private sets = new Map<string, AgentSet>();
  // Cedar's verdict per op, keyed by the agent set's serial (unique per load, so a reload never hits a
  // stale answer), the op's candidate rules and the request.
  private readonly answers = new Map<string, Verdict>();
  private redactRule = new Map<string, string>();
  private constructor(
    readonly cfg: GateConfig,
    readonly home: string,
    readonly workspace: string,
  ) {}

  /** Throws with every compile error (rule line numbers included) if anything fails to compile. */
  static async create(cfg: GateConfig): Promise<Gate> {
    const home = cfg.home ?? homedir();
    const g = new Gate(cfg, home, cfg.workspace ?? `${home}/.openclaw/workspace`);
    g.load(cfg.policies ?? {}, cfg.settings);
    return g;
  }

  /** Swaps the policy set. On any error the previous set stays active and the error is thrown. */
  reload(policies: Record<string, string>, settings?: GateSettings): void {
    this.load(policies, settings);
  }

  private load(policies: Record<string, string>, settings?: GateSettings) {
    const errors: string[] = [];
    const packSpecs: RuleSpec[] = [];
    for (const p of this.cfg.packs) {
      if (!PACKS[p]) errors.push(`unknown pack "${p}"`);
      else packSpecs.push(...PACKS[p]);
    }
    if (settings) {
      const s = compileSettings(settings);
      if (s.ok) packSpecs.push(...s.rules.map((r) => r.spec));
      else errors.push(...s.errors.map((e) => `settings.${e.field}: ${e.message}`));
    }
    const compiled = new Map<string, CompiledPolicy>();
    for (const [agent, text] of Object.entries(policies)) {
      const r = compilePolicy(text, { policyId: agent === "*" ? "default" : agent, home: this.home, workspace: this.workspace });
      if (r.ok) compiled.set(agent, r.policy);
      else errors.push(...r.errors.map((e) => `policy for agent "${agent}" line ${e.line}: ${e.message}`));
    }
    if (errors.length) throw new Error(`gate: rules rejected, previous rule set kept:\n  ${errors.join("\n  ")}`);
    const next = new Map<string, AgentSet>();
    const keys = new Set(["*", ...compiled.keys()]);
    for (const key of keys) {
      const pol = compiled.get(key) ?? compiled.get("*");
      const specs = [...packSpecs, ...(pol?.rules.flatMap((r) => [r.spec, ...(r.also ?? [])]) ?? [])];
      const set: AgentSet = {
        mode: pol?.mode ?? "default",
        specs,
        byId: new Map(specs.map((s) => [s.id, s])),
        buckets: new Map(),
        prepared: new Map(),
        fields: new Map(),
        serial: ++setCounter,
        pathConds: pathCondsOf(specs),
        globPaths: new Map(),
        derivedCand: new Map(),
      };
      // Validate the rules that come from configuration (policies, settings) with Cedar now, so a bad rule
      // fails here and not at decision time. The packs are constants, compiled by their tests: parsing
      // their ~100 rules again at every load cost the gateway RSS (see docs/gate.md#performance). The
      // parsed set is not used (decisions evaluate only the rules that can apply), so it is released.
      const configured = specs.filter((s) => !PACK_RULES.has(s));
      if (configured.length) release(this.prepare(set, configured).id as string);
      next.set(key, set);
    }
    const old = this.sets;
    this.sets = next;
    // The previous sets' prepared Cedar sets are never evaluated again (ids are unique per load).
    for (const o of old.values()) {
      for (const id of o.prepared.values()) release(id);
      for (const b of o.buckets.values()) if (b.id) release(b.id);
    }
    this.redactRule.clear();
    for (const s of next.get("*")?.specs ?? [])
      for (const c of s.any) for (const k of c.kind ?? []) if (s.effect === "deny") this.redactRule.set(k, s.id);
  }

  private prepare(set: AgentSet, specs: RuleSpec[]): Bucket {
    const policies: Record<string, string> = {};
    for (const s of specs) policies[s.id] = specToCedarFlat(s);
    return { id: prepareSet(set, policies), specs, fields: fieldsOf(specs) };
  }

  /** The prepared set of `key` (made by `make` on first use), most recently used last. */
  private preparedId(set: AgentSet, key: string, make: () => Record<string, string>): string {
    let id = set.prepared.get(key);
    if (id !== undefined) {
      set.prepared.delete(key);
      set.prepared.set(key, id);
      return id;
    }
    id = prepareSet(set, make());
    set.prepared.set(key, id);
    if (set.prepared.size > PREPARED_MAX) {
      const [oldKey, oldId] = set.prepared.entries().next().value as [string, string];
      set.prepared.delete(oldKey);
      release(oldId);
    }
    return id;
  }

  private bucket(set: AgentSet, ctx: OpContext) {
    const key = ctx.op === "exec" ? `exec|${ctx.program}` : ctx.op;
    let b = set.buckets.get(key);
    if (!b) {
      const specs = set.specs.filter((s) =>
        s.any.some((c) => c.op.includes(ctx.op) && (ctx.op !== "exec" || !c.program || c.program.includes(ctx.program))),
      );
      b = { specs, fields: fieldsOf(specs) };
      set.buckets.set(key, b);
    }
    return b;
  }

  decide(call: ToolCall): Decision {
    try {
      return this.decideUnsafe(call);
    } catch (e) {
      return {
        decision: "deny",
        rules: ["tropic-fail-closed"],
        reason: `Blocked: the gate could not evaluate this call (${(e as Error).message}); failing closed.`,
      };
    }
  }

  private decideUnsafe(call: ToolCall): Decision {
    if (!call || typeof call.tool !== "string" || !call.tool) throw new Error("call has no tool name");
    if (call.params !== undefined && (typeof call.params !== "object" || call.params === null || Array.isArray(call.params)))
      throw new Error("params must be an object");
    const agent = call.agentId ?? "main";
    const set = this.sets.get(agent) ?? this.sets.get("*");
    if (!set) throw new Error("no rule set loaded");
    const ws = call.workspace ?? this.workspace;
    const ops = callToOps(
      { ...call, params: call.params ?? {} },
      { home: this.home, workspace: ws, cwd: ws, agent, tool: call.tool, sandbox: !!this.cfg.sandbox },
    );
    const deny = new Set<string>();
    const confirm = new Set<string>();
    const allow = new Set<string>();
    const unknown = new Set<string>();
    const via = new Map<string, string>(); // rule id → the pattern expansion that made it apply
    let lockdownMiss = null as Op | null;
    let missAt = Number.POSITIVE_INFINITY;
    const apply = (op: Op, index: number, r: OpResult) => {
      for (const id of r.deny) deny.add(id);
      for (const id of r.confirm) confirm.add(id);
      for (const id of r.allow) allow.add(id);
      if (op.via) for (const id of [...r.deny, ...r.confirm]) if (!via.has(id)) via.set(id, op.via);
      if (r.lockdownMiss && index < missAt) {
        missAt = index;
        lockdownMiss = op;
      }
    };
    const all = ops.flatMap((o) => (o.glob ? [o, ...this.globOps(set, o, ws)] : [o]));
    // The prefilter keeps the ops some rule can match, each with its candidate rules; Cedar then decides
    // them all in one request (see decidePending). Without the prefilter every op is decided alone.
    const pending: Pending[] = [];
    for (let i = 0; i < all.length; i++) {
      const op = all[i];
      if (op.unknown) unknown.add(op.unknown);
      if (this.cfg.prefilter === false) apply(op, i, this.evalOp(set, op));
      else {
        const p = this.candidates(set, op, i);
        if (p) pending.push(p);
        else apply(op, i, { deny: NONE, confirm: NONE, allow: NONE, lockdownMiss: set.mode === "lockdown" && op.primary });
      }
    }
    for (const [p, v] of this.decideCovered(set, pending, unknown.size > 0)) apply(p.op, p.index, this.result(set, p.op, v));
    const why = (ids: Set<string>) =>
      [...ids]
        .map((id) => {
          const d = `${id}: ${set.byId.get(id)?.description ?? ""}`.trim();
          const v = via.get(id);
          return v ? `${d.replace(/\.$/, "")} (${v}).` : d;
        })
        .join(" ");
    // A program (or code) only known when the command runs could be anything: the most restrictive outcome.
    if (unknown.size)
      return {
        decision: "deny",
        rules: [UNKNOWN_PROGRAM, ...deny],
        reason: `Blocked: ${[...unknown].join("; ")}: denied.${deny.size ? ` Also blocked by policy. ${why(deny)}` : ""}`,
      };
    if (deny.size) return { decision: "deny", rules: [...deny], reason: `Blocked by policy. ${why(deny)}` };
    if (lockdownMiss) {
      const o = lockdownMiss.ctx;
      const what =
        o.op === "exec"
          ? `running ${o.program || "this command"}`
          : o.path
            ? `${o.op} ${o.path}`
            : o.host
              ? `${o.op} ${o.host}`
              : `${o.op} via ${o.tool}`;
      return {
        decision: "deny",
        rules: ["tropic-lockdown"],
        reason: `Blocked by policy: lockdown mode allows only what an ALLOW rule names, and no rule allows ${what}.`,
      };
    }
    if (confirm.size) return { decision: "confirm", rules: [...confirm], reason: `Needs the user's approval. ${why(confirm)}` };
    return { decision: "allow", rules: [...allow], reason: allow.size ? `Allowed. ${why(allow)}` : "Allowed: no rule applies." };
  }

  /** Cedar's verdict for each pending op, in order. A path a pattern could expand to (a derived op with a
   * `via`) whose candidate rules are all candidates of an earlier such op of the call is held back: a
   * recursive read of `/` or `~` expands to ~60 protected paths that mostly meet the same few rules, and
   * each slot costs Cedar ~50 µs. Held-back ops are decided too (a second request) unless the first one
   * already established everything they could add: each of their forbid rules applied to the call, and
   * each permit rule applied or the call is denied. Deny, confirm and allow are then the same sets, and
   * each rule's `via` the same earliest op, as deciding every op; a rule in the answer is always one
   * Cedar found to apply. */
  private decideCovered(set: AgentSet, pending: Pending[], denyAnyway: boolean): [Pending, Verdict][] {
    const kept: Pending[] = [];
    const held: Pending[] = [];
    const seen = new Set<string>();
    for (const p of pending) {
      if (!p.op.via || p.op.primary) kept.push(p);
      else if (p.cand.every((s) => seen.has(s.id))) held.push(p);
      else {
        kept.push(p);
        for (const s of p.cand) seen.add(s.id);
      }
    }
    const out: [Pending, Verdict][] = [];
    const vs = this.decidePending(set, kept);
    for (let k = 0; k < kept.length; k++) out.push([kept[k], vs[k]]);
    if (!held.length) return out;
    // rule id → the first op with a `via` that Cedar found it applies to (the op whose `via` the reason names)
    const first = new Map<string, number>();
    for (const [p, v] of out) if (p.op.via) for (const id of v.forbid.length ? v.forbid : v.permit) if (!first.has(id)) first.set(id, p.index);
    const denied = denyAnyway || out.some(([, v]) => v.forbid.length > 0);
    const covered = held.every((p) =>
      p.cand.every((s) => (s.effect !== "deny" && denied) || (first.get(s.id) ?? Number.POSITIVE_INFINITY) < p.index),
    );
    if (covered) return out;
    const hv = this.decidePending(set, held);
    for (let k = 0; k < held.length; k++) out.push([held[k], hv[k]]);
    return out.sort((a, b) => a[0].index - b[0].index);
  }

  /** The ops of the paths a file-name pattern could expand to that some rule of the set protects (each then
   * decided by Cedar like any path), and of the pattern with a `.?`/`.*` name read as `.`/`..`. */
  private globOps(set: AgentSet, op: Op, ws: string): Op[] {
    const g = op.glob;
    if (!g) return [];
    const ctx = op.ctx;
    const dotglob = /dotglob|globdots|globignore/.test(ctx.line);
    const key = `${ctx.op}|${dotglob ? 1 : 0}|${g.pattern}`;
    let paths = set.globPaths.get(key);
    if (!paths) {
      const found = new Set<string>();
      const tried = new Set<string>();
      for (const v of variants(g.pattern)) {
        if (v !== g.pattern) found.add(unescapePattern(v));
        // A bare `*` name is "every file here", not a name spelled towards a protected one: it is compared
        // only with rules that name the directory it lists (`*/.ssh/id_*`, `/etc/shadow`), so `cat ~/.ssh/*`
        // is caught and `rm -rf build/*` is not taken for deleting some `build/x.key` or `build/AGENTS.md`.
        const blanket = !dotglob && /(^|\/)\*+$/.test(v) && !/\\\*+$/.test(v);
        for (const c of set.pathConds) {
          if (!c.ops.includes(ctx.op)) continue;
          for (const pattern of c.like) {
            const dir = posix.dirname(pattern);
            if (blanket && !/[^*/.]/.test(dir)) continue;
            const once = `${v}\n${pattern}\n${c.notLike.join("\n")}`;
            if (tried.has(once)) continue;
            tried.add(once);
            const w = witness(v, pattern, c.notLike, dotglob);
            if (w === null || (blanket && !like(posix.dirname(w), dir))) continue;
            // a `.?` that is `..` leaves a `/../` in the path: the normalised path if it is still protected
            const n = posix.normalize(w);
            found.add(n !== w && like(n, pattern) && !c.notLike.some((x) => like(n, x)) ? n : w);
          }
        }
      }
      found.delete(ctx.path);
      paths = [...found];
      if (set.globPaths.size >= 2048) set.globPaths.clear();
      set.globPaths.set(key, paths);
    }
    const shown = (p: string) => (p === this.home || p.startsWith(`${this.home}/`) ? `~${p.slice(this.home.length)}` : p);
    return paths.map((p) => {
      const d: Op = {
        ctx: { ...ctx, path: p, inWorkspace: !ctx.dynamic && p.startsWith(`${ws}/`) },
        primary: false,
        via: `\`${g.shown}\` could expand to ${shown(p)}`,
      };
      derivedFrom.set(d, ctx);
      return d;
    });
  }

  /** One op alone: the redaction pass, and every op when the prefilter is off (then against its whole bucket). */
  private evalOp(set: AgentSet, op: Op): OpResult {
    if (this.cfg.prefilter === false) {
      const b = this.bucket(set, op.ctx);
      b.id ??= this.prepare(set, b.specs).id as string;
      return this.result(set, op, this.ask(b.id, [op.ctx], [{ fields: b.fields, keep: new Map() }], [b.specs], false)[0]);
    }
    const p = this.candidates(set, op, 0);
    if (!p) return { deny: NONE, confirm: NONE, allow: NONE, lockdownMiss: set.mode === "lockdown" && op.primary };
    return this.result(set, op, this.decidePending(set, [p])[0]);
  }

  /** The rules of the op's bucket whose TS mirror matches it (null: none can apply, Cedar is not asked). */
  private candidates(set: AgentSet, op: Op, index: number): Pending | null {
    const b = this.bucket(set, op.ctx);
    let cand: RuleSpec[] | null | undefined;
    // A path a pattern could expand to differs from the op it came from only in `path` and `inWorkspace`:
    // a recursive read of `/` is ~60 of them, each tested against every rule of its bucket. Their answers are
    // kept per rule set, keyed by every other field the bucket's rules read, so each is tested once.
    const from = derivedFrom.get(op);
    let dkey = "";
    if (from) {
      let fp = fingerprints.get(from);
      if (fp === undefined) {
        const src = from as unknown as Record<string, unknown>;
        fp = JSON.stringify([from.op, from.program, ...b.fields.filter((f) => f !== "path" && f !== "inWorkspace").map((f) => src[f])]);
        fingerprints.set(from, fp);
      }
      dkey = `${fp}\u0000${op.ctx.path}\u0000${op.ctx.inWorkspace}`;
      cand = set.derivedCand.get(dkey);
    }
    if (cand === undefined) {
      const found = b.specs.filter((s) => specMatches(s, op.ctx));
      cand = found.length ? found : null;
      if (from) {
        if (set.derivedCand.size >= 4096) set.derivedCand.clear();
        set.derivedCand.set(dkey, cand);
      }
    }
    if (!cand) return null;
    const key = cand.map((s) => s.id).join(",");
    // Cedar reads a condition's fields only if its op test (always its first conjunct, and `&&` stops at
    // the first false one) passes: the fields of conditions for other op kinds are not sent.
    const fkey = `${op.ctx.op}|${key}`;
    let fields = set.fields.get(fkey);
    if (!fields) {
      fields = pickerOf(cand.map((s) => ({ ...s, any: s.any.filter((c) => c.op.includes(op.ctx.op)) })));
      set.fields.set(fkey, fields);
    }
    return { op, index, cand, key, fields };
  }

  /** Cedar's verdict for each pending op. The ops of one call share principal, action and resource, so
   * they are decided in ONE request: a set holding each op's candidate rules once per op (slot s reads
   * `context.s<s>`), and a context with each op's fields as record `s<s>`. Cedar evaluates exactly the
   * policies it would in one request per op; forbid still overrides permit within each op, and the
   * policy ids say which op each applied policy belongs to. When some op is denied Cedar reports only
   * the forbid policies: the other ops' permits are then unknown (and irrelevant: the call is denied),
   * so their verdicts are marked partial and never cached. */
  private decidePending(set: AgentSet, pending: Pending[]): Verdict[] {
    const out: Verdict[] = new Array(pending.length);
    if (!pending.length) return out;
    const limit = this.cfg.decisionCache ?? 4096;
    const ctxKey = (p: Pending) => `${set.serial}|${p.key}|${p.op.ctx.agent}|${p.op.ctx.tool}|${JSON.stringify(pick(p.op.ctx, p.fields))}`;
    let miss: number[] = [];
    const keys: string[] = [];
    if (limit > 0) {
      for (let k = 0; k < pending.length; k++) {
        keys[k] = ctxKey(pending[k]);
        const hit = this.answers.get(keys[k]);
        if (hit) out[k] = hit;
        else miss.push(k);
      }
    } else miss = pending.map((_, k) => k);
    const first = pending[0].op.ctx;
    // Only a whole call is combined: with the cache on, combining whichever ops missed would prepare a
    // new Cedar set for every subset that happens to miss (parse time and memory for little gain).
    const together =
      miss.length > 1 &&
      miss.length === pending.length &&
      miss.every((k) => {
        const c = pending[k].op.ctx;
        return c.op !== "redact" && c.agent === first.agent && c.tool === first.tool;
      });
    if (together) {
      const ps = miss.map((k) => pending[k]);
      const id = this.preparedId(set, `m|${ps.map((p) => p.key).join(";")}`, () => {
        const policies: Record<string, string> = {};
        ps.forEach((p, slot) => {
          for (const s of p.cand) policies[slotId(slot, s.id)] = toSlot(specToCedarFlat(s), slot);
        });
        return policies;
      });
      const vs = this.ask(
        id,
        ps.map((p) => p.op.ctx),
        ps.map((p) => p.fields),
        ps.map((p) => p.cand),
        true,
      );
      miss.forEach((k, slot) => {
        out[k] = vs[slot];
      });
    } else
      for (const k of miss) {
        const p = pending[k];
        const id = this.preparedId(set, `c|${p.key}`, () => Object.fromEntries(p.cand.map((s) => [s.id, specToCedarFlat(s)])));
        out[k] = this.ask(id, [p.op.ctx], [p.fields], [p.cand], false)[0];
      }
    if (limit > 0)
      for (const k of miss) {
        if (out[k].partial) continue;
        if (this.answers.size >= limit) this.answers.clear(); // full: start over, cheaper than LRU bookkeeping
        this.answers.set(keys[k], out[k]);
      }
    return out;
  }

  /** One Cedar request over the prepared set `id`: a single op (slots false: plain context and policy
   * ids) or one slot per op. Any failure or evaluation error throws (the call is then denied). */
  private ask(id: string, ctxs: OpContext[], fields: Picker[], rules: RuleSpec[][], slots: boolean): Verdict[] {
    const c0 = ctxs[0];
    let context: Record<string, cedar.CedarValueJson>;
    if (slots) {
      context = {};
      for (let s = 0; s < ctxs.length; s++) context[`s${s}`] = pick(ctxs[s], fields[s]);
    } else context = pick(c0, fields[0]);
    const ans = this.authorize({
      principal: { type: "Agent", id: c0.agent },
      action: { type: "Action", id: c0.op === "redact" ? "tool_result" : "tool_call" },
      resource: { type: "Tool", id: c0.tool },
      context,
      preparsedPolicySetId: id,
      entities: [],
    });
    if (ans.type !== "success") throw new Error(`Cedar: ${ans.errors.map((e) => e.message).join("; ")}`);
    const { decision, diagnostics } = ans.response;
    if (diagnostics.errors.length) {
      const e = diagnostics.errors[0];
      throw new Error(`rule ${slots ? e.policyId.replace(/^#\d+#/, "") : e.policyId} failed: ${e.error.message}`);
    }
    if (!slots) {
      const ids = inOrder(
        diagnostics.reason.filter((x) => x !== DEFAULT_PERMIT),
        rules[0],
      );
      return [decision === "deny" ? { forbid: ids, permit: NONE } : { forbid: NONE, permit: ids }];
    }
    const per: string[][] = ctxs.map(() => []);
    for (const x of diagnostics.reason) {
      const m = /^#(\d+)#(.*)$/s.exec(x);
      if (m) per[Number(m[1])].push(m[2]);
    }
    return per.map((found, s) => {
      const ids = inOrder(found, rules[s]);
      if (decision === "allow") return { forbid: NONE, permit: ids };
      return ids.length ? { forbid: ids, permit: NONE } : { forbid: NONE, permit: NONE, partial: true };
    });
  }

  /** What a verdict means for the op: denied, confirmed, allowed, or (lockdown) not allowed by any rule. */
  private result(set: AgentSet, op: Op, v: Verdict): OpResult {
    if (v.forbid.length) return { deny: v.forbid, confirm: NONE, allow: NONE, lockdownMiss: false };
    if (!v.permit.length) return { deny: NONE, confirm: NONE, allow: NONE, lockdownMiss: set.mode === "lockdown" && op.primary };
    const confirm = v.permit.filter((id) => set.byId.get(id)?.effect === "confirm");
    const allow = v.permit.filter((id) => set.byId.get(id)?.effect === "allow");
    return { deny: NONE, confirm, allow, lockdownMiss: false };
  }

  private authorize(request: Parameters<typeof cedar.statefulIsAuthorized>[0]) {
    return cedar.statefulIsAuthorized(request);
  }

  /** Pattern redaction of every known secret, then a Cedar pass (defence in depth) over lines that
   * still look like key material; such a line is replaced whole. */
  redact(text: string, tool = "tool"): { text: string; redactions: Redaction[] } {
    const r = redactSecrets(text, { gatewayToken: this.cfg.gatewayToken, ruleOf: (k) => this.redactRule.get(k) ?? `pattern:${k}` });
    if (!r.text.includes("PRIVATE KEY")) return r;
    const set = this.sets.get("*");
    if (!set) return r;
    const lines = r.text.split("\n");
    let changed = false;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (!line.includes("PRIVATE KEY") || line.includes(REDACTED)) continue;
      const ctx = { ...emptyRedactCtx(tool), text: line };
      try {
        const d = this.evalOp(set, { ctx, primary: false });
        if (d.deny.length) {
          lines[i] = REDACTED;
          changed = true;
          r.redactions.push({ kind: "private-key", rule: d.deny[0] });
        }
      } catch {
        lines[i] = REDACTED; // fail closed
        changed = true;
      }
    }
    return changed ? { text: lines.join("\n"), redactions: r.redactions } : r;
  }

  /** The specs in force for an agent (for docs, dashboards and tests). */
  rulesFor(agent = "*"): RuleSpec[] {
    return (this.sets.get(agent) ?? this.sets.get("*"))?.specs ?? [];
  }
}

import { emptyContext } from "@tropic/policy";
function pick(ctx: OpContext, p: Picker): Record<string, cedar.CedarValueJson> {
  const out: Record<string, cedar.CedarValueJson> = {};
  const src = ctx as unknown as Record<string, cedar.CedarValueJson>;
  for (const f of p.fields) {
    const v = src[f];
    const k = Array.isArray(v) ? p.keep.get(f) : undefined;
    out[f] = k ? (v as string[]).filter((x) => k.has(x)) : v;
  }
  return out;
}
function emptyRedactCtx(tool: string): OpContext {
  return emptyContext("redact", tool, "main");
}
export { SECRET_KINDS };
