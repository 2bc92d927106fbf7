import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, unlinkSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  clearMarketplaceCache,
  CustomModel,
  customModelInfo,
  defaultModel,
  getModel,
  getSkill,
  getTemplate,
  listModels,
  listSkills,
  listTemplates,
  loadMarketplace,
  MARKETPLACE_ROOT,
  MarketplaceError,
  modelRef,
  parseFrontMatter,
  REQUIRED_WORKSPACE_FILES,
  SEED_POLICY_RULES,
  checkTemplatePolicy,
  validateSkillCredentials,
} from "../src/index.ts";

test("ships at least 6 templates and 6 skills", () => {
  assert.ok(listTemplates().length >= 6, "templates");
  assert.ok(listSkills().length >= 6, "skills");
  for (const slug of ["google-sheets", "notion"]) assert.ok(getSkill(slug), slug);
});

test("every template loads with non-empty workspace files, a known model and known skills", () => {
  for (const summary of listTemplates()) {
    const t = getTemplate(summary.id);
    assert.ok(t, summary.id);
    for (const f of REQUIRED_WORKSPACE_FILES) {
      assert.ok(t.files[f]?.trim().length, `${t.id}/${f} is empty`);
    }
    const agentsLines = t.files["AGENTS.md"].split("\n").length;
    assert.ok(agentsLines >= 40, `${t.id}/AGENTS.md has only ${agentsLines} lines`);
    assert.ok(getModel(t.defaultModel), `${t.id}: unknown model ${t.defaultModel}`);
    assert.ok(t.suggestedSkills.length > 0, `${t.id} suggests no skills`);
    for (const s of t.suggestedSkills) assert.ok(getSkill(s), `${t.id}: unknown skill ${s}`);
    assert.ok(t.tagline.length > 0 && t.description.length > 0 && t.name.length > 0);
  }
});

test("template policies use only the supported rule phrasings and always deny the dangerous three", () => {
  const allowed = new Set<string>(SEED_POLICY_RULES);
  for (const t of listTemplates()) {
    assert.deepEqual(checkTemplatePolicy(t.policy), [], t.id);
    const rules = t.policy
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    for (const r of rules) assert.ok(allowed.has(r), `${t.id}: ${r}`);
    for (const d of SEED_POLICY_RULES.filter((r) => r.startsWith("DENY:"))) assert.ok(rules.includes(d), `${t.id} lacks ${d}`);
  }
  const support = getTemplate("customer-support");
  assert.ok(support?.policy.includes("REQUIRE CONFIRM: send WhatsApp messages"));
});

test("checkTemplatePolicy names the bad line", () => {
  const problems = checkTemplatePolicy("# ok\nALLOW: browse any public website\nALLOW: everything\n");
  assert.equal(problems.length, 1);
  assert.match(problems[0], /^line 3: /);
  assert.deepEqual(checkTemplatePolicy("# only comments\n"), ["policy has no rules"]);
});

test("every SKILL.md has OpenClaw front matter with name and description", () => {
  for (const s of listSkills()) {
    const full = getSkill(s.slug);
    assert.ok(full, s.slug);
    const fm = parseFrontMatter(full.skillMd);
    assert.ok(fm, `${s.slug}: no front matter`);
    assert.equal(fm.data.name, s.slug);
    assert.equal(typeof fm.data.description, "string");
    assert.ok((fm.data.description as string).length > 20, `${s.slug}: description too short`);
    assert.ok(fm.body.includes("```"), `${s.slug}: SKILL.md has no example commands`);
    assert.ok(full.skillMd.includes(s.command), `${s.slug}: SKILL.md never uses ${s.command}`);
    for (const c of s.credentials) {
      if (c.pattern) assert.doesNotThrow(() => new RegExp(c.pattern!), `${s.slug}.${c.env}`);
      if (c.required) assert.ok(full.frontMatter.metadata?.openclaw?.requires?.env?.includes(c.env), `${s.slug} SKILL.md lacks ${c.env}`);
    }
  }
});

test("google-sheets uses the Google connection and notion needs NOTION_API_KEY", () => {
  const sheets = getSkill("google-sheets")!;
  assert.equal(sheets.auth, "google-oauth");
  assert.equal(sheets.command, "gws-sheets");
  assert.deepEqual(sheets.credentials, []);
  assert.ok(sheets.scopes?.some((s) => s.includes("spreadsheets")));
  assert.match(sheets.skillMd, /gws-sheets \+read --spreadsheet/);

  const notion = getSkill("notion")!;
  assert.equal(notion.auth, "api-key");
  assert.equal(notion.command, "notion-cli");
  assert.deepEqual(
    notion.credentials.map((c) => [c.env, c.secret, c.required]),
    [["NOTION_API_KEY", true, true]],
  );
});

