// No emoji in the dashboard: they render as empty boxes where no emoji font is installed. The
// dashboard's source and the marketplace data it shows (templates and skills, as the API serves them)
// are scanned for emoji code points; every template and skill names an icon key the dashboard draws
// as SVG, a different one each. (OpenClaw's own workspace files — IDENTITY.md, SKILL.md metadata —
// are not the dashboard's and are not scanned.)
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { ICON_KEYS, listSkills, listTemplates, MARKETPLACE_ROOT } from "@tropic/marketplace";
import { FALLBACK_ICON, ICON_SHAPES } from "../src/components/icon-shapes.ts";

const WEB = fileURLToPath(new URL("..", import.meta.url));

/**
 * What needs an emoji font: characters shown as emoji by default, anything asking for emoji
 * presentation (U+FE0F), keycaps, regional-indicator flags, and the pictographs of the emoji planes.
 * Text symbols that ordinary fonts carry (✓ → · … —) are not emoji.
 */
const EMOJI = /\p{Emoji_Presentation}|\uFE0F|\u20E3|[\u{1F1E6}-\u{1F1FF}]|[\u{1F000}-\u{1FAFF}]/gu;

function files(dir: string, keep: (f: string) => boolean): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return n === "node_modules" || n === "dist" ? [] : files(p, keep);
    return keep(p) ? [p] : [];
  });
}

function emojiIn(text: string): string[] {
  return [...text.matchAll(EMOJI)].map((m) => `${m[0]} (U+${m[0].codePointAt(0)!.toString(16).toUpperCase()})`);
}

test("the scan finds emoji (it is not vacuous)", () => {
  assert.deepEqual(emojiIn("deploy 🌴 now ✍️ 🇸🇬"), ["🌴 (U+1F334)", "\uFE0F (U+FE0F)", "🇸 (U+1F1F8)", "🇬 (U+1F1EC)"]);
  assert.deepEqual(emojiIn("✓ Saved · Settings → Credentials … — ©"), []);
});

test("no emoji in the dashboard's source, page and static files", () => {
  const found: string[] = [];
  const scanned = [
    ...files(join(WEB, "src"), (f) => /\.(tsx?|css|html|svg|json)$/.test(f)),
    ...files(join(WEB, "public"), () => true),
    join(WEB, "index.html"),
  ];
  assert.ok(scanned.length > 20, `scanned ${scanned.length} files`);
  for (const f of scanned) {
    readFileSync(f, "utf8")
      .split("\n")
      .forEach((line, i) => {
        const e = emojiIn(line);
        if (e.length) found.push(`${relative(WEB, f)}:${i + 1}: ${e.join(", ")}`);
      });
  }
  assert.deepEqual(found, []);
});

test("no emoji in the marketplace data the dashboard shows; every template and skill has its own SVG icon", () => {
  const templates = listTemplates().map(({ files: _files, ...t }) => t);
  const skills = listSkills();
  assert.deepEqual(emojiIn(JSON.stringify({ templates, skills })), [], "as GET /api/v1/marketplace/{templates,skills} serve them");
  for (const rel of [
    ...files(join(MARKETPLACE_ROOT, "templates"), (f) => f.endsWith("template.json")),
    ...files(join(MARKETPLACE_ROOT, "skills"), (f) => f.endsWith("skill.json")),
  ])
    assert.deepEqual(emojiIn(readFileSync(rel, "utf8")), [], rel);

  for (const [what, icons] of [
    ["templates", templates.map((t) => t.icon)],
    ["skills", skills.map((s) => s.icon)],
  ] as const) {
    assert.equal(new Set(icons).size, icons.length, `one icon per ${what}: ${icons.join(", ")}`);
    for (const icon of icons) assert.ok(Object.hasOwn(ICON_SHAPES, icon), `${what}: the dashboard draws "${icon}"`);
  }
  // Every key the marketplace may use is drawn, as SVG path data only.
  for (const key of ICON_KEYS) assert.ok(ICON_SHAPES[key]?.length, key);
  for (const d of [...Object.values(ICON_SHAPES).flat(), ...FALLBACK_ICON]) assert.match(d, /^[MmLlHhVvCcSsQqTtAaZz0-9.,\s-]+$/, d);
});
