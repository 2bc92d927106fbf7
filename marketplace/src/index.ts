/**
 * @tropic/marketplace — the shipped marketplace data (agent templates, skills, model presets)
 * and typed, validated loaders for it.
 *
 * Data lives next to this package:
 *   templates/<id>/template.json + workspace files (AGENTS.md, SOUL.md, IDENTITY.md, USER.md, …)
 *   skills/<slug>/skill.json + SKILL.md (OpenClaw skill format)
 *   models.json (presets + the custom-model note)
 *
 * Everything is read and validated on first use, cross-checked (a template's default model and
 * suggested skills must exist, SKILL.md must agree with skill.json), then cached. Callers get
 * copies, so mutating a result never changes the cache.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";

/** Root of the marketplace package (the folder holding templates/, skills/, models.json). */
export const MARKETPLACE_ROOT: string = join(dirname(fileURLToPath(import.meta.url)), "..");

// ───────────────────────────── shared pieces ─────────────────────────────

const SLUG_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
/** Lower-case, hyphen-separated identifier (template ids, skill slugs, provider ids). */
export const Slug = z
  .string()
  .max(63, "must be at most 63 characters")
  .regex(SLUG_RE, "must be lower-case letters, digits and single hyphens (e.g. my-skill)");

const EnvName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, "must be an upper-case environment variable name (e.g. NOTION_API_KEY)");

const HttpsUrl = z.string().refine((v) => {
  try {
    return new URL(v).protocol === "https:";
  } catch {
    return false;
  }
}, "must be an https:// URL");

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

// ───────────────────────────── models ─────────────────────────────

/** A preset model offered in "Change your model" (from the pricing seed). */
export const ModelPreset = z
  .strictObject({
    /** "<provider>/<modelId>", the form OpenClaw uses for agents.*.model. */
    id: z.string().min(3),
    name: z.string().min(1),
    provider: Slug,
    modelId: z.string().min(1),
    /** Credits per hour added on top of compute when Tropic's own API key is used. */
    creditsPerHour: z.number().int().positive(),
    default: z.boolean().optional(),
    description: z.string().optional(),
  })
  .refine((m) => m.id === `${m.provider}/${m.modelId}`, {
    message: "id must be <provider>/<modelId>",
    path: ["id"],
  });
export type ModelPreset = z.infer<typeof ModelPreset>;

/**
 * A user-entered model: any provider + model id (Settings → Change your model).
 * baseUrl is for OpenAI-compatible or self-hosted endpoints: https, or plain http only on a
 * loopback address (a model served on the instance itself). Credentials in the URL are refused.
 */
export const CustomModel = z.strictObject({
  provider: Slug,
  modelId: z
    .string()
    .min(1, "is required")
    .max(200, "must be at most 200 characters")
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/, "must not contain spaces or unusual characters"),
  baseUrl: z
    .string()
    .max(2048)
    .superRefine((v, ctx) => {
      let u: URL;
      try {
        u = new URL(v);
      } catch {
        ctx.addIssue({ code: "custom", message: "must be a valid URL" });
        return;
      }
      if (u.username || u.password) {
        ctx.addIssue({ code: "custom", message: "must not contain credentials; use the provider key instead" });
      }
      if (u.protocol === "https:") return;
      if (u.protocol === "http:" && isLoopbackHost(u.hostname)) return;
      ctx.addIssue({ code: "custom", message: "must be an https:// URL (http is allowed only for localhost)" });
    })
    .optional(),
});
export type CustomModel = z.infer<typeof CustomModel>;

export const ModelsFile = z
  .strictObject({
    presets: z.array(ModelPreset).min(1),
    custom: z.strictObject({
      allowed: z.boolean(),
      note: z.string().min(1),
      examples: z.array(CustomModel),
    }),
  })
  .superRefine((f, ctx) => {
    const defaults = f.presets.filter((p) => p.default === true);
    if (defaults.length !== 1) {
      ctx.addIssue({ code: "custom", path: ["presets"], message: `exactly one preset must be default (found ${defaults.length})` });
    }
    const seen = new Set<string>();
    f.presets.forEach((p, i) => {
      if (seen.has(p.id)) ctx.addIssue({ code: "custom", path: ["presets", i, "id"], message: `duplicate model id ${p.id}` });
      seen.add(p.id);
    });
  });
