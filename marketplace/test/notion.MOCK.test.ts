// The notion-cli wrapper, run as the agent runs it (a child process), against a MOCK Notion API on
// loopback (Notion's servers are not reachable here).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, test } from "node:test";
import { MARKETPLACE_ROOT, getSkill } from "../src/index.ts";
import { type MockNotion, startMockNotion } from "./mock-notion.ts";

const BIN = join(MARKETPLACE_ROOT, "skills", "notion", "bin", "notion-cli");
let n: MockNotion;
let dir: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function run(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const full: Record<string, string | undefined> = {
    PATH: process.env.PATH ?? "",
    HOME: dir,
    TROPIC_NOTION_API_BASE: n.url,
    NOTION_API_KEY: n.key,
    ...env,
  };
  for (const k of Object.keys(full)) if (full[k] === undefined) delete full[k];
  return new Promise((ok) =>
    execFile(BIN, args, { env: full as NodeJS.ProcessEnv, timeout: 30_000 }, (err, stdout, stderr) =>
      ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}
const csv = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

before(async () => {
  n = await startMockNotion();
  dir = mkdtempSync(join(tmpdir(), "notion-cli-"));
});
after(async () => {
  await n.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  n.objects.clear();
  n.children.clear();
  n.requests.length = 0;
});

test("SKILL.md teaches exactly the seed's notion-cli commands", () => {
  const md = getSkill("notion")!.skillMd;
  for (const line of [
    "notion-cli search",
    'notion-cli search --query "meeting notes"',
    "notion-cli pages list",
    "notion-cli databases list",
    'notion-cli blocks get "<block_id>" --with_children --format plain_text',
    "notion-cli csv import --input ~/data.csv --parent_page_id <page_id>",
    '--delimiter "," --title "My Database" --title_column "name"',
    'notion-cli csv sync --input ~/data.csv --database_id "<database_id>" --delimiter ","',
  ])
    assert.ok(md.includes(line), `SKILL.md lacks: ${line}`);
});

test("MOCK: search, search --query, pages list and databases list, with headers and every page of results", async () => {
  const wiki = n.addPage("Team Wiki");
  for (let i = 0; i < 120; i++) n.addPage(`Meeting notes ${i}`, { parent: wiki.id });
  const all = await run(["search", "--format", "json"]);
  assert.equal(all.code, 0, all.stderr);
  assert.equal(JSON.parse(all.stdout).length, 121, "two pages of results (100 + 21) joined");
  const searches = n.requests.filter((r) => r.path === "/v1/search");
  assert.equal(searches.length, 2);
  assert.equal(searches[0]!.body!.page_size, 100);
  assert.equal(searches[1]!.body!.start_cursor, JSON.parse(all.stdout)[100].id);

  const q = await run(["search", "--query", "meeting notes 11"]);
  assert.equal(q.code, 0, q.stderr);
  const lines = q.stdout.trim().split("\n");
  assert.deepEqual(lines.map((l) => l.split("\t")[2]).sort(), [
    "Meeting notes 11",
    "Meeting notes 110",
    "Meeting notes 111",
    "Meeting notes 112",
    "Meeting notes 113",
    "Meeting notes 114",
    "Meeting notes 115",
    "Meeting notes 116",
    "Meeting notes 117",
    "Meeting notes 118",
    "Meeting notes 119",
  ]);
  assert.match(lines[0]!, /^page\t[0-9a-f-]{36}\tMeeting notes 1\d*\thttps:\/\/www\.notion\.so\//);

  const parent = n.addPage("CRM");
  const imp = await run(["csv", "import", "--input", csv("c.csv", "name\nAcme\n"), "--parent_page_id", parent.id, "--title", "Clients"]);
  assert.equal(imp.code, 0, imp.stderr);
  const dbs = await run(["databases", "list"]);
  assert.equal(dbs.code, 0, dbs.stderr);
  assert.match(dbs.stdout, /^database\t[0-9a-f-]{36}\tClients\t/);
  assert.equal(dbs.stdout.trim().split("\n").length, 1);
  const pages = await run(["pages", "list", "--format", "json"]);
  assert.ok(JSON.parse(pages.stdout).every((p: { object: string }) => p.object === "page"));
  assert.equal(JSON.parse(pages.stdout).length, 123, "121 + CRM + the imported row");
  const filters = n.requests.filter((r) => r.path === "/v1/search").map((r) => r.body!.filter?.value);
  assert.ok(filters.includes("database") && filters.includes("page"));

  const empty = await run(["search", "--query", "nothing like this"]);
  assert.match(empty.stdout, /No results\. The integration only sees pages shared with it/);
});

test("MOCK: blocks get --with_children, plain_text and json, by id, dashed id or URL", async () => {
  const page = n.addPage("Meeting notes");
  n.addBlock(page.id, "heading_1", "Agenda");
  const item = n.addBlock(page.id, "bulleted_list_item", "Budget");
  n.addBlock(item.id, "bulleted_list_item", "Q3 numbers");
  n.addBlock(page.id, "to_do", "Send recap", { checked: true });
  for (let i = 0; i < 105; i++) n.addBlock(page.id, "paragraph", `line ${i}`);
  const hex = page.id.replace(/-/g, "");

  const t = await run(["blocks", "get", hex, "--with_children", "--format", "plain_text"]);
  assert.equal(t.code, 0, t.stderr);
  const lines = t.stdout.split("\n");
  assert.equal(lines[0], `Page: Meeting notes (${page.id})`);
  assert.deepEqual(lines.slice(1, 5), ["# Agenda", "- Budget", "  - Q3 numbers", "[x] Send recap"]);
  assert.equal(lines[109], "line 104", "children past the first 100 are fetched");
  const childCalls = n.requests.filter((r) => r.path.startsWith(`/v1/blocks/${page.id}/children`));
  assert.equal(childCalls.length, 2);
  assert.match(childCalls[0]!.path, /page_size=100/);
  assert.match(childCalls[1]!.path, /start_cursor=/);

  const j = await run(["blocks", "get", `https://www.notion.so/acme/Meeting-notes-${hex}?pvs=4`, "--with_children", "--format", "json"]);
  assert.equal(j.code, 0, j.stderr);
  const out = JSON.parse(j.stdout);
  assert.equal(out.block.id, page.id);
  assert.equal(out.results[0].type, "heading_1");
  assert.equal(out.results[1].children[0].bulleted_list_item.rich_text[0].plain_text, "Q3 numbers");

  const single = await run(["blocks", "get", item.id, "--format", "json"]);
  assert.equal(JSON.parse(single.stdout).id, item.id);
  assert.equal(JSON.parse(single.stdout).children, undefined);

  const missing = await run(["blocks", "get", "0".repeat(32)]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /not found, or not shared with the integration: .*Connections/);
});

test("MOCK: csv import creates the database with the title column and one row per line (quotes, delimiters, newlines)", async () => {
  const parent = n.addPage("Projects");
  const file = csv("data.csv", 'name;notes;owner\n"Acme; Inc";"line one\nline two";Jo\nGlobex;"said ""hi""";\n');
  // ~ is expanded the way a shell would (the agent's exec may pass it quoted).
  const r = await run([
    "csv",
    "import",
    "--input",
    "~/data.csv",
    "--parent_page_id",
    parent.id,
    "--delimiter",
    ";",
    "--title",
    "My Database",
    "--title_column",
    "name",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Created database "My Database" \(([0-9a-f-]{36})\) with 2 rows/);
  const db = [...n.objects.values()].find((o) => o.object === "database")!;
  assert.equal(db.parent.page_id, parent.id);
  assert.equal(db.properties.name.type, "title");
  assert.equal(db.properties.notes.type, "rich_text");
  const rows = n
    .rows(db.id)
    .map((p) =>
      Object.fromEntries(Object.entries(p.properties).map(([k, v]: [string, any]) => [k, v[v.type].map((x: any) => x.plain_text).join("")])),
    );
  assert.deepEqual(rows, [
    { name: "Acme; Inc", notes: "line one\nline two", owner: "Jo" },
    { name: "Globex", notes: 'said "hi"', owner: "" },
  ]);
});

test("MOCK: csv sync updates rows by the title column, creates missing ones, and a second run changes nothing", async () => {
  const parent = n.addPage("Sales");
  const first = csv("crm.csv", "name,stage,value\nAcme,lead,100\nGlobex,won,250\n");
  await run(["csv", "import", "--input", first, "--parent_page_id", parent.id, "--title", "CRM", "--title_column", "name"]);
  const db = [...n.objects.values()].find((o) => o.object === "database")!;

  const same = await run(["csv", "sync", "--input", first, "--database_id", db.id, "--delimiter", ","]);
  assert.equal(same.code, 0, same.stderr);
  assert.match(same.stdout, /0 created, 0 updated, 2 unchanged/);

  const next = csv("crm2.csv", 'name,stage,value,city\nAcme,won,100,Paris\nInitech,lead,"1,5",\nGlobex,won,250,\n');
  const s1 = await run(["csv", "sync", "--input", next, "--database_id", db.id.replace(/-/g, ""), "--delimiter", ","]);
  assert.equal(s1.code, 0, s1.stderr);
  assert.match(s1.stdout, /1 created, 1 updated, 1 unchanged; added column city/);
  assert.equal(n.rows(db.id).length, 3, "no duplicate rows");
  const acme = n.rows(db.id).find((p) => p.properties.name.title[0].plain_text === "Acme")!;
  assert.equal(acme.properties.stage.rich_text[0].plain_text, "won");
  assert.equal(acme.properties.city.rich_text[0].plain_text, "Paris");

  const writes = n.requests.length;
  const s2 = await run(["csv", "sync", "--input", next, "--database_id", db.id, "--delimiter", ","]);
  assert.equal(s2.code, 0, s2.stderr);
  assert.match(s2.stdout, /0 created, 0 updated, 3 unchanged/);
  assert.ok(
    n.requests.slice(writes).every((r) => r.method === "GET" || r.path.endsWith("/query")),
    "the second run only reads",
  );
});

test("MOCK: csv sync writes typed columns (number, checkbox, select) and stays idempotent", async () => {
  const parent = n.addPage("Ops");
  const imp = await run(["csv", "import", "--input", csv("t.csv", "task\nx\n"), "--parent_page_id", parent.id]);
  assert.equal(imp.code, 0, imp.stderr);
  const db = [...n.objects.values()].find((o) => o.object === "database")!;
  Object.assign(db.properties, {
    hours: { id: "hours", name: "hours", type: "number", number: {} },
    done: { id: "done", name: "done", type: "checkbox", checkbox: {} },
    tags: { id: "tags", name: "tags", type: "multi_select", multi_select: {} },
    status: { id: "status", name: "status", type: "select", select: {} },
    formula: { id: "formula", name: "formula", type: "formula", formula: {} },
  });
  const file = csv("typed.csv", 'task,hours,done,tags,status,formula\nx,2.5,yes,"a, b",Open,ignored\ny,,false,,,\n');
  const s1 = await run(["csv", "sync", "--input", file, "--database_id", db.id]);
  assert.equal(s1.code, 0, s1.stderr);
  assert.match(s1.stdout, /1 created, 1 updated, 0 unchanged; left alone \(not writable from CSV\): formula \(formula\)/);
  const x = n.rows(db.id).find((p) => p.properties.task.title[0].plain_text === "x")!;
  assert.equal(x.properties.hours.number, 2.5);
  assert.equal(x.properties.done.checkbox, true);
  assert.deepEqual(
    x.properties.tags.multi_select.map((o: { name: string }) => o.name),
    ["a", "b"],
  );
  assert.equal(x.properties.status.select.name, "Open");
  const s2 = await run(["csv", "sync", "--input", file, "--database_id", db.id]);
  assert.match(s2.stdout, /0 created, 0 updated, 2 unchanged/);

  const bad = await run(["csv", "sync", "--input", csv("bad.csv", "task,hours\nz,lots\n"), "--database_id", db.id]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /row 2, column "hours" is a number column but holds "lots"/);
  assert.equal(n.rows(db.id).length, 2, "a bad file changes nothing");
});

test("MOCK: csv errors name the flag or the row, and change nothing", async () => {
  const parent = n.addPage("P");
  const dup = await run(["csv", "import", "--input", csv("d.csv", "name\na\n"), "--parent_page_id", parent.id, "--title_column", "nom"]);
  assert.equal(dup.code, 2);
  assert.match(dup.stderr, /--title_column "nom" is not a column of the CSV \(columns: name\)/);
  const ragged = await run(["csv", "import", "--input", csv("r.csv", "a,b\n1\n"), "--parent_page_id", parent.id]);
  assert.match(ragged.stderr, /row 2 has 1 fields, the header has 2/);
  const quote = await run(["csv", "import", "--input", csv("q.csv", 'a\n"open\n'), "--parent_page_id", parent.id]);
  assert.match(quote.stderr, /unclosed double quote starting on line 2/);
  const noFile = await run(["csv", "import", "--input", join(dir, "none.csv"), "--parent_page_id", parent.id]);
  assert.match(noFile.stderr, /--input: cannot read .*none\.csv \(ENOENT\)/);
  const noParent = await run(["csv", "import", "--input", csv("e.csv", "a\n1\n")]);
  assert.match(noParent.stderr, /--parent_page_id/);
  const badId = await run(["csv", "sync", "--input", csv("f.csv", "a\n1\n"), "--database_id", "nope"]);
  assert.match(badId.stderr, /--database_id must be a Notion id/);
  const delim = await run(["csv", "sync", "--input", csv("g.csv", "a\n1\n"), "--database_id", parent.id, "--delimiter", ",,"]);
  assert.match(delim.stderr, /--delimiter must be a single character/);
  const flag = await run(["csv", "sync", "--input", "x", "--databse_id", parent.id]);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /Unknown option '--databse_id'/);
  const fmt = await run(["search", "--format", "yaml"]);
  assert.match(fmt.stderr, /--format must be plain_text or json/);
  for (const r of [dup, ragged, quote, noFile, noParent, badId, delim, fmt]) assert.equal(r.code, 2);
  assert.equal(n.requests.filter((r) => r.method !== "GET").length, 0, "nothing was written");

  // sync: duplicate keys in the file are refused before any write.
  await run(["csv", "import", "--input", csv("h.csv", "name\na\n"), "--parent_page_id", parent.id]);
  const db = [...n.objects.values()].find((o) => o.object === "database")!;
  const twice = await run(["csv", "sync", "--input", csv("i.csv", "name\nb\nb\n"), "--database_id", db.id]);
  assert.equal(twice.code, 2);
  assert.match(twice.stderr, /rows 2 and 3 both have "name" = "b"/);
  assert.equal(n.rows(db.id).length, 1);
});

test("MOCK: a 429 is retried after Retry-After", async () => {
  n.addPage("Only page");
  n.rateLimitNext(2, 1);
  const started = Date.now();
  const r = await run(["pages", "list"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Only page/);
  assert.ok(Date.now() - started >= 2000, "waited Retry-After (1 s) twice");
  assert.equal(n.requests.length, 3);
});

test("MOCK: a missing, malformed or refused NOTION_API_KEY is a clear error that never shows the key", async () => {
  const missing = await run(["search"], { NOTION_API_KEY: undefined });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /NOTION_API_KEY is not set: install the Notion skill/);
  const malformed = await run(["search"], { NOTION_API_KEY: "sk-not-notion-1234567890" });
  assert.equal(malformed.code, 1);
  assert.match(malformed.stderr, /does not look like a Notion integration secret \(it starts with secret_ or ntn_\)/);
  assert.ok(!malformed.stderr.includes("sk-not-notion"));
  const wrong = `secret_${"Z".repeat(40)}`;
  const refused = await run(["search"], { NOTION_API_KEY: wrong });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /Notion refused the integration secret/);
  assert.ok(!refused.stderr.includes(wrong));
  assert.equal(n.requests.length, 1, "only the refused key reached the API");
  const plain = await run(["search"], { TROPIC_NOTION_API_BASE: "http://example.com" });
  assert.equal(plain.code, 2);
  assert.match(plain.stderr, /TROPIC_NOTION_API_BASE must be https/);
});

test("MOCK: the mock checks Notion-Version and page_size like Notion", async () => {
  const noVersion = await fetch(`${n.url}/v1/search`, { method: "POST", headers: { authorization: `Bearer ${n.key}` }, body: "{}" });
  assert.equal(noVersion.status, 400);
  assert.equal((await noVersion.json()).code, "missing_version");
  const big = await fetch(`${n.url}/v1/search`, {
    method: "POST",
    headers: { authorization: `Bearer ${n.key}`, "notion-version": "2022-06-28" },
    body: JSON.stringify({ page_size: 101 }),
  });
  assert.equal(big.status, 400);
  assert.ok(n.requests.filter((r) => r.path === "/v1/search").length === 2);
});

test("MOCK: --help on the tool and on every command prints its usage and calls nothing", async () => {
  const top = await run(["--help"]);
  assert.equal(top.code, 0);
  for (const c of ["search", "pages list", "databases list", "blocks get", "csv import", "csv sync"])
    assert.ok(top.stdout.includes(`notion-cli ${c}`), c);
  for (const args of [
    ["search", "--help"],
    ["pages", "list", "--help"],
    ["databases", "list", "--help"],
    ["blocks", "get", "--help"],
    ["csv", "import", "--help"],
    ["csv", "sync", "--help"],
  ]) {
    const r = await run(args, { NOTION_API_KEY: undefined });
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    assert.ok(r.stdout.startsWith(`notion-cli ${args.slice(0, -1).join(" ")}`), args.join(" "));
  }
  const unknown = await run(["pages", "delete"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "pages delete"/);
  assert.equal(n.requests.length, 0);
});
