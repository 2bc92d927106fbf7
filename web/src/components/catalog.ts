// The shapes of the marketplace catalog, skills, policies and credit usage that the Agents,
// Marketplace and Chat pages read (a subset of the OpenAPI document).
import { get, type Instance, type Page } from "../api.ts";

export interface Template {
  id: string;
  name: string;
  emoji?: string;
  tagline?: string;
  description: string;
  category?: string;
  defaultModel?: string;
  suggestedSkills?: string[];
  channels?: string[];
  policy?: string;
}
export interface SkillCredential {
  env: string;
  label: string;
  help?: string;
  pattern?: string;
  format?: string;
  secret: boolean;
  required: boolean;
}
export interface Skill {
  slug: string;
  name: string;
  emoji?: string;
  description: string;
  category?: string;
  auth: string;
  credentials: SkillCredential[];
  homepage?: string;
}
export interface SkillInstall {
  id: string;
  skillSlug: string;
  enabled: boolean;
  state: string;
  createdAt: string;
  updatedAt: string;
}
export interface ModelPreset {
  id: string;
  name: string;
  provider: string;
  modelId: string;
  creditsPerHour?: number;
  default?: boolean;
  description?: string;
}
export interface Policy {
  id: string;
  name: string;
  text: string;
  version: number;
  mode: string;
  rules: { id: string; line: number; effect: string; text: string; explanation: string }[];
}
export interface UserSettings {
  model: string;
  customModel: { provider: string; modelId: string; baseUrl?: string } | null;
}
export interface InstanceUsage {
  id: string;
  computeRate: number | null;
  modelRate: number;
  burnRate: number;
}
export interface Usage {
  burnRate: number;
  instances: InstanceUsage[];
}

export const PROVIDER_LABEL: Record<string, string> = { local: "This machine", aws: "Cloud (AWS)", byo: "Your machine" };

/** States an instance stays in until the user acts; anything else is on its way somewhere. */
export const SETTLED_INSTANCE = new Set(["running", "stopped", "failed"]);
export const SETTLED_AGENT = new Set(["ready", "stopped", "failed"]);

export async function listInstances(): Promise<Instance[]> {
  return (await get<Page<Instance>>("/api/v1/instances?limit=200")).items;
}
export async function listPolicies(): Promise<Policy[]> {
  return (await get<Page<Policy>>("/api/v1/policies?limit=200")).items;
}