export type ModelsFile = z.infer<typeof ModelsFile>;
export type CustomModelInfo = ModelsFile["custom"];

/** "<provider>/<modelId>" — the model reference OpenClaw expects (agents.defaults.model.primary). */
export function modelRef(m: { provider: string; modelId: string }): string {
  return `${m.provider}/${m.modelId}`;
}

// ───────────────────────────── icons ─────────────────────────────

/**
 * The icons templates and skills may name (`icon`): keys the dashboard draws as SVG
 * (web/src/components/icon-shapes.ts), never emoji, which need an emoji font to render.
 */
export const ICON_KEYS = [
  "palm-tree",
  "microscope",
  "lifebuoy",
  "wrench",
  "coins",
  "target",
  "pen",
  "table",
  "search",
  "git-branch",
  "calendar",
  "bar-chart",
  "set-square",
  "notebook",
  "chat-bubble",
  "check-square",
  "sun-cloud",
] as const;
export const IconKey = z.enum(ICON_KEYS, { message: `must be one of the icon keys: ${ICON_KEYS.join(", ")}` });
export type IconKey = z.infer<typeof IconKey>;

// ───────────────────────────── skills ─────────────────────────────

export const SkillCategory = z.enum(["productivity", "developer", "communication", "search", "data", "lifestyle"]);
export type SkillCategory = z.infer<typeof SkillCategory>;

export const SkillAuth = z.enum(["none", "api-key", "google-oauth"]);
export type SkillAuth = z.infer<typeof SkillAuth>;

/** One value the user enters when installing a skill; written to the skill's env on the instance. */
export const SkillCredential = z.strictObject({
  env: EnvName,
  label: z.string().min(1),
  /** Where to get the value, step by step. */
  help: z.string().min(1),
  /** Regex source the whole value must match (anchor it with ^…$). */
  pattern: z
    .string()
    .refine((p) => {
      try {
        new RegExp(p);
        return true;
      } catch {
        return false;
      }
    }, "must be a valid regular expression")
    .optional(),
  /** Human description of the expected shape, used in error messages (never the value itself). */
  format: z.string().optional(),
  secret: z.boolean(),
  required: z.boolean().default(true),
});
export type SkillCredential = z.infer<typeof SkillCredential>;

export const SkillManifest = z
  .strictObject({
    slug: Slug,
    name: z.string().min(1),
    icon: IconKey,
    description: z.string().min(1).max(300),
    category: SkillCategory,
    auth: SkillAuth,
    /** OAuth scopes Tropic requests on the user's Google connection (auth: google-oauth only). */
    scopes: z.array(HttpsUrl).optional(),
    credentials: z.array(SkillCredential),
    /** The CLI the agent runs for this skill. */
    command: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, "must be a bare command name"),
    requires: z.strictObject({ bins: z.array(z.string().min(1)) }).optional(),
    homepage: HttpsUrl,
  })
  .superRefine((s, ctx) => {
    const envs = new Set<string>();
    s.credentials.forEach((c, i) => {
      if (envs.has(c.env)) ctx.addIssue({ code: "custom", path: ["credentials", i, "env"], message: `duplicate credential ${c.env}` });
      envs.add(c.env);
    });
    if (s.auth === "google-oauth") {
      if (!s.scopes?.length) ctx.addIssue({ code: "custom", path: ["scopes"], message: "google-oauth skills must list their OAuth scopes" });
      if (s.credentials.length)
        ctx.addIssue({ code: "custom", path: ["credentials"], message: "google-oauth skills take no credentials (they use the Google connection)" });
    } else if (s.scopes !== undefined) {
      ctx.addIssue({ code: "custom", path: ["scopes"], message: "scopes are only for auth: google-oauth" });
    }
    if (s.auth === "api-key" && !s.credentials.some((c) => c.required && c.secret)) {
      ctx.addIssue({ code: "custom", path: ["credentials"], message: "api-key skills need at least one required secret credential" });
    }
    if (s.auth === "none" && s.credentials.some((c) => c.required)) {
      ctx.addIssue({ code: "custom", path: ["credentials"], message: "auth: none skills cannot have required credentials" });
    }
    if (s.requires && !s.requires.bins.includes(s.command)) {
      ctx.addIssue({ code: "custom", path: ["requires", "bins"], message: `must include the command ${s.command}` });
    }
  });
