// Host audit benchmark (issue 18): duration and peak RSS of one full audit (collect every fact + run
// every check) and of one integrity check, on a realistic state directory built in a temp dir
// (identity files, a 200 KB MEMORY.md and 50 memory notes, 200 session transcripts, 10 skills, the
// gate's plugin files, a 1 MB shell history). Each measurement runs in a child process of its own, so
// its peak RSS is its own; the child's RSS after loading the module alone is reported next to it.
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, median } from "./lib.ts";

const child = process.argv[2] === "--child" ? process.argv.slice(3) : undefined;

if (child) {
  const [what, home] = child as [string, string];
  const stateDir = join(home, ".openclaw");
  const rssLoad0 = process.memoryUsage().rss;
  const { collect, runAudit, checkIntegrity } = await import("../hardening/src/index.ts");
  const rssLoaded = process.memoryUsage().rss;
  const times: number[] = [];
  let findings = 0;
  for (let i = 0; i < (what === "load" ? 0 : 11); i++) {
    const t0 = process.hrtime.bigint();
    if (what === "audit") {
      const s = await collect({ stateDir, home, marketplaceSkills: join(ROOT, "marketplace", "skills"), integrity: true });
      findings = runAudit(s).findings.length;
    } else checkIntegrity({ stateDir, home });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  process.stdout.write(
    JSON.stringify({
      what,
      first: times[0],
      median: times.length ? median(times.slice(1)) : 0,
      maxRssKb: process.resourceUsage().maxRSS,
      rssLoad0,
      rssLoaded,
      findings,
    }),
  );
  process.exit(0);
}

// ---- a realistic state directory ----
const home = mkdtempSync(join(tmpdir(), "tropic-audit-bench-"));
const state = join(home, ".openclaw");
const ws = join(state, "workspace");
const para = "The owner prefers short answers and works on the Tropic project; remember their calendar habits. ";
mkdirSync(join(ws, "memory"), { recursive: true });
mkdirSync(join(ws, "skills"), { recursive: true });
mkdirSync(join(state, "credentials", "whatsapp"), { recursive: true, mode: 0o700 });
mkdirSync(join(state, "agents", "main", "agent"), { recursive: true });
mkdirSync(join(state, "agents", "main", "sessions"), { recursive: true, mode: 0o700 });
mkdirSync(join(state, "logs"), { recursive: true, mode: 0o700 });
mkdirSync(join(state, ".sondera"), { recursive: true, mode: 0o700 });
const gateDir = join(state, "extensions", "tropic-gate");
cpSync(join(ROOT, "plugin"), gateDir, { recursive: true, filter: (p) => !p.includes("node_modules") && !p.includes("/test") });
writeFileSync(
  join(state, "openclaw.json"),
  JSON.stringify({
    gateway: { mode: "local", bind: "loopback", port: 18789, auth: { mode: "token", token: "ab".repeat(32) } },
    discovery: { mdns: { mode: "off" } },
    agents: { defaults: { workspace: ws }, entries: { main: { workspace: ws } } },
    channels: { whatsapp: { dmPolicy: "allowlist", allowFrom: ["+15551234567"] } },
    plugins: {
      allow: ["tropic-gate"],
      load: { paths: [gateDir] },
      entries: { "tropic-gate": { enabled: true, config: { enabled: true, packs: { base: true } } } },
    },
  }),
  { mode: 0o600 },
);
writeFileSync(join(state, ".env"), "OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyz0123\n", { mode: 0o600 });
writeFileSync(join(state, "agents", "main", "agent", "auth-profiles.json"), "{}", { mode: 0o600 });
for (const f of ["SOUL.md", "IDENTITY.md", "AGENTS.md", "USER.md", "TOOLS.md", "BOOT.md"])
  writeFileSync(join(ws, f), `# ${f}\n${para.repeat(50)}\nNever share personal data.\n`);
writeFileSync(join(ws, "MEMORY.md"), para.repeat(2000));
for (let i = 0; i < 50; i++) writeFileSync(join(ws, "memory", `2026-11-${String(i).padStart(2, "0")}.md`), para.repeat(40));
for (let i = 0; i < 200; i++)
  writeFileSync(join(state, "agents", "main", "sessions", `s${i}.jsonl`), `${JSON.stringify({ role: "user", content: para })}\n`.repeat(400));
for (let i = 0; i < 30; i++) writeFileSync(join(state, "logs", `gateway-${i}.log`), para.repeat(200));
cpSync(join(ROOT, "marketplace", "skills"), join(ws, "skills"), { recursive: true });
mkdirSync(join(ws, "skills", "homemade"));
writeFileSync(join(ws, "skills", "homemade", "SKILL.md"), "# homemade\n");
writeFileSync(join(home, ".bash_history"), "ls -la\ngit status\nnpm test\n".repeat(40000));
writeFileSync(join(state, ".sondera", "audit.log"), `${JSON.stringify({ tool: "exec", decision: "ALLOW" })}\n`.repeat(5000));

const run = (what: string) => {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "bench", "audit.bench.ts"), "--child", what, home], {
    cwd: ROOT,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`child ${what} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { first: number; median: number; maxRssKb: number; rssLoaded: number; findings: number };
};

try {
  // a baseline first, so the integrity check has something to compare
  spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "hardening", "src", "cli.ts"), "baseline", "--home", home, "--state-dir", state], {
    cwd: ROOT,
  });
  const load = run("load");
  const audit = run("audit");
  const integ = run("integrity");
  const mb = (kb: number) => (kb / 1024).toFixed(1);
  process.stdout.write("Host audit on a realistic state directory (2-core dev machine, Node 20, through tsx)\n");
  process.stdout.write(`  node + tsx + @tropic/hardening loaded:  peak RSS ${mb(load.maxRssKb)} MB\n`);
  process.stdout.write(
    `  full audit (collect + ${audit.findings} finding(s)): first ${audit.first.toFixed(1)} ms, then median ${audit.median.toFixed(1)} ms; peak RSS ${mb(audit.maxRssKb)} MB (+${mb(audit.maxRssKb - load.maxRssKb)} MB over loading)\n`,
  );
  process.stdout.write(
    `  integrity check: first ${integ.first.toFixed(1)} ms, then median ${integ.median.toFixed(1)} ms; peak RSS ${mb(integ.maxRssKb)} MB (+${mb(integ.maxRssKb - load.maxRssKb)} MB over loading)\n`,
  );
} finally {
  rmSync(home, { recursive: true, force: true });
}
