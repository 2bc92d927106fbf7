export * from "./catalog.ts";
export type { InstanceProvider, InstanceSpec, ObservedInstance } from "./provider.ts";