export type SkillManifest = z.infer<typeof SkillManifest>;

/** OpenClaw SKILL.md front matter (the keys OpenClaw reads; others are kept as strings). */
export const SkillFrontMatter = z.looseObject({
  name: Slug,
  description: z.string().min(1),
  homepage: z.string().optional(),
  metadata: z
    .looseObject({
      openclaw: z
        .looseObject({
          emoji: z.string().optional(),
          primaryEnv: z.string().optional(),
          requires: z
            .looseObject({
              bins: z.array(z.string()).optional(),
              anyBins: z.array(z.string()).optional(),
              env: z.array(z.string()).optional(),
              config: z.array(z.string()).optional(),
            })
            .optional(),
        })
        .optional(),
    })
    .optional(),
});
export type SkillFrontMatter = z.infer<typeof SkillFrontMatter>;

export type Skill = SkillManifest & {
  /** The full SKILL.md text, as installed into <workspace>/skills/<slug>/SKILL.md. */
  skillMd: string;
  frontMatter: SkillFrontMatter;
  /**
   * The program the skill installs (the skill folder's bin/* and lib/*, text files), keyed by path
   * relative to the skill folder ("bin/gws-sheets", "lib/gws-sheets.mjs"); bin/* are the commands
   * put on the gateway's PATH (docs/skills.md). Empty for a skill that is only SKILL.md.
   */
  programFiles: Record<string, string>;
};

// ───────────────────────────── templates ─────────────────────────────

/**
 * The policy lines templates may use. The policy compiler guarantees exactly these phrasings
 * (the seed's Policies example); templates use only them, plus `#` comments and blank lines.
 */
export const SEED_POLICY_RULES = [
  "ALLOW: browse any public website",
  "ALLOW: read files in workspace directory",
  "ALLOW: execute code in sandbox environment",
  "REQUIRE CONFIRM: download files larger than 10MB",
  "REQUIRE CONFIRM: send WhatsApp messages",
  "DENY: access /etc/passwd or system credentials",
  "DENY: run sudo or elevated commands",
  "DENY: outbound connections on port 22",
] as const;
export type SeedPolicyRule = (typeof SEED_POLICY_RULES)[number];

/** Returns one message per bad line ("line 3: …"); empty when the policy is usable. */
export function checkTemplatePolicy(text: string): string[] {
  const problems: string[] = [];
  const allowed = new Set<string>(SEED_POLICY_RULES);
  let rules = 0;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    rules++;
    if (!allowed.has(line)) problems.push(`line ${i + 1}: "${line.slice(0, 80)}" is not one of the supported policy rules`);
  });
  if (rules === 0) problems.push("policy has no rules");
  return problems;
}

/** Workspace files every template must ship (OpenClaw reads them from the agent workspace). */
export const REQUIRED_WORKSPACE_FILES = ["AGENTS.md", "SOUL.md", "IDENTITY.md", "USER.md"] as const;

export const TemplateCategory = z.enum(["productivity", "research", "support", "engineering", "sales", "marketing", "finance"]);
export type TemplateCategory = z.infer<typeof TemplateCategory>;

export const Channel = z.enum(["webchat", "whatsapp", "telegram"]);
export type Channel = z.infer<typeof Channel>;

export const TemplateManifest = z.strictObject({
  id: Slug,
  name: z.string().min(1).max(60),
  icon: IconKey,
  tagline: z.string().min(1).max(120),
  description: z.string().min(1).max(1000),
  category: TemplateCategory,
  /** A preset id from models.json. */
  defaultModel: z.string().min(1),
  suggestedSkills: z.array(Slug),
  /** Channels the agent is designed for (informational; WhatsApp needs pairing). */
  channels: z.array(Channel).optional(),
  /** Suggested policy, plain text (ALLOW / REQUIRE CONFIRM / DENY lines). */
  policy: z.string().superRefine((text, ctx) => {
    for (const message of checkTemplatePolicy(text)) ctx.addIssue({ code: "custom", message });
  }),
});
export type TemplateManifest = z.infer<typeof TemplateManifest>;

