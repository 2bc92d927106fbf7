// The shapes of the marketplace catalog, skills, policies and credit usage that the Agents,
// Marketplace and Chat pages read (a subset of the OpenAPI document).
import { get, type Instance, type Page } from "../api.ts";

export interface Template {
  id: string;
  name: string;
  /** an icon key (components/icons.tsx draws it) */
  icon?: string;
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
  /** an icon key (components/icons.tsx draws it) */
  icon?: string;
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

/** GET /api/v1/providers: where instances can run on this server (unavailable ones say what to configure). */
export interface ProviderOffer {
  id: string;
  label: string;
  available: boolean;
  missing: string[];
  message: string | null;
  regions: string[];
  defaultRegion: string;
  instanceTypes: { id: string; label: string; vcpu: number; memoryGb: number; creditsPerHour: number | null }[];
  defaultInstanceType: string;
}

export const listProviders = () => get<{ items: ProviderOffer[] }>("/api/v1/providers").then((r) => r.items);

/** States an instance stays in until the user acts; anything else is on its way somewhere. */
export const SETTLED_INSTANCE = new Set(["running", "stopped", "failed"]);
export const SETTLED_AGENT = new Set(["ready", "stopped", "failed"]);

export async function listInstances(): Promise<Instance[]> {
  return (await get<Page<Instance>>("/api/v1/instances?limit=200")).items;
}
export async function listPolicies(): Promise<Policy[]> {
  return (await get<Page<Policy>>("/api/v1/policies?limit=200")).items;
}

/** GET /api/v1/credentials: write-only credentials, and which Claude key the caller's instances get. */
export interface Credential {
  name: string;
  last4: string;
  fingerprint: string;
  createdAt: string;
  updatedAt: string;
}
export type ModelKeySource = "own" | "platform" | "none";
export interface Credentials {
  items: Credential[];
  /** whether this Tropic has a platform Claude key (never the key itself) */
  platformKey: boolean;
  modelKey: { source: ModelKeySource };
}

/**
 * Where the caller's agents get a model from: their own Claude key, the platform's, a custom model
 * in Settings (which needs no Claude key), or nowhere — then Chat says so before opening OpenClaw.
 */
export interface ModelAccess {
  source: ModelKeySource;
  /** "<provider>/<model id>" of the custom model chosen in Settings, or null */
  custom: string | null;
  /** some model can answer: a key, or a custom model */
  ready: boolean;
}
export async function loadModelAccess(): Promise<ModelAccess> {
  const [creds, settings] = await Promise.all([get<Credentials>("/api/v1/credentials"), get<UserSettings>("/api/v1/settings")]);
  const cm = settings.model === "custom" ? settings.customModel : null;
  const custom = cm ? `${cm.provider}/${cm.modelId}` : null;
  return { source: creds.modelKey.source, custom, ready: creds.modelKey.source !== "none" || custom !== null };
}
