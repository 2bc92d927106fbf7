// @tropic/policy: plain-text policies and Settings → rule specs + Cedar.
export type { Effect, OpKind, Cond, RuleSpec, OpContext } from "./spec.ts";
export { specToCedar, specToCedarFlat, condToCedar, condMatches, specMatches, emptyContext, like, globToRegExp, cedarString } from "./spec.ts";
export type { PolicyError, CompiledRule, CompiledPolicy, CompileOptions } from "./compile.ts";
export { compilePolicy, renderAgentsMd, matchPhrase, suggest } from "./compile.ts";
export type { GateSettings } from "./settings.ts";
export { compileSettings, validatePhonePattern } from "./settings.ts";
export { CATALOG, KNOWN_PHRASES } from "./catalog.ts";
export * as vocab from "./vocab.ts";
