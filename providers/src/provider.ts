/**
 * The one interface every place an instance can run implements (local sandbox, AWS EC2, a
 * user's own machine). Implementations arrive with the instances issue; the control plane
 * only ever records desired state and lets a reconciler drive these calls.
 */
export interface InstanceSpec {
  instanceId: string;
  ownerId: string;
  region: string;
  instanceType: string;
}

export interface ObservedInstance {
  providerRef: string;
  state: "provisioning" | "running" | "stopped" | "failed" | "gone";
  addresses: Record<string, string>;
}

export interface InstanceProvider {
  readonly id: "local" | "aws" | "byo";
  create(spec: InstanceSpec): Promise<ObservedInstance>;
  start(providerRef: string): Promise<void>;
  stop(providerRef: string): Promise<void>;
  destroy(providerRef: string): Promise<void>;
  describe(providerRef: string): Promise<ObservedInstance>;
}