export type Template = TemplateManifest & {
  /** Workspace files keyed by path relative to the workspace (e.g. "AGENTS.md"). */
  files: Record<string, string>;
};

// ───────────────────────────── loading ─────────────────────────────

export interface MarketplaceIssue {
  /** File relative to the marketplace root. */
  file: string;
  /** Dotted field path inside the file, or "" for the whole file. */
  field: string;
  message: string;
}

export class MarketplaceError extends Error {
  readonly issues: MarketplaceIssue[];
  constructor(issues: MarketplaceIssue[]) {
    super(`invalid marketplace data:\n${issues.map((i) => `  ${i.file}${i.field ? ` (${i.field})` : ""}: ${i.message}`).join("\n")}`);
    this.name = "MarketplaceError";
    this.issues = issues;
  }
}

export interface Marketplace {
  templates: Map<string, Template>;
  skills: Map<string, Skill>;
  models: ModelsFile;
}

const MAX_FILE_BYTES = 256 * 1024;
const TEXT_EXT = /\.(md|txt|json|csv|ya?ml)$/;
const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Splits a SKILL.md into front matter and body. Supports the subset OpenClaw itself parses:
 * `key: value` lines, optionally quoted, and single-line JSON for `metadata`.
 */
export function parseFrontMatter(text: string): { data: Record<string, unknown>; body: string } | null {
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/.exec(text);
  if (!m) return null;
  const data: Record<string, unknown> = {};
  for (const raw of m[1].split(/\r?\n/)) {
    if (raw.trim() === "" || raw.trimStart().startsWith("#")) continue;
    const kv = /^([A-Za-z][\w-]*):\s*(.*)$/.exec(raw);
    if (!kv) throw new Error(`cannot parse front matter line: ${raw.slice(0, 80)}`);
    const [, key, rawValue] = kv;
    let value: unknown = rawValue.trim();
    const s = value as string;
    if (s.startsWith("{") || s.startsWith("[")) {
      try {
        value = JSON.parse(s);
      } catch {
        throw new Error(`front matter "${key}" must be single-line JSON`);
      }
    } else if ((s.startsWith('"') && s.endsWith('"') && s.length >= 2) || (s.startsWith("'") && s.endsWith("'") && s.length >= 2)) {
      value = s.startsWith('"') ? JSON.parse(s) : s.slice(1, -1).replace(/''/g, "'");
    } else if (s === "true" || s === "false") {
      value = s === "true";
    }
    data[key] = value;
  }
  return { data, body: m[2] };
}

function zodIssues(file: string, err: z.ZodError): MarketplaceIssue[] {
  return err.issues.map((i) => ({ file, field: i.path.map(String).join("."), message: i.message }));
}

function readJson(root: string, rel: string, issues: MarketplaceIssue[]): unknown {
  try {
    return JSON.parse(readFileSync(join(root, rel), "utf8"));
  } catch (e) {
    issues.push({ file: rel, field: "", message: e instanceof SyntaxError ? `invalid JSON: ${e.message}` : "cannot read file" });
    return undefined;
  }
}

function subdirs(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => !n.startsWith(".") && statSync(join(dir, n)).isDirectory()).sort();
}

function listFilesRecursive(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFilesRecursive(p));
    else out.push(p);
  }
  return out;
}

function loadModels(root: string, issues: MarketplaceIssue[]): ModelsFile | undefined {
  const raw = readJson(root, "models.json", issues);
  if (raw === undefined) return undefined;
  const r = ModelsFile.safeParse(raw);
  if (!r.success) {
    issues.push(...zodIssues("models.json", r.error));
    return undefined;
  }
  return r.data;
}

