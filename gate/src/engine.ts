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
  specToCedar,
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
let setCounter = 0;

interface AgentSet {
  mode: "default" | "lockdown";
  specs: RuleSpec[];
  byId: Map<string, RuleSpec>;
  buckets: Map<string, Bucket>;
  /** every path condition of the set's rules: what a file-name pattern is compared with */
  pathConds: PathCond[];
  /** pattern → the protected paths it could expand to (per op kind) */
  globPaths: Map<string, string[]>;
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
  id: string;
  specs: RuleSpec[];
  fields: string[];
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
  // Keyed by the prepared set's id (unique per load, so a reload never hits a stale answer) and the request.
  private readonly answers = new Map<string, ReturnType<typeof cedar.statefulIsAuthorized>>();
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
        pathConds: pathCondsOf(specs),
        globPaths: new Map(),
      };
      // Validate the whole set with Cedar now, so a bad rule fails here and not at decision time.
      this.prepare(set, specs);
      next.set(key, set);
    }
    this.sets = next;
    this.redactRule.clear();
    for (const s of next.get("*")?.specs ?? [])
      for (const c of s.any) for (const k of c.kind ?? []) if (s.effect === "deny") this.redactRule.set(k, s.id);
  }

  private prepare(set: AgentSet, specs: RuleSpec[]): Bucket {
    const id = `tropic-${++setCounter}`;
    const policies: Record<string, string> = {};
    for (const s of specs) policies[s.id] = specToCedar(s);
    if (set.mode === "default") policies[DEFAULT_PERMIT] = `@id("${DEFAULT_PERMIT}")\npermit(principal, action, resource);`;
    const r = cedar.preparsePolicySet(id, { staticPolicies: policies });
    if (r.type !== "success") throw new Error(`gate: Cedar rejected the rule set: ${r.errors.map((e) => e.message).join("; ")}`);
    return { id, specs, fields: fieldsOf(specs) };
  }

  private bucket(set: AgentSet, ctx: OpContext) {
    const key = ctx.op === "exec" ? `exec|${ctx.program}` : ctx.op;
    let b = set.buckets.get(key);
    if (!b) {
      const specs = set.specs.filter((s) =>
        s.any.some((c) => c.op.includes(ctx.op) && (ctx.op !== "exec" || !c.program || c.program.includes(ctx.program))),
      );
      b = this.prepare(set, specs);
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
    let lockdownMiss: Op | null = null;
    for (const op of ops.flatMap((o) => (o.glob ? [o, ...this.globOps(set, o, ws)] : [o]))) {
      if (op.unknown) unknown.add(op.unknown);
      const r = this.evalOp(set, op);
      for (const id of r.deny) deny.add(id);
      for (const id of r.confirm) confirm.add(id);
      for (const id of r.allow) allow.add(id);
      if (op.via) for (const id of [...r.deny, ...r.confirm]) if (!via.has(id)) via.set(id, op.via);
      if (r.lockdownMiss && !lockdownMiss) lockdownMiss = op;
    }
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
    return paths.map((p) => ({
      ctx: { ...ctx, path: p, inWorkspace: !ctx.dynamic && p.startsWith(`${ws}/`) },
      primary: false,
      via: `\`${g.shown}\` could expand to ${shown(p)}`,
    }));
  }

  private evalOp(set: AgentSet, op: Op): { deny: string[]; confirm: string[]; allow: string[]; lockdownMiss: boolean } {
    const ctx = op.ctx;
    let b = this.bucket(set, ctx);
    if (this.cfg.prefilter !== false) {
      const cand = b.specs.filter((s) => specMatches(s, ctx));
      if (!cand.length) return { deny: [], confirm: [], allow: [], lockdownMiss: set.mode === "lockdown" && op.primary };
      // Cedar then evaluates only the candidate rules (a small set parsed once and cached).
      const key = `c|${cand.map((s) => s.id).join(",")}`;
      let cb = set.buckets.get(key);
      if (!cb) {
        cb = this.prepare(set, cand);
        set.buckets.set(key, cb);
      }
      b = cb;
    }
    const ans = this.authorize({
      principal: { type: "Agent", id: ctx.agent },
      action: { type: "Action", id: ctx.op === "redact" ? "tool_result" : "tool_call" },
      resource: { type: "Tool", id: ctx.tool },
      context: pick(ctx, b.fields),
      preparsedPolicySetId: b.id,
      entities: [],
    });
    if (ans.type !== "success") throw new Error(`Cedar: ${ans.errors.map((e) => e.message).join("; ")}`);
    const { decision, diagnostics } = ans.response;
    if (diagnostics.errors.length) throw new Error(`rule ${diagnostics.errors[0].policyId} failed: ${diagnostics.errors[0].error.message}`);
    const ids = diagnostics.reason.filter((id) => id !== DEFAULT_PERMIT);
    if (decision === "deny") {
      if (ids.length) return { deny: ids, confirm: [], allow: [], lockdownMiss: false };
      return { deny: [], confirm: [], allow: [], lockdownMiss: op.primary };
    }
    const confirm = ids.filter((id) => set.byId.get(id)?.effect === "confirm");
    const allow = ids.filter((id) => set.byId.get(id)?.effect === "allow");
    return { deny: [], confirm, allow, lockdownMiss: false };
  }

  private authorize(request: Parameters<typeof cedar.statefulIsAuthorized>[0]) {
    const limit = this.cfg.decisionCache ?? 4096;
    if (limit <= 0) return cedar.statefulIsAuthorized(request);
    const key = JSON.stringify(request);
    const hit = this.answers.get(key);
    if (hit) return hit;
    const ans = cedar.statefulIsAuthorized(request);
    if (ans.type !== "success") return ans; // never remember a failure
    if (this.answers.size >= limit) this.answers.clear(); // full: start over, cheaper than LRU bookkeeping
    this.answers.set(key, ans);
    return ans;
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
function pick(ctx: OpContext, fields: string[]): Record<string, cedar.CedarValueJson> {
  const out: Record<string, cedar.CedarValueJson> = {};
  const src = ctx as unknown as Record<string, cedar.CedarValueJson>;
  for (const f of fields) out[f] = src[f];
  return out;
}
function emptyRedactCtx(tool: string): OpContext {
  return emptyContext("redact", tool, "main");
}
export { SECRET_KINDS };
