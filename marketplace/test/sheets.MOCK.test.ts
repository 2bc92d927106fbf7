// The gws-sheets wrapper, run as the agent runs it (a child process), against a MOCK Sheets API
// and a MOCK instance-agent token endpoint on loopback (Google's servers are not reachable here).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, test } from "node:test";
import { MARKETPLACE_ROOT, getSkill } from "../src/index.ts";
import { type MockGoogle, startMockGoogle } from "./mock-google.ts";

const BIN = join(MARKETPLACE_ROOT, "skills", "google-sheets", "bin");
const ID = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms";
let g: MockGoogle;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function run(args: string[], env: Record<string, string | undefined> = {}, bin = "gws-sheets"): Promise<Run> {
  const base: Record<string, string> = { PATH: process.env.PATH ?? "", TROPIC_SHEETS_API_BASE: g.url, GOOGLE_ACCESS_TOKEN: g.token };
  const full = { ...base, ...env };
  for (const k of Object.keys(full)) if (full[k] === undefined) delete full[k];
  return new Promise((ok) =>
    execFile(join(BIN, bin), args, { env: full as NodeJS.ProcessEnv, timeout: 20_000 }, (err, stdout, stderr) =>
      ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

before(async () => {
  g = await startMockGoogle();
});
after(() => g.close());
beforeEach(() => {
  g.spreadsheets.clear();
  g.spreadsheets.set(ID, {
    sheets: [
      {
        title: "Sheet1",
        rows: [
          ["name", "amount", "paid"],
          ["Bob", "50", "FALSE"],
        ],
      },
      { title: "Sheet2", rows: [["who", "score"]] },
    ],
  });
  g.requests.length = 0;
  g.connected = true;
});

test("the skill ships gws-sheets and SKILL.md teaches exactly the seed's commands", () => {
  const s = getSkill("google-sheets")!;
  for (const line of [
    'gws-sheets +read --spreadsheet SPREADSHEET_ID --range "Sheet1!A1:D10"',
    "gws-sheets +append --spreadsheet SPREADSHEET_ID --values 'Alice,100,true'",
    `gws-sheets +append --spreadsheet SPREADSHEET_ID --json-values '[["a","b"],["c","d"]]'`,
    `gws-sheets +append --spreadsheet SPREADSHEET_ID --range "Sheet2!A1" --values 'Alice,100'`,
    "gws-sheets --help",
    "gws schema sheets.",
  ])
    assert.ok(s.skillMd.includes(line), `SKILL.md lacks: ${line}`);
});

test("MOCK: +read returns the range's values with a Bearer token, by id and by whole URL", async () => {
  const r = await run(["+read", "--spreadsheet", ID, "--range", "Sheet1!A1:D10"]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.range, "Sheet1!A1:D10");
  assert.deepEqual(out.values, [
    ["name", "amount", "paid"],
    ["Bob", "50", "FALSE"],
  ]);
  assert.equal(g.requests.at(-1)!.auth, `Bearer ${g.token}`);
  assert.equal(g.requests.at(-1)!.method, "GET");

  const url = await run(["+read", "--spreadsheet", `https://docs.google.com/spreadsheets/d/${ID}/edit#gid=0`, "--range", "Sheet1!A2:B2"]);
  assert.equal(url.code, 0, url.stderr);
  assert.deepEqual(JSON.parse(url.stdout).values, [["Bob", "50"]]);
  const noScheme = await run(["+read", "--spreadsheet", `docs.google.com/spreadsheets/d/${ID}/edit`, "--range", "Sheet1!1:1", "--format", "csv"]);
  assert.equal(noScheme.code, 0, noScheme.stderr);
  assert.equal(noScheme.stdout, "name,amount,paid\n");
  assert.ok(g.requests.every((q) => q.path.startsWith(`/v4/spreadsheets/${ID}/values/`)));
});

test("MOCK: +append --values adds one row after the table (USER_ENTERED), read back", async () => {
  const r = await run(["+append", "--spreadsheet", ID, "--values", "Alice,100,true"]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.updates.updatedRange, "Sheet1!A3:C3");
  assert.equal(out.updates.updatedRows, 1);
  assert.match(g.requests.at(-1)!.path, /:append\?valueInputOption=USER_ENTERED/);
  const back = await run(["+read", "--spreadsheet", ID, "--range", "Sheet1!A3:C3"]);
  assert.deepEqual(JSON.parse(back.stdout).values, [["Alice", "100", "TRUE"]]);
});

test("MOCK: +append --json-values adds several rows; --range picks the target sheet", async () => {
  const j = await run(["+append", "--spreadsheet", ID, "--json-values", '[["a","b"],["c","d"]]']);
  assert.equal(j.code, 0, j.stderr);
  assert.equal(JSON.parse(j.stdout).updates.updatedRange, "Sheet1!A3:B4");
  const s2 = await run(["+append", "--spreadsheet", ID, "--range", "Sheet2!A1", "--values", "Alice,100"]);
  assert.equal(s2.code, 0, s2.stderr);
  assert.equal(JSON.parse(s2.stdout).updates.updatedRange, "Sheet2!A2:B2");
  assert.deepEqual(g.spreadsheets.get(ID)!.sheets[1]!.rows, [
    ["who", "score"],
    ["Alice", "100"],
  ]);
  // A quoted value keeps its comma.
  const q = await run(["+append", "--spreadsheet", ID, "--range", "Sheet2", "--values", '"Smith, Jo",7']);
  assert.equal(q.code, 0, q.stderr);
  assert.deepEqual(g.spreadsheets.get(ID)!.sheets[1]!.rows[2], ["Smith, Jo", "7"]);
});

test("MOCK: --help, gws schema discovery, and gws refusing everything else", async () => {
  const h = await run(["--help"]);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /sheets\.spreadsheets\.values\.get/);
  assert.match(h.stdout, /sheets\.spreadsheets\.values\.append/);
  const s = await run(["schema", "sheets.spreadsheets.values.append"], {}, "gws");
  assert.equal(s.code, 0, s.stderr);
  const schema = JSON.parse(s.stdout);
  assert.equal(schema.httpMethod, "POST");
  assert.ok(schema.parameters.valueInputOption.required);
  const s2 = await run(["schema", "sheets.spreadsheets.values.get"]);
  assert.equal(JSON.parse(s2.stdout).parameters.range.required, true);
  const bad = await run(["schema", "sheets.spreadsheets.batchUpdate"], {}, "gws");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown method "sheets.spreadsheets.batchUpdate"/);
  const full = await run(["drive", "files", "list"], {}, "gws");
  assert.equal(full.code, 2);
  assert.match(full.stderr, /full gws CLI is not available for security reasons/);
  assert.equal(g.requests.length, 0, "discovery never calls the API");
});

test("MOCK: bad flags are usage errors naming the flag, and nothing is sent", async () => {
  const cases: [string[], RegExp][] = [
    [["+read", "--spreadsheet", ID, "--range", "A1", "--bogus"], /--bogus/],
    [["+read", "--spreadsheet", ID], /--range/],
    [["+read", "--range", "A1"], /--spreadsheet/],
    [["+append", "--spreadsheet", ID], /--values/],
    [["+append", "--spreadsheet", ID, "--values", "a", "--json-values", "[[1]]"], /either --values or --json-values/],
    [["+append", "--spreadsheet", ID, "--json-values", '{"a":1}'], /--json-values must be/],
    [["+append", "--spreadsheet", ID, "--json-values", "[[1"], /--json-values is not valid JSON/],
    [["+read", "--spreadsheet", "https://example.com/x", "--range", "A1"], /--spreadsheet must be/],
    [["+read", "--spreadsheet", ID, "--range", "A1", "--format", "xml"], /--format/],
    [["+write"], /unknown command "\+write"/],
  ];
  for (const [args, re] of cases) {
    const r = await run(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(" "));
  }
  assert.equal(g.requests.length, 0);
});

test("MOCK: API errors in plain words with non-zero exits; the token never appears", async () => {
  g.spreadsheets.set("private0000000000000", { shared: false, sheets: [{ title: "S", rows: [] }] });
  const forbidden = await run(["+read", "--spreadsheet", "private0000000000000", "--range", "A1"]);
  assert.equal(forbidden.code, 1);
  assert.match(forbidden.stderr, /no access to this spreadsheet \(private0000000000000\).*share it/);
  const missing = await run(["+read", "--spreadsheet", "unknown0000000000000", "--range", "A1"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /spreadsheet not found/);
  const badRange = await run(["+read", "--spreadsheet", ID, "--range", "Nope!A1"]);
  assert.equal(badRange.code, 1);
  assert.match(badRange.stderr, /Unable to parse range: Nope!A1/);
  const badToken = await run(["+read", "--spreadsheet", ID, "--range", "A1"], { GOOGLE_ACCESS_TOKEN: "ya29.revoked" });
  assert.equal(badToken.code, 1);
  assert.match(badToken.stderr, /refused the access token.*reconnect Google/);
  const none = await run(["+read", "--spreadsheet", ID, "--range", "A1"], { GOOGLE_ACCESS_TOKEN: undefined });
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no Google access token: connect a Google account in Settings > Connections/);
  for (const r of [forbidden, missing, badRange]) assert.ok(!r.stderr.includes(g.token));
});

test("MOCK: the token comes from the instance agent's loopback endpoint when TROPIC_GOOGLE_TOKEN_URL is set", async () => {
  const r = await run(["+read", "--spreadsheet", ID, "--range", "Sheet1!A1:A1"], {
    GOOGLE_ACCESS_TOKEN: undefined,
    TROPIC_GOOGLE_TOKEN_URL: g.tokenUrl,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).values, [["name"]]);
  const [tok, call] = g.requests;
  assert.equal(tok!.path, "/agent/google-token");
  assert.match(call!.auth!, /^Bearer ya29\.mock-/);
  assert.notEqual(call!.auth, `Bearer ${g.token}`, "a fresh token from the endpoint, not the env one");

  g.connected = false;
  const off = await run(["+read", "--spreadsheet", ID, "--range", "A1"], { GOOGLE_ACCESS_TOKEN: undefined, TROPIC_GOOGLE_TOKEN_URL: g.tokenUrl });
  assert.equal(off.code, 1);
  assert.match(off.stderr, /no Google account is connected.*Settings > Connections/);
  // Fail closed: a token endpoint off the loopback is refused before any request.
  const n = g.requests.length;
  const remote = await run(["+read", "--spreadsheet", ID, "--range", "A1"], { TROPIC_GOOGLE_TOKEN_URL: "http://example.com/token" });
  assert.equal(remote.code, 2);
  assert.match(remote.stderr, /TROPIC_GOOGLE_TOKEN_URL must be on the instance's loopback/);
  const plain = await run(["+read", "--spreadsheet", ID, "--range", "A1"], { TROPIC_SHEETS_API_BASE: "http://example.com" });
  assert.equal(plain.code, 2);
  assert.match(plain.stderr, /TROPIC_SHEETS_API_BASE must be https/);
  assert.equal(g.requests.length, n);
});

test("MOCK: a 429 from Google is retried after Retry-After", async () => {
  g.failNext(2);
  const r = await run(["+append", "--spreadsheet", ID, "--values", "x,1"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).updates.updatedRange, "Sheet1!A3:B3");
  assert.equal(g.requests.length, 3);
  assert.equal(g.spreadsheets.get(ID)!.sheets[0]!.rows.length, 3, "appended once, not three times");
});

test("MOCK: runs by bare name from PATH through a symlink (how an installer may expose bin/)", async () => {
  const onPath = mkdtempSync(join(tmpdir(), "gws-path-"));
  try {
    symlinkSync(join(BIN, "gws-sheets"), join(onPath, "gws-sheets"));
    const r = await new Promise<Run>((ok) =>
      execFile(
        "gws-sheets",
        ["+read", "--spreadsheet", ID, "--range", "Sheet1!A1"],
        { env: { PATH: `${onPath}:${process.env.PATH}`, TROPIC_SHEETS_API_BASE: g.url, GOOGLE_ACCESS_TOKEN: g.token }, timeout: 20_000 },
        (err, stdout, stderr) => ok({ code: err ? 1 : 0, stdout, stderr }),
      ),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).values, [["name"]]);
  } finally {
    rmSync(onPath, { recursive: true, force: true });
  }
});
