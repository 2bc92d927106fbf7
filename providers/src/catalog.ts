/**
 * Where instances can run and on what. Both editions of the product docs are covered:
 * the AWS edition's t3.micro (1 GB + 2 GB swap) / t3.small, and the newer 2 vCPU / 4 GB image (t3.medium).
 */
export type ProviderId = "local" | "aws" | "byo";

export interface InstanceTypeInfo {
  id: string;
  label: string;
  vcpu: number;
  memoryGb: number;
}

export interface ProviderInfo {
  id: ProviderId;
  label: string;
  regions: string[];
  defaultRegion: string;
  instanceTypes: InstanceTypeInfo[];
  defaultInstanceType: string;
}

export const PROVIDERS: Record<ProviderId, ProviderInfo> = {
  local: {
    id: "local",
    label: "This machine (sandboxed process)",
    regions: ["local"],
    defaultRegion: "local",
    instanceTypes: [{ id: "local", label: "Sandboxed process on the control plane's host", vcpu: 0, memoryGb: 0 }],
    defaultInstanceType: "local",
  },
  aws: {
    id: "aws",
    label: "AWS EC2",
    regions: ["us-east-1", "ap-southeast-1", "eu-west-1", "eu-west-2"],
    defaultRegion: "us-east-1",
    instanceTypes: [
      { id: "t3.micro", label: "t3.micro — 2 vCPU, 1 GB + 2 GB swap", vcpu: 2, memoryGb: 1 },
      { id: "t3.small", label: "t3.small — 2 vCPU, 2 GB", vcpu: 2, memoryGb: 2 },
      { id: "t3.medium", label: "t3.medium — 2 vCPU, 4 GB", vcpu: 2, memoryGb: 4 },
    ],
    defaultInstanceType: "t3.micro",
  },
  byo: {
    id: "byo",
    label: "Your own Mac or Linux machine",
    regions: ["byo"],
    defaultRegion: "byo",
    instanceTypes: [{ id: "byo", label: "Your machine", vcpu: 0, memoryGb: 0 }],
    defaultInstanceType: "byo",
  },
};

export function providerInfo(id: string): ProviderInfo | undefined {
  return (PROVIDERS as Record<string, ProviderInfo>)[id];
}