test("models: the three presets from the pricing seed, Sonnet 4.6 is the default", () => {
  const byName = Object.fromEntries(listModels().map((m) => [m.name, m]));
  assert.equal(byName["Claude Opus 4.6"]?.creditsPerHour, 100);
  assert.equal(byName["Claude Sonnet 4.6"]?.creditsPerHour, 50);
  assert.equal(byName["Claude Haiku 4.5"]?.creditsPerHour, 20);
  for (const m of listModels()) {
    assert.equal(m.provider, "anthropic");
    assert.equal(m.id, modelRef(m));
  }
  const d = defaultModel();
  assert.equal(d.id, "anthropic/claude-sonnet-4-6");
  assert.equal(d.default, true);
  assert.equal(getModel("anthropic/claude-sonnet-4-6")?.name, "Claude Sonnet 4.6");
  assert.equal(getModel("nope/nothing"), undefined);
  assert.equal(customModelInfo().allowed, true);
});

test("CustomModel accepts a provider + model id and rejects unsafe base URLs", () => {
  assert.ok(CustomModel.safeParse({ provider: "openai", modelId: "gpt-5.1" }).success);
  assert.ok(CustomModel.safeParse({ provider: "openrouter", modelId: "meta-llama/llama-4", baseUrl: "https://openrouter.ai/api/v1" }).success);
  assert.ok(CustomModel.safeParse({ provider: "ollama", modelId: "qwen3:8b", baseUrl: "http://127.0.0.1:11434/v1" }).success);
  const bad = [
    { provider: "Open AI", modelId: "x" },
    { provider: "openai", modelId: "" },
    { provider: "openai", modelId: "has space" },
    { provider: "x", modelId: "m", baseUrl: "http://example.com/v1" },
    { provider: "x", modelId: "m", baseUrl: "https://user:pw@example.com/v1" },
    { provider: "x", modelId: "m", baseUrl: "not a url" },
    { provider: "x", modelId: "m", extra: 1 },
  ];
  for (const b of bad) assert.equal(CustomModel.safeParse(b).success, false, JSON.stringify(b));
});

// A realistic-looking value for every credential, so patterns are known to accept real shapes.
const GOOD: Record<string, Record<string, string>> = {
  notion: { NOTION_API_KEY: `ntn_${"a1B2".repeat(11)}` },
  github: { GITHUB_TOKEN: `github_pat_11ABCDEFG0${"x".repeat(70)}` },
  slack: { SLACK_BOT_TOKEN: "xoxb-1234567890-9876543210-AbCdEfGhIjKlMnOpQrStUvWx", SLACK_DEFAULT_CHANNEL: "C0123ABCD" },
  linear: { LINEAR_API_KEY: `lin_api_${"Z9".repeat(20)}` },
  "brave-search": { BRAVE_API_KEY: "BSAbcdefghijklmnopqrstuvwxyz012" },
  todoist: { TODOIST_API_TOKEN: "0123456789abcdef0123456789abcdef01234567" },
  airtable: { AIRTABLE_API_KEY: `patAbCdEfGhIjKlMn.${"0a".repeat(32)}`, AIRTABLE_BASE_ID: "appAbCdEfGhIjKlMn" },
};

test("credential validation accepts good values for every skill", () => {
  for (const s of listSkills()) {
    const values = GOOD[s.slug] ?? {};
    assert.deepEqual(validateSkillCredentials(s.slug, values), { ok: true }, s.slug);
  }
  assert.deepEqual(validateSkillCredentials("notion", { NOTION_API_KEY: `secret_${"k".repeat(43)}` }), { ok: true });
  assert.deepEqual(validateSkillCredentials("github", { GITHUB_TOKEN: `ghp_${"A".repeat(36)}` }), { ok: true });
  // optional credentials may be left out
  assert.deepEqual(validateSkillCredentials("slack", { SLACK_BOT_TOKEN: GOOD.slack.SLACK_BOT_TOKEN }), { ok: true });
});

