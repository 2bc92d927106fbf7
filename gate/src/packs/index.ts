// The three packs, with the seed's counts: base 41 (on by default), system 24, OWASP 38.
import { BASE } from "./base.ts";
import type { PackRule } from "./dsl.ts";
import { OWASP } from "./owasp.ts";
import { SYSTEM } from "./system.ts";

export type PackName = "base" | "system" | "owasp";
export const PACKS: Record<PackName, PackRule[]> = { base: BASE, system: SYSTEM, owasp: OWASP };
export type { PackRule };
