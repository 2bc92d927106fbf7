// The test command: builds one migrated PGlite template (initdb is slow), then runs every
// *.test.ts of every part under node's test runner, which prints the pass/fail summary.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const parts = ["server", "providers", "agent", "policy", "gate", "cli", "marketplace", "runtime", "host", "plugin", "web", "hardening"];
const only = process.argv.slice(2);
const files = only.length
  ? only
  : parts.flatMap((p) => {
      const dir = join(root, p, "test");
      return existsSync(dir)
        ? readdirSync(dir)
            .filter((f) => f.endsWith(".test.ts"))
            .sort()
            .map((f) => join(p, "test", f))
        : [];
    });

const template = mkdtempSync(join(tmpdir(), "tropic-pglite-template-"));
const prep = spawnSync(
  process.execPath,
  [
    "--import",
    "tsx",
    "-e",
    `
    const { openDatabase } = await import("./server/src/db/connect.ts");
    const { migrate } = await import("./server/src/db/migrate.ts");
    const d = await openDatabase({ dataDir: ${JSON.stringify(template)} });
    await migrate(d.pool);
    await d.close();`,
  ],
  { cwd: root, stdio: "inherit", env: { ...process.env } },
);
if (prep.status !== 0) {
  console.error("could not prepare the PGlite template database");
  process.exit(1);
}

// One file at a time: several suites start real OpenClaw gateways (~1 GB, a core each while booting),
// and two of them at once on a 2-core machine made health-timing assertions flaky.
const res = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=1", "--test-timeout=600000", ...files], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, TROPIC_TEST_PGLITE_TEMPLATE: template },
});
rmSync(template, { recursive: true, force: true });
process.exit(res.status ?? 1);