test("credential validation catches missing, malformed and unknown fields without echoing values", () => {
  const missing = validateSkillCredentials("notion", {});
  assert.equal(missing.ok, false);
  assert.deepEqual(!missing.ok && missing.errors.map((e) => e.field), ["NOTION_API_KEY"]);
  assert.match(!missing.ok ? missing.errors[0].message : "", /required/);

  const secretLooking = "sk-live-THIS-IS-A-SECRET-VALUE";
  const bad = validateSkillCredentials("notion", { NOTION_API_KEY: secretLooking });
  assert.equal(bad.ok, false);
  if (!bad.ok) {
    assert.equal(bad.errors[0].field, "NOTION_API_KEY");
    assert.match(bad.errors[0].message, /secret_ or ntn_/);
    assert.ok(!JSON.stringify(bad).includes(secretLooking), "error must not contain the value");
  }

  const unknown = validateSkillCredentials("notion", { ...GOOD.notion, NOTION_TOKEN: "x" });
  assert.equal(unknown.ok, false);
  assert.deepEqual(!unknown.ok && unknown.errors.map((e) => e.field), ["NOTION_TOKEN"]);

  const xoxp = validateSkillCredentials("slack", { SLACK_BOT_TOKEN: "xoxp-1-2-abc" });
  assert.deepEqual(!xoxp.ok && xoxp.errors.map((e) => e.field), ["SLACK_BOT_TOKEN"]);

  const badOptional = validateSkillCredentials("slack", { ...GOOD.slack, SLACK_DEFAULT_CHANNEL: "#general" });
  assert.deepEqual(!badOptional.ok && badOptional.errors.map((e) => e.field), ["SLACK_DEFAULT_CHANNEL"]);

  const padded = validateSkillCredentials("todoist", { TODOIST_API_TOKEN: ` ${GOOD.todoist.TODOIST_API_TOKEN}\n` });
  assert.match(!padded.ok ? padded.errors[0].message : "", /whitespace/);

  const several = validateSkillCredentials("airtable", { AIRTABLE_BASE_ID: "nope", EXTRA: "1" });
  assert.deepEqual(!several.ok && several.errors.map((e) => e.field).sort(), ["AIRTABLE_API_KEY", "AIRTABLE_BASE_ID", "EXTRA"]);

  // Google skills take no credentials at all
  assert.deepEqual(validateSkillCredentials("google-sheets", {}), { ok: true });
  const extra = validateSkillCredentials("google-sheets", { GOOGLE_TOKEN: "x" });
  assert.deepEqual(!extra.ok && extra.errors.map((e) => e.field), ["GOOGLE_TOKEN"]);

  const noSkill = validateSkillCredentials("no-such-skill", {});
  assert.deepEqual(!noSkill.ok && noSkill.errors.map((e) => e.field), ["slug"]);

  const notString = validateSkillCredentials("notion", { NOTION_API_KEY: 42 as unknown as string });
  assert.match(!notString.ok ? notString.errors[0].message : "", /string/);
});

test("results are copies: mutating them does not change the catalog", () => {
  const t = getTemplate("personal-assistant")!;
  t.files["AGENTS.md"] = "";
  t.suggestedSkills.push("bogus");
  const again = getTemplate("personal-assistant")!;
  assert.ok(again.files["AGENTS.md"].length > 0);
  assert.ok(!again.suggestedSkills.includes("bogus"));
  const m = listModels();
  m[0].creditsPerHour = 1;
  assert.notEqual(listModels()[0].creditsPerHour, 1);
});

test("paths resolve from the module, not the working directory", () => {
  const cwd = process.cwd();
  try {
    process.chdir(tmpdir());
    clearMarketplaceCache();
    assert.ok(listTemplates().length >= 6);
  } finally {
    process.chdir(cwd);
  }
});

test("loadMarketplace reports every broken file with its field", () => {
  const dir = mkdtempSync(join(tmpdir(), "tropic-marketplace-"));
  try {
    for (const p of ["templates", "skills", "models.json"]) cpSync(join(MARKETPLACE_ROOT, p), join(dir, p), { recursive: true });
    assert.ok(loadMarketplace(dir).templates.size >= 6, "a pristine copy loads");

    const tplPath = join(dir, "templates/personal-assistant/template.json");
    const tpl = JSON.parse(readFileSync(tplPath, "utf8"));
    tpl.defaultModel = "anthropic/claude-9";
    tpl.suggestedSkills = ["notion", "made-up"];
    tpl.policy = "ALLOW: browse any public website\nALLOW: do anything at all\n";
    writeFileSync(tplPath, JSON.stringify(tpl));
    unlinkSync(join(dir, "templates/research-analyst/SOUL.md"));
    const skPath = join(dir, "skills/notion/skill.json");
    const sk = JSON.parse(readFileSync(skPath, "utf8"));
    sk.credentials[0].pattern = "([";
    writeFileSync(skPath, JSON.stringify(sk));
    writeFileSync(join(dir, "skills/github/SKILL.md"), "no front matter here");

    let err: unknown;
    try {
      loadMarketplace(dir);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof MarketplaceError);
    const got = err.issues.map((i) => `${i.file}|${i.field}`);
    for (const want of [
      "templates/personal-assistant/template.json|policy",
      "templates/research-analyst/SOUL.md|",
      "skills/notion/skill.json|credentials.0.pattern",
      "skills/github/SKILL.md|",
    ]) {
      assert.ok(got.includes(want), `missing issue ${want} in ${got.join(", ")}`);
    }
    assert.match(err.message, /line 2: "ALLOW: do anything at all"/);

    // with the policy fixed, the cross-references are reported
    tpl.policy = "ALLOW: browse any public website\n";
    writeFileSync(tplPath, JSON.stringify(tpl));
    try {
      loadMarketplace(dir);
    } catch (e) {
      err = e;
    }
    const got2 = (err as MarketplaceError).issues.map((i) => `${i.file}|${i.field}`);
    assert.ok(got2.includes("templates/personal-assistant/template.json|defaultModel"), got2.join(", "));
    assert.ok(got2.includes("templates/personal-assistant/template.json|suggestedSkills.1"), got2.join(", "));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
