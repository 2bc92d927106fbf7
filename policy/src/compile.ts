// Plain-text policy → rules (specs + Cedar + explanations + an AGENTS.md section).

import { homedir } from "node:os";
import { type Built, type CatalogCtx, CATALOG, KNOWN_PHRASES } from "./catalog.ts";
import { type Cond, type Effect, type RuleSpec, specToCedar } from "./spec.ts";

export interface PolicyError {
  line: number;
  message: string;
  suggestions?: string[];
}
export interface CompiledRule {
  id: string;
  line: number;
  effect: Effect;
  text: string;
  explanation: string;
  spec: RuleSpec;
  /** companion rules the line also needs (a port rule confirms connections whose port is not known) */
  also?: RuleSpec[];
}
export interface CompiledPolicy {
  mode: "default" | "lockdown";
  rules: CompiledRule[];
  cedar: string;
  agentsMd: string;
}
export interface CompileOptions {
  policyId?: string;
  home?: string;
  workspace?: string;
}

const DIRECTIVE = /^\s*(allow|require\s+confirm(?:ation)?|confirm|deny|block)\s*:\s*(.*)$/i;
const EFFECT_WORD: Record<Effect, [string, string]> = {
  allow: ["ALLOW", "Allows"],
  confirm: ["REQUIRE CONFIRM", "Asks you before"],
  deny: ["DENY", "Blocks"],
};

/** Matches one phrase against the catalog; on failure tries splitting "X or Y" / "X and Y" lists. */
export function matchPhrase(phrase: string, ctx: CatalogCtx): Built | { error: string } {
  const whole = tryOne(phrase, ctx);
  if (!("error" in whole)) return whole;
  const parts = phrase.split(/\s*(?:,\s*(?:or|and)?|\bor\b|\band\b|;)\s*/i).filter(Boolean);
  if (parts.length > 1) {
    const verb = parts[0].split(/\s+/)[0];
    const conds: Cond[] = [];
    const whats: string[] = [];
    const unsure: Cond[] = [];
    const unsureWhat: string[] = [];
    let ok = true;
    for (const p of parts) {
      let r = tryOne(p, ctx);
      if ("error" in r && !p.toLowerCase().startsWith(verb.toLowerCase())) r = tryOne(`${verb} ${p}`, ctx);
      if ("error" in r) {
        ok = false;
        break;
      }
      conds.push(...r.conds);
      whats.push(r.what);
      if (r.unsure) {
        unsure.push(...r.unsure.conds);
        unsureWhat.push(r.unsure.what);
      }
    }
    if (ok) return { conds, what: whats.join(" or "), ...(unsure.length ? { unsure: { conds: unsure, what: unsureWhat.join(" or ") } } : {}) };
  }
  return whole;
}

function tryOne(raw: string, ctx: CatalogCtx): Built | { error: string } {
  const phrase = raw
    .trim()
    .replace(/\s+/g, " ")
    .replace(/[.!]+$/, "");
  let firstError = "";
  for (const e of CATALOG) {
    const m = phrase.match(e.re);
    if (!m) continue;
    const b = e.build(m, ctx);
    if (typeof b !== "string") return b;
    firstError ||= b;
  }
  return { error: firstError || "no known capability matches this phrase" };
}

// Character-bigram Dice similarity: cheap, good enough to rank "did you mean" suggestions.
function bigrams(s: string): Map<string, number> {
  const m = new Map<string, number>();
  const t = ` ${s.toLowerCase().replace(/\s+/g, " ")} `;
  for (let i = 0; i < t.length - 1; i++) {
    const b = t.slice(i, i + 2);
    m.set(b, (m.get(b) ?? 0) + 1);
  }
  return m;
}
function dice(a: string, b: string): number {
  const A = bigrams(a);
  const B = bigrams(b);
  let inter = 0;
  let total = 0;
  for (const [k, v] of A) {
    inter += Math.min(v, B.get(k) ?? 0);
    total += v;
  }
  for (const v of B.values()) total += v;
  return total ? (2 * inter) / total : 0;
}
export function suggest(phrase: string, n = 3): string[] {
  return KNOWN_PHRASES.map((p) => [p, dice(phrase, p)] as const)
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([p]) => p);
}