function loadSkill(root: string, slug: string, issues: MarketplaceIssue[]): Skill | undefined {
  const jsonRel = `skills/${slug}/skill.json`;
  const mdRel = `skills/${slug}/SKILL.md`;
  const raw = readJson(root, jsonRel, issues);
  if (raw === undefined) return undefined;
  const r = SkillManifest.safeParse(raw);
  if (!r.success) {
    issues.push(...zodIssues(jsonRel, r.error));
    return undefined;
  }
  const manifest = r.data;
  if (manifest.slug !== slug) issues.push({ file: jsonRel, field: "slug", message: `must equal the folder name "${slug}"` });

  let skillMd: string;
  try {
    skillMd = readFileSync(join(root, mdRel), "utf8");
  } catch {
    issues.push({ file: mdRel, field: "", message: "missing SKILL.md" });
    return undefined;
  }
  let parsed: ReturnType<typeof parseFrontMatter>;
  try {
    parsed = parseFrontMatter(skillMd);
  } catch (e) {
    issues.push({ file: mdRel, field: "front matter", message: (e as Error).message });
    return undefined;
  }
  if (!parsed) {
    issues.push({ file: mdRel, field: "", message: "must start with YAML front matter (--- name/description ---)" });
    return undefined;
  }
  const fm = SkillFrontMatter.safeParse(parsed.data);
  if (!fm.success) {
    issues.push(...zodIssues(mdRel, fm.error));
    return undefined;
  }
  const front = fm.data;
  const before = issues.length;
  if (front.name !== slug) issues.push({ file: mdRel, field: "name", message: `must equal the skill slug "${slug}"` });
  if (parsed.body.trim().length < 200) issues.push({ file: mdRel, field: "", message: "needs real usage instructions after the front matter" });
  const oc = front.metadata?.openclaw;
  const declaredEnv = new Set(oc?.requires?.env ?? []);
  for (const c of manifest.credentials) {
    if (c.required && !declaredEnv.has(c.env)) {
      issues.push({ file: mdRel, field: "metadata.openclaw.requires.env", message: `must list required credential ${c.env}` });
    }
  }
  for (const e of declaredEnv) {
    if (!manifest.credentials.some((c) => c.env === e)) {
      issues.push({ file: mdRel, field: "metadata.openclaw.requires.env", message: `${e} is not a credential in skill.json` });
    }
  }
  if (oc?.primaryEnv && !manifest.credentials.some((c) => c.env === oc.primaryEnv)) {
    issues.push({ file: mdRel, field: "metadata.openclaw.primaryEnv", message: `${oc.primaryEnv} is not a credential in skill.json` });
  }
  if (!skillMd.includes(manifest.command)) {
    issues.push({ file: mdRel, field: "", message: `never mentions the skill's command ${manifest.command}` });
  }
  const programFiles = loadProgramFiles(root, slug, issues);
  if (manifest.requires?.bins?.length && Object.keys(programFiles).length) {
    for (const b of manifest.requires.bins)
      if (programFiles[`bin/${b}`] === undefined)
        issues.push({ file: `skills/${slug}/bin`, field: "", message: `requires.bins names ${b}, which bin/ lacks` });
  }
  if (issues.length > before) return undefined;
  return { ...manifest, skillMd, frontMatter: front, programFiles };
}

/** What a skill installs beside SKILL.md: bin/* (flat: the commands) and lib/** (their code), text only. */
function loadProgramFiles(root: string, slug: string, issues: MarketplaceIssue[]): Record<string, string> {
  const files: Record<string, string> = {};
  for (const sub of ["bin", "lib"]) {
    const dir = join(root, "skills", slug, sub);
    let paths: string[];
    try {
      paths = listFilesRecursive(dir);
    } catch {
      continue;
    }
    for (const abs of paths) {
      const rel = relative(join(root, "skills", slug), abs)
        .split(sep)
        .join("/");
      if (
        !/^(bin\/[A-Za-z0-9][A-Za-z0-9._-]*|lib\/[A-Za-z0-9][A-Za-z0-9._/-]*)$/.test(rel) ||
        rel.includes("..") ||
        (sub === "bin" && rel.split("/").length !== 2)
      ) {
        issues.push({
          file: `skills/${slug}/${rel}`,
          field: "",
          message: "skill program files must have simple names (bin/ holds commands, no subfolders)",
        });
        continue;
      }
      files[rel] = readFileSync(abs, "utf8");
    }
  }
  return files;
}

