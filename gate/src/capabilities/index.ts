// The capability model of programs (see table.ts for the data and its sources): a program's entry,
// and which of its capabilities a given argument list triggers.

import { ASSIGNMENT_TRIGGER, PROGRAMS } from "./table.ts";
import type { Cap, Prog } from "./types.ts";

export type { Cap, ListenSpec, NetSpec, Pos, Prog } from "./types.ts";
export { PROGRAMS };

const EMPTY: Prog = { can: [] };
/** The entry of a program (by basename), or an empty one for a program the table does not know. */
export function progOf(program: string): Prog {
  return Object.hasOwn(PROGRAMS, program) ? PROGRAMS[program] : EMPTY;
}
export const knownProgram = (program: string) => Object.hasOwn(PROGRAMS, program);

/** Programs by what their positional arguments are, and other sets the analyser uses. */
export function programsWith(test: (p: Prog) => boolean): Set<string> {
  return new Set(Object.entries(PROGRAMS).flatMap(([n, p]) => (test(p) ? [n] : [])));
}

/** Whether one trigger of an `on` map (or a `listen.when`) matches the argument list.
 * `flags` are the expanded short and long flags (`-rf` → r, f; `--force` → force). */
export function triggerMatches(t: string, args: string[], flags: string[]): boolean {
  if (t === "*") return true;
  if (t === ASSIGNMENT_TRIGGER) return args.some((a) => !a.startsWith("-") && /^[\w.\-/]+=/.test(a));
  if (t.startsWith("--")) return args.some((a) => a === t || a.startsWith(`${t}=`));
  if (/^-[A-Za-z0-9]$/.test(t)) return flags.includes(t[1]) || args.some((a) => a.startsWith(t) && !a.startsWith("--"));
  if (t.startsWith("-")) return args.some((a) => a === t || a.startsWith(`${t}=`));
  // a subcommand also counts inside one quoted argument (`nft 'add rule …'`)
  return args.includes(t) || args.some((a) => a.includes(" ") && a.trim().split(/\s+/).includes(t));
}

/** The capabilities an argument list triggers through the program's `on` map. */
export function triggeredCaps(p: Prog, args: string[], flags: string[]): Cap[] {
  if (!p.on) return [];
  const out = new Set<Cap>();
  for (const [t, caps] of Object.entries(p.on)) if (triggerMatches(t, args, flags)) for (const cap of caps.split(" ")) out.add(cap as Cap);
  return [...out];
}

/** Every capability any program of the table has, with how many programs have it (for docs and tests). */
export function capabilityCounts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of Object.values(PROGRAMS)) for (const cap of p.can) out[cap] = (out[cap] ?? 0) + 1;
  return out;
}
