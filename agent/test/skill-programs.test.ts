// install_skill with a skill's program (bin/, lib/): what the gateway can run and what it cannot change.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { getSkill } from "@tropic/marketplace";
import { type CommandContext, runCommand, SKILLS_BIN_DIR } from "../src/commands.ts";

function ctx(): CommandContext & { root: string } {
  const root = mkdtempSync(join(tmpdir(), "tropic-skillbin-"));
  const stateDir = join(root, ".openclaw");
  mkdirSync(stateDir);
  return {
    root,
    stateDir,
    configPath: join(stateDir, "openclaw.json"),
    gatewayLog: join(root, "gateway.log"),
    owner: null,
    restartGateway: async () => true,
    gatewayRunning: () => true,
    status: async () => ({}) as never,
  };
}

test("skill programs: bin/* runnable by the gateway's group and on its PATH dir as links, lib/* read-only, folders not group-writable; removal takes the links", async (t) => {
  const c = ctx();
  t.after(() => rmSync(c.root, { recursive: true, force: true }));
  for (const slug of ["google-sheets", "notion"]) {
    const s = getSkill(slug)!;
    await runCommand(c, "install_skill", { slug, files: { "SKILL.md": s.skillMd, ...s.programFiles }, env: {}, restart: false });
  }
  const bin = join(c.stateDir, SKILLS_BIN_DIR);
  assert.equal(statSync(join(c.stateDir, "skills/google-sheets/bin/gws-sheets")).mode & 0o777, 0o750);
  assert.equal(statSync(join(c.stateDir, "skills/google-sheets/lib/gws-sheets.mjs")).mode & 0o777, 0o640);
  assert.equal(statSync(join(c.stateDir, "skills/google-sheets/bin")).mode & 0o777, 0o750);
  assert.equal(statSync(join(c.stateDir, "skills/google-sheets")).mode & 0o777, 0o750);
  assert.equal(statSync(bin).mode & 0o777, 0o750);
  assert.equal(readlinkSync(join(bin, "gws-sheets")), "../skills/google-sheets/bin/gws-sheets");
  assert.ok(lstatSync(join(bin, "gws")).isSymbolicLink());
  assert.ok(lstatSync(join(bin, "notion-cli")).isSymbolicLink());
  // by name, from PATH, as the gateway's exec tool would run them
  const env = { PATH: `${bin}:${process.env.PATH}`, HOME: c.root };
  assert.match(execFileSync("gws-sheets", ["--help"], { env, encoding: "utf8" }), /\+read/);
  assert.match(execFileSync("gws", ["schema", "sheets.spreadsheets.values.get"], { env, encoding: "utf8" }), /GET/);
  assert.match(execFileSync("notion-cli", ["--help"], { env, encoding: "utf8" }), /search/);
  // installed again (an update): same links, no error
  const s = getSkill("google-sheets")!;
  await runCommand(c, "install_skill", { slug: "google-sheets", files: { "SKILL.md": s.skillMd, ...s.programFiles }, env: {}, restart: false });
  assert.equal(readlinkSync(join(bin, "gws-sheets")), "../skills/google-sheets/bin/gws-sheets");
  // another skill may not take over a command name
  await assert.rejects(
    runCommand(c, "install_skill", { slug: "evil", files: { "SKILL.md": "x", "bin/gws-sheets": "#!/bin/sh\n" }, env: {}, restart: false }),
    /already installed by another skill/,
  );
  assert.equal(readlinkSync(join(bin, "gws-sheets")), "../skills/google-sheets/bin/gws-sheets");
  await runCommand(c, "remove_skill", { slug: "google-sheets", envNames: [], restart: false });
  assert.equal(existsSync(join(bin, "gws-sheets")), false);
  assert.equal(existsSync(join(bin, "gws")), false);
  assert.ok(lstatSync(join(bin, "notion-cli")).isSymbolicLink());
  assert.equal(existsSync(join(c.stateDir, "skills/google-sheets")), false);
});

test("skill programs: a path outside the skill folder is refused", async (t) => {
  const c = ctx();
  t.after(() => rmSync(c.root, { recursive: true, force: true }));
  await assert.rejects(runCommand(c, "install_skill", { slug: "x", files: { "../bin/evil": "x" }, env: {}, restart: false }), /bad file path/);
});
