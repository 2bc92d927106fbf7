export * from "./catalog.ts";
export type { InstanceProvider, InstanceSpec, NetworkRules, ObservedInstance, ObservedState } from "./provider.ts";
export { gatewayBasePath, ProviderError } from "./provider.ts";
export { NGINX_SITE_TEMPLATE, type NginxSiteOptions, renderNginxSite } from "./nginx.ts";
export {
  freePort,
  hasBwrap,
  inCgroups,
  instanceCgroups,
  LocalProvider,
  type LocalProviderOptions,
  localSandboxPlan,
  privateAncestors,
  sandboxArgs,
} from "./local.ts";
export { BLOCKED_V4, ensureNetns, hostAddresses, netnsPath, netnsRules, networkHelperArgv, networkHelpers, removeNetns } from "./netns.ts";
export { BYO_OFFLINE, BYO_WAITING, ByoProvider, HOST_COMMANDS, type HostChannel, type HostCommand } from "./byo.ts";
export * from "./aws/index.ts";
