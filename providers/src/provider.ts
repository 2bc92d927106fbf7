/**
 * The one interface every place an instance can run implements (local sandbox, AWS EC2, a user's
 * own machine), in the spirit of Trigger.dev's WorkloadManager and Coder's provisioners. The control
 * plane records desired state and a reconciler drives these calls; every call is idempotent, so a
 * reconcile step repeated after a crash does no harm.
 *
 * Crash safety: `reference(spec)` is a deterministic id the control plane saves BEFORE calling
 * `create` (for EC2 it is the client token), so a create interrupted half way is found again.
 */
export interface InstanceSpec {
  instanceId: string;
  ownerId: string;
  region: string;
  instanceType: string;
  /** 48-character hex gateway token (openclaw.json gateway.auth.token) */
  gatewayToken: string;
  /** 64-character instance API token the instance agent authenticates with */
  agentToken: string;
  /** where the instance agent dials out to (ws:// or wss://, the agent endpoint) */
  controlPlaneUrl: string;
  /** the reference the control plane saved for this instance (its provider may have moved it on: a new attempt, the machine's id) */
  providerRef?: string;
}

export type ObservedState = "provisioning" | "running" | "stopped" | "failed" | "gone";

export interface ObservedInstance {
  providerRef: string;
  state: ObservedState;
  /** e.g. {gateway: "http://127.0.0.1:41234"} */
  addresses: Record<string, string>;
  /** the URL the health check polls (the seed's nginx); without one, the gateway's /readyz through the agent's tunnel */
  healthUrl?: string;
  detail?: string;
}

export interface NetworkRules {
  /** CIDRs allowed to reach SSH (the user's Settings → SSH allowlist) */
  sshAllowlist: string[];
  /** CIDRs of the Tropic proxies allowed to reach the gateway port (never the public) */
  gatewayFrom: string[];
}

export interface InstanceProvider {
  readonly id: "local" | "aws" | "byo";
  reference(spec: Pick<InstanceSpec, "instanceId"> & Partial<Pick<InstanceSpec, "region">>): string;
  /** `progress` hears what long steps are doing (installing the runtime…), for the instance's state reason. */
  create(spec: InstanceSpec, progress?: (message: string) => void): Promise<ObservedInstance>;
  start(providerRef: string): Promise<void>;
  stop(providerRef: string): Promise<void>;
  /** Tears everything down; a second call (or a call for something already gone) is a no-op. */
  destroy(providerRef: string): Promise<void>;
  describe(providerRef: string): Promise<ObservedInstance>;
  pushSshKeys(providerRef: string, publicKeys: string[]): Promise<void>;
  applyNetworkRules(providerRef: string, rules: NetworkRules): Promise<void>;
}

/**
 * Where an instance's gateway serves its Control UI: the control plane's proxy path for it
 * (gateway.controlUi.basePath). The UI's links, assets and WebSocket URL are absolute paths under its
 * base path, so the gateway must know the prefix the browser sees; the proxy forwards it unchanged.
 */
export const gatewayBasePath = (instanceId: string) => `/i/${instanceId}`;

export class ProviderError extends Error {
  constructor(
    message: string,
    readonly code: "sandbox_unavailable" | "runtime_unavailable" | "not_found" | "failed",
  ) {
    super(message);
  }
}