export function defaultCtx(opts?: { home?: string; workspace?: string }): CatalogCtx {
  const home = opts?.home ?? homedir();
  return { home, workspace: opts?.workspace ?? `${home}/.openclaw/workspace` };
}

export function compilePolicy(text: string, opts?: CompileOptions): { ok: true; policy: CompiledPolicy } | { ok: false; errors: PolicyError[] } {
  const ctx = defaultCtx(opts);
  const pid = (opts?.policyId ?? "policy").replace(/[^A-Za-z0-9_.-]/g, "-");
  const errors: PolicyError[] = [];
  const rules: CompiledRule[] = [];
  let mode: "default" | "lockdown" = "default";
  const lines = String(text ?? "").split(/\r?\n/);
  lines.forEach((rawLine, i) => {
    const line = i + 1;
    const t = rawLine.replace(/\s+#.*$/, "").trim();
    if (!t || t.startsWith("#") || t.startsWith("//")) return;
    const mm = t.match(/^mode\s*:\s*(\S+)\s*$/i);
    if (mm) {
      const v = mm[1].toLowerCase();
      if (v === "lockdown" || v === "default") mode = v;
      else errors.push({ line, message: `unknown mode "${mm[1]}" (use MODE: lockdown or MODE: default)` });
      return;
    }
    const dm = t.match(DIRECTIVE);
    if (!dm) {
      errors.push({ line, message: `expected "ALLOW:", "REQUIRE CONFIRM:" or "DENY:" at the start of the line, got "${t.slice(0, 40)}"` });
      return;
    }
    const d = dm[1].toLowerCase();
    const effect: Effect = d.startsWith("allow") ? "allow" : d === "deny" || d === "block" ? "deny" : "confirm";
    const phrase = dm[2].trim();
    if (!phrase) {
      errors.push({ line, message: "the rule is empty: say what to allow, confirm or deny" });
      return;
    }
    const r = matchPhrase(phrase, ctx);
    if ("error" in r) {
      errors.push({ line, message: `"${phrase}": ${r.error}`, suggestions: suggest(phrase) });
      return;
    }
    const id = `${pid}-L${line}`;
    const explanation = `${EFFECT_WORD[effect][1]} ${r.what}.`;
    const spec: RuleSpec = { id, effect, description: explanation, any: r.conds };
    // What the rule cannot tell apart from what it names is asked about, not let through.
    const also: RuleSpec[] = [];
    if (r.unsure && effect !== "allow") {
      const uid = `${id}-unsure`;
      also.push({ id: uid, effect: "confirm", description: `${EFFECT_WORD.confirm[1]} ${r.unsure.what}.`, any: r.unsure.conds });
    }
    rules.push({ id, line, effect, text: `${EFFECT_WORD[effect][0]}: ${phrase}`, explanation, spec, ...(also.length ? { also } : {}) });
  });
  if (errors.length) return { ok: false, errors };
  const cedar = rules.flatMap((r) => [r.spec, ...(r.also ?? [])].map(specToCedar)).join("\n\n");
  return { ok: true, policy: { mode, rules, cedar, agentsMd: renderAgentsMd(mode, rules) } };
}

/** The section appended to the agent's AGENTS.md so the model knows the rules the gate enforces. */
export function renderAgentsMd(mode: "default" | "lockdown", rules: Pick<CompiledRule, "text" | "explanation">[]): string {
  const out = [
    "## Security policy (enforced by the Tropic gate)",
    "",
    "Every tool call is checked against these rules before it runs. A blocked call returns the reason;",
    "do not try to work around it (other tools, encodings, scripts): the same rules apply to all of them.",
    "Calls marked REQUIRE CONFIRM wait for the user's approval.",
    "",
  ];
  if (mode === "lockdown") out.push("Mode: lockdown: only what an ALLOW rule names may run; everything else is blocked.", "");
  for (const r of rules) out.push(`- ${r.text} (${r.explanation})`);
  if (!rules.length) out.push("- (no custom rules; the default packs apply)");
  return `${out.join("\n")}\n`;
}