function loadTemplate(root: string, id: string, issues: MarketplaceIssue[]): Template | undefined {
  const dirRel = `templates/${id}`;
  const jsonRel = `${dirRel}/template.json`;
  const raw = readJson(root, jsonRel, issues);
  if (raw === undefined) return undefined;
  const r = TemplateManifest.safeParse(raw);
  if (!r.success) {
    issues.push(...zodIssues(jsonRel, r.error));
    return undefined;
  }
  const before = issues.length;
  if (r.data.id !== id) issues.push({ file: jsonRel, field: "id", message: `must equal the folder name "${id}"` });

  const dir = join(root, dirRel);
  const files: Record<string, string> = {};
  for (const abs of listFilesRecursive(dir)) {
    const rel = relative(dir, abs).split(sep).join("/");
    if (rel === "template.json") continue;
    const fileRel = `${dirRel}/${rel}`;
    if (!rel.split("/").every((s) => SAFE_SEGMENT.test(s)) || !TEXT_EXT.test(rel)) {
      issues.push({ file: fileRel, field: "", message: "workspace files must be plain text (.md, .txt, .json, .csv, .yaml) with simple names" });
      continue;
    }
    if (statSync(abs).size > MAX_FILE_BYTES) {
      issues.push({ file: fileRel, field: "", message: `larger than ${MAX_FILE_BYTES} bytes` });
      continue;
    }
    files[rel] = readFileSync(abs, "utf8");
  }
  for (const name of REQUIRED_WORKSPACE_FILES) {
    if (!files[name]?.trim()) issues.push({ file: `${dirRel}/${name}`, field: "", message: "required workspace file is missing or empty" });
  }
  if (issues.length > before) return undefined;
  return { ...r.data, files };
}

function oneIcon(seen: Map<string, string>, file: string, icon: string, issues: MarketplaceIssue[]) {
  const other = seen.get(icon);
  if (other) issues.push({ file, field: "icon", message: `"${icon}" is already the icon of ${other}; choose another` });
  else seen.set(icon, file);
}

/**
 * Reads and validates a whole marketplace directory (no caching). Throws MarketplaceError
 * listing every problem found. Used by the cached accessors below and by tests.
 */
export function loadMarketplace(root: string = MARKETPLACE_ROOT): Marketplace {
  const issues: MarketplaceIssue[] = [];
  const models = loadModels(root, issues);

  const skills = new Map<string, Skill>();
  for (const slug of subdirs(join(root, "skills"))) {
    const s = loadSkill(root, slug, issues);
    if (s) skills.set(slug, s);
  }

  const templates = new Map<string, Template>();
  for (const id of subdirs(join(root, "templates"))) {
    const t = loadTemplate(root, id, issues);
    if (!t) continue;
    const rel = `templates/${id}/template.json`;
    if (models && !models.presets.some((p) => p.id === t.defaultModel)) {
      issues.push({ file: rel, field: "defaultModel", message: `unknown model "${t.defaultModel}"; use a preset id from models.json` });
    }
    t.suggestedSkills.forEach((s, i) => {
      if (!skills.has(s)) issues.push({ file: rel, field: `suggestedSkills.${i}`, message: `unknown skill "${s}"` });
    });
    templates.set(id, t);
  }

  // One icon per template and per skill: two cards with the same picture tell the user nothing.
  const icons = new Map<string, string>();
  for (const t of templates.values()) oneIcon(icons, `templates/${t.id}/template.json`, t.icon, issues);
  icons.clear();
  for (const s of skills.values()) oneIcon(icons, `skills/${s.slug}/skill.json`, s.icon, issues);

  if (issues.length > 0 || !models) throw new MarketplaceError(issues);
  return { templates, skills, models };
}

let cache: Marketplace | undefined;

function catalog(): Marketplace {
  cache ??= loadMarketplace(MARKETPLACE_ROOT);
  return cache;
}

/** Forgets the cached data; the next call re-reads the files. */
export function clearMarketplaceCache(): void {
  cache = undefined;
}

