export * from "./catalog.ts";
export type { InstanceProvider, InstanceSpec, NetworkRules, ObservedInstance, ObservedState } from "./provider.ts";
export { ProviderError } from "./provider.ts";
export { LocalProvider, type LocalProviderOptions, sandboxArgs, hasBwrap } from "./local.ts";