const copy = <T>(v: T): T => structuredClone(v);

// ───────────────────────────── public accessors ─────────────────────────────

/** All templates with their workspace files, sorted by id (strip `files` for a summary list). */
export function listTemplates(): Template[] {
  return copy([...catalog().templates.values()]);
}

/** One template including its workspace files, or undefined. */
export function getTemplate(id: string): Template | undefined {
  const t = catalog().templates.get(id);
  return t ? copy(t) : undefined;
}

/** All skills (manifests, without SKILL.md text), sorted by slug. */
export function listSkills(): SkillManifest[] {
  return [...catalog().skills.values()].map(({ skillMd: _md, frontMatter: _fm, programFiles: _pf, ...manifest }) => copy(manifest));
}

/** One skill including its SKILL.md and program files (bin/, lib/), or undefined. */
export function getSkill(slug: string): Skill | undefined {
  const s = catalog().skills.get(slug);
  return s ? copy(s) : undefined;
}

/** The preset models in display order. */
export function listModels(): ModelPreset[] {
  return copy(catalog().models.presets);
}

/** A preset by id ("anthropic/claude-sonnet-4-6"), or undefined. */
export function getModel(id: string): ModelPreset | undefined {
  const m = catalog().models.presets.find((p) => p.id === id);
  return m ? copy(m) : undefined;
}

/** The default preset (Claude Sonnet 4.6). */
export function defaultModel(): ModelPreset {
  const m = catalog().models.presets.find((p) => p.default === true);
  if (!m) throw new Error("models.json has no default preset");
  return copy(m);
}

/** What models.json says about custom provider + model ids (allowed, note, examples). */
export function customModelInfo(): CustomModelInfo {
  return copy(catalog().models.custom);
}

export interface FieldError {
  field: string;
  message: string;
}
export type CredentialValidation = { ok: true } | { ok: false; errors: FieldError[] };

const MAX_CREDENTIAL_LENGTH = 4096;

/**
 * Checks the values a user entered when installing a skill: every required credential present,
 * each value matching its pattern, no unknown fields. Messages name the field and the expected
 * format and never contain the value.
 */
export function validateSkillCredentials(slug: string, values: Record<string, string>): CredentialValidation {
  const skill = catalog().skills.get(slug);
  if (!skill) return { ok: false, errors: [{ field: "slug", message: `unknown skill "${String(slug).slice(0, 64)}"` }] };
  if (values === null || typeof values !== "object" || Array.isArray(values)) {
    return { ok: false, errors: [{ field: "values", message: "must be an object of NAME: value" }] };
  }
  const errors: FieldError[] = [];
  const known = new Map(skill.credentials.map((c) => [c.env, c]));
  for (const key of Object.keys(values)) {
    if (!known.has(key)) {
      const expected = skill.credentials.length ? `expected ${[...known.keys()].join(", ")}` : `${skill.name} takes no credentials`;
      errors.push({ field: key.slice(0, 64), message: `unknown field for ${skill.name}; ${expected}` });
    }
  }
  for (const c of skill.credentials) {
    const v: unknown = Object.hasOwn(values, c.env) ? values[c.env] : undefined;
    if (v === undefined || v === null || v === "") {
      if (c.required) errors.push({ field: c.env, message: `${c.label} is required` });
      continue;
    }
    if (typeof v !== "string") {
      errors.push({ field: c.env, message: `${c.label} must be a string` });
      continue;
    }
    if (v.length > MAX_CREDENTIAL_LENGTH) {
      errors.push({ field: c.env, message: `${c.label} is too long (max ${MAX_CREDENTIAL_LENGTH} characters)` });
      continue;
    }
    if (v.trim() !== v) {
      errors.push({ field: c.env, message: `${c.label} has leading or trailing whitespace; paste it again without spaces` });
      continue;
    }
    if (c.pattern && !new RegExp(c.pattern).test(v)) {
      errors.push({
        field: c.env,
        message: `${c.label} doesn't look right: expected ${c.format ?? `a value matching ${c.pattern}`}`,
      });
    }
  }
  return errors.length ? { ok: false, errors } : { ok: true };
}
