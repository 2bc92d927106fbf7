// notion-cli: the Notion commands of the Tropic skill. Node >= 20 built-ins only, so it runs from
// the skill folder as is. Reads the integration secret from NOTION_API_KEY (written by Tropic when
// the skill is installed); the API base can be overridden with TROPIC_NOTION_API_BASE (https, or
// http on loopback only, so the secret never crosses a network in clear text).
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { basename } from "node:path";
import { parseArgs } from "node:util";

const DEFAULT_BASE = "https://api.notion.com";
const NOTION_VERSION = "2022-06-28";
const PAGE_SIZE = 100; // Notion's maximum
const TEXT_LIMIT = 2000; // characters per rich_text item
const EXIT_USAGE = 2;
const EXIT_FAIL = 1;

class UsageError extends Error {}
class ApiError extends Error {}

const HELP = `notion-cli: search, read and sync Notion pages and databases shared with your integration.

Usage:
  notion-cli search [--query TEXT] [--format plain_text|json]
  notion-cli pages list [--format plain_text|json]
  notion-cli databases list [--format plain_text|json]
  notion-cli blocks get ID [--with_children] [--format plain_text|json]
  notion-cli csv import --input FILE --parent_page_id PAGE_ID [--delimiter ","] [--title TITLE] [--title_column COLUMN]
  notion-cli csv sync --input FILE --database_id DATABASE_ID [--delimiter ","] [--title_column COLUMN]
  notion-cli <command> --help

IDs may be given as 32 hex characters, a dashed UUID or a Notion URL.
The secret is read from NOTION_API_KEY (secret_... or ntn_...); never pass it on the command line.
`;

const COMMAND_HELP = {
  search: `notion-cli search [--query TEXT] [--format plain_text|json]
  Pages and databases shared with the integration whose title matches TEXT (all of them without
  --query). plain_text: one line per result (type, id, title, url); json: the result objects.
`,
  "pages list": `notion-cli pages list [--format plain_text|json]
  Every page shared with the integration.
`,
  "databases list": `notion-cli databases list [--format plain_text|json]
  Every database shared with the integration.
`,
  "blocks get": `notion-cli blocks get ID [--with_children] [--format plain_text|json]
  A block (a page id is a block id too). --with_children adds its content, recursively.
  plain_text: the text, indented by nesting; json: {block, results: [children, each with .children]}.
`,
  "csv import": `notion-cli csv import --input FILE --parent_page_id PAGE_ID [--delimiter ","] [--title TITLE] [--title_column COLUMN]
  Creates a database under the page (columns from the CSV header; COLUMN, default the first
  column, becomes the title) and one row per CSV line. TITLE defaults to the file name.
`,
  "csv sync": `notion-cli csv sync --input FILE --database_id DATABASE_ID [--delimiter ","] [--title_column COLUMN]
  Makes the database match the CSV: rows are matched by the title column (default: the
  database's title property); changed rows are updated, missing ones created, nothing is deleted.
  Idempotent: a second run with the same file changes nothing. New CSV columns are added as text.
`,
};

// ───────────────────────────── CSV ─────────────────────────────

/** RFC 4180 CSV: quoted fields may hold the delimiter, quotes ("") and newlines. */
export function parseCsv(text, delimiter = ",") {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // byte order mark from Excel
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  let line = 1;
  let quoteLine = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === "\n") line++;
        field += c;
      }
    } else if (c === '"' && field === "") {
      quoted = true;
      quoteLine = line;
    } else if (text.startsWith(delimiter, i)) {
      row.push(field);
      field = "";
      i += delimiter.length - 1;
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      line++;
    } else field += c;
  }
  if (quoted) throw new UsageError(`--input: unclosed double quote starting on line ${quoteLine}`);
  if (field !== "" || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === "")); // blank lines
}

function readCsv(path, delimiter) {
  const file = path.startsWith("~/") ? homedir() + path.slice(1) : path;
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`--input: cannot read ${path} (${e.code ?? e.message})`);
  }
  const rows = parseCsv(text, delimiter);
  if (!rows.length) throw new UsageError(`--input: ${path} is empty (it needs a header row)`);
  const header = rows[0].map((h) => h.trim());
  header.forEach((h, i) => {
    if (!h) throw new UsageError(`--input: column ${i + 1} of the header row has no name`);
    if (header.indexOf(h) !== i) throw new UsageError(`--input: the header row names "${h}" twice`);
  });
  const records = rows.slice(1).map((r, n) => {
    if (r.length !== header.length) throw new UsageError(`--input: row ${n + 2} has ${r.length} fields, the header has ${header.length}`);
    return Object.fromEntries(header.map((h, i) => [h, r[i]]));
  });
  return { header, records };
}

// ───────────────────────────── HTTP ─────────────────────────────

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;

function config() {
  const key = process.env.NOTION_API_KEY;
  if (!key) throw new ApiError("NOTION_API_KEY is not set: install the Notion skill from the Skills drawer and paste the integration secret");
  // Never echo the value: only say what shape it should have.
  if (!/^(secret_|ntn_)[A-Za-z0-9]{30,}$/.test(key.trim()))
    throw new ApiError(
      "NOTION_API_KEY does not look like a Notion integration secret (it starts with secret_ or ntn_); reinstall the skill with the secret from notion.so/my-integrations",
    );
  const raw = process.env.TROPIC_NOTION_API_BASE || DEFAULT_BASE;
  let u;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError("TROPIC_NOTION_API_BASE is not a valid URL");
  }
  if (!(u.protocol === "https:" || (u.protocol === "http:" && LOOPBACK.test(u.hostname))))
    throw new UsageError("TROPIC_NOTION_API_BASE must be https (http only on loopback)");
  return { key: key.trim(), base: raw.replace(/\/+$/, "") };
}

function explain(status, body, what) {
  const msg = body?.message ?? "";
  if (status === 401)
    return "Notion refused the integration secret (NOTION_API_KEY): it may have been revoked; reinstall the skill with a current secret";
  if (status === 403)
    return `the integration may not do this${what ? ` on ${what}` : ""}: check its capabilities (read/update/insert content) at notion.so/my-integrations`;
  if (status === 404)
    return `${what ?? "object"} not found, or not shared with the integration: open it in Notion, ⋯ menu > Connections, and add the integration`;
  if (status === 409) return `Notion reported a conflict (another edit at the same time); run the command again${msg ? ` (${msg})` : ""}`;
  if (status === 429) return "Notion rate limit reached and retries ran out: wait a minute and try again";
  if (status === 400) return `Notion refused the request: ${msg || body?.code || "bad request"}`;
  return `Notion error (HTTP ${status})${msg ? `: ${msg}` : ""}`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function api(cfg, method, path, body, what) {
  for (let attempt = 0; ; attempt++) {
    let res;
    try {
      res = await fetch(`${cfg.base}/v1/${path}`, {
        method,
        headers: {
          authorization: `Bearer ${cfg.key}`,
          "notion-version": NOTION_VERSION,
          accept: "application/json",
          ...(body ? { "content-type": "application/json" } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (e) {
      throw new ApiError(`could not reach Notion (${e.cause?.code ?? e.message})`);
    }
    // Notion allows ~3 requests/s and says how long to wait; 502-504 are transient too.
    if ([429, 502, 503, 504].includes(res.status) && attempt < 5) {
      const after = Number(res.headers.get("retry-after"));
      await sleep(Number.isFinite(after) && after >= 0 ? Math.min(after, 60) * 1000 : 1000 * 2 ** attempt);
      continue;
    }
    const json = await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(explain(res.status, json, what));
    return json;
  }
}

/** Every result of a paginated list (search, database query, block children). */
async function all(cfg, method, path, body, what) {
  const out = [];
  let cursor;
  do {
    const res =
      method === "GET"
        ? await api(
            cfg,
            "GET",
            `${path}${path.includes("?") ? "&" : "?"}page_size=${PAGE_SIZE}${cursor ? `&start_cursor=${encodeURIComponent(cursor)}` : ""}`,
            undefined,
            what,
          )
        : await api(cfg, "POST", path, { ...body, page_size: PAGE_SIZE, ...(cursor ? { start_cursor: cursor } : {}) }, what);
    out.push(...(res.results ?? []));
    cursor = res.has_more ? res.next_cursor : undefined;
  } while (cursor);
  return out;
}

// ───────────────────────────── values ─────────────────────────────

/** A Notion id from 32 hex characters, a dashed UUID or a URL ending in one. */
export function notionId(input, flag) {
  const s = String(input ?? "").trim();
  const path = /^https?:\/\//.test(s) || s.includes("notion.so/") ? s.split(/[?#]/)[0] : s;
  const hex = path.replace(/-/g, "").match(/[0-9a-f]{32}$/i)?.[0];
  if (!hex) throw new UsageError(`${flag} must be a Notion id (32 hex characters, a UUID or the page's URL)`);
  const h = hex.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const plain = (rich) => (rich ?? []).map((t) => t.plain_text ?? t.text?.content ?? "").join("");

function richText(s) {
  const out = [];
  for (let i = 0; i < s.length; i += TEXT_LIMIT) out.push({ type: "text", text: { content: s.slice(i, i + TEXT_LIMIT) } });
  return out;
}

function titleOf(obj) {
  if (obj.object === "database") return plain(obj.title);
  for (const p of Object.values(obj.properties ?? {})) if (p.type === "title") return plain(p.title);
  return "";
}

/** Property types a CSV cell can be written to; others (formulas, relations…) are left alone. */
const WRITABLE = new Set(["title", "rich_text", "number", "checkbox", "select", "multi_select", "date", "url", "email", "phone_number"]);

/** A CSV cell as the canonical value of a property type (also what is compared in sync). */
function fromCell(type, cell, column, row) {
  const s = cell.trim();
  switch (type) {
    case "title":
    case "rich_text":
      return cell;
    case "number": {
      if (s === "") return null;
      const n = Number(s.replace(/,/g, ""));
      if (!Number.isFinite(n)) throw new UsageError(`--input: row ${row}, column "${column}" is a number column but holds "${s}"`);
      return n;
    }
    case "checkbox":
      return /^(true|yes|y|1|x|✓|checked)$/i.test(s);
    case "select":
      return s === "" ? null : s.replace(/,/g, " ");
    case "multi_select":
      return s === ""
        ? []
        : [
            ...new Set(
              s
                .split(",")
                .map((x) => x.trim())
                .filter(Boolean),
            ),
          ];
    default: // date, url, email, phone_number
      return s === "" ? null : s;
  }
}

/** A page's property value in the same canonical form. */
function fromProperty(p) {
  switch (p?.type) {
    case "title":
      return plain(p.title);
    case "rich_text":
      return plain(p.rich_text);
    case "number":
      return p.number ?? null;
    case "checkbox":
      return p.checkbox === true;
    case "select":
      return p.select?.name ?? null;
    case "multi_select":
      return (p.multi_select ?? []).map((o) => o.name);
    case "date":
      return p.date?.start ?? null;
    default:
      return p ? (p[p.type] ?? null) : null;
  }
}

/** The canonical value as the API's property payload. */
function toProperty(type, v) {
  switch (type) {
    case "title":
      return { title: richText(v) };
    case "rich_text":
      return { rich_text: richText(v) };
    case "select":
      return { select: v === null ? null : { name: v } };
    case "multi_select":
      return { multi_select: v.map((name) => ({ name })) };
    case "date":
      return { date: v === null ? null : { start: v } };
    default:
      return { [type]: v };
  }
}

// ───────────────────────────── output ─────────────────────────────

function listOut(results, format) {
  if (format === "json") return `${JSON.stringify(results, null, 2)}\n`;
  if (!results.length) return "No results. The integration only sees pages shared with it (page ⋯ menu > Connections).\n";
  return results.map((r) => `${r.object}\t${r.id}\t${titleOf(r) || "(untitled)"}\t${r.url ?? ""}`).join("\n") + "\n";
}

function blockText(b) {
  const v = b[b.type] ?? {};
  const t = plain(v.rich_text);
  switch (b.type) {
    case "heading_1":
      return `# ${t}`;
    case "heading_2":
      return `## ${t}`;
    case "heading_3":
      return `### ${t}`;
    case "bulleted_list_item":
      return `- ${t}`;
    case "numbered_list_item":
      return `1. ${t}`;
    case "to_do":
      return `[${v.checked ? "x" : " "}] ${t}`;
    case "quote":
      return `> ${t}`;
    case "code":
      return "```" + (v.language ?? "") + "\n" + t + "\n```";
    case "child_page":
    case "child_database":
      return `${b.type === "child_page" ? "Page" : "Database"}: ${v.title ?? ""} (${b.id})`;
    case "divider":
      return "---";
    case "bookmark":
    case "embed":
    case "link_preview":
      return v.url ?? "";
    case "equation":
      return v.expression ?? "";
    default:
      return t || (typeof v.caption === "object" ? plain(v.caption) : "");
  }
}

function renderBlocks(blocks, depth = 0) {
  const lines = [];
  for (const b of blocks) {
    const text = blockText(b);
    if (text) lines.push(text.replace(/^/gm, "  ".repeat(depth)));
    if (b.children) lines.push(...renderBlocks(b.children, depth + 1));
  }
  return lines;
}

// ───────────────────────────── commands ─────────────────────────────

function opts(argv, spec, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options: { help: { type: "boolean", short: "h" }, ...spec }, strict: true, allowPositionals });
  } catch (e) {
    throw new UsageError(e.message.replace(/\. To specify a positional.*$/s, ""));
  }
}

function format(v) {
  const f = v ?? "plain_text";
  if (f !== "plain_text" && f !== "json") throw new UsageError("--format must be plain_text or json");
  return f;
}

async function search(argv, out, filter, name) {
  const { values: o } = opts(argv, { format: { type: "string" }, ...(filter ? {} : { query: { type: "string" } }) });
  if (o.help) return out(COMMAND_HELP[name]);
  const f = format(o.format);
  const cfg = config();
  const body = {
    ...(o.query ? { query: o.query } : {}),
    ...(filter ? { filter: { property: "object", value: filter } } : {}),
    sort: { direction: "descending", timestamp: "last_edited_time" },
  };
  out(listOut(await all(cfg, "POST", "search", body), f));
}

async function children(cfg, id) {
  const list = await all(cfg, "GET", `blocks/${id}/children`, undefined, `block ${id}`);
  // Child pages and databases are their own documents: list them, don't descend into them.
  for (const b of list) if (b.has_children && b.type !== "child_page" && b.type !== "child_database") b.children = await children(cfg, b.id);
  return list;
}

async function blocksGet(argv, out) {
  const { values: o, positionals } = opts(argv, { with_children: { type: "boolean" }, format: { type: "string" } }, true);
  if (o.help) return out(COMMAND_HELP["blocks get"]);
  if (positionals.length !== 1) throw new UsageError('blocks get needs exactly one block or page id: notion-cli blocks get "<block_id>"');
  const f = format(o.format);
  const id = notionId(positionals[0], "ID");
  const cfg = config();
  const block = await api(cfg, "GET", `blocks/${id}`, undefined, `block ${id}`);
  const kids = o.with_children ? await children(cfg, id) : undefined;
  if (f === "json") return out(`${JSON.stringify(kids ? { object: "list", block, results: kids } : block, null, 2)}\n`);
  const lines = renderBlocks([block]);
  if (kids) lines.push(...renderBlocks(kids, block.type === "child_page" ? 0 : 1));
  out(`${lines.join("\n")}\n`);
}

function delimiterOf(v) {
  if (v === undefined) return ",";
  const d = v === "\\t" || v === "tab" ? "\t" : v;
  if (d.length !== 1 || d === '"' || d === "\n" || d === "\r")
    throw new UsageError('--delimiter must be a single character other than a quote or newline (e.g. "," ";" or "\\t")');
  return d;
}

async function csvImport(argv, out) {
  const { values: o } = opts(argv, {
    input: { type: "string" },
    parent_page_id: { type: "string" },
    delimiter: { type: "string" },
    title: { type: "string" },
    title_column: { type: "string" },
  });
  if (o.help) return out(COMMAND_HELP["csv import"]);
  if (!o.input) throw new UsageError("csv import needs --input FILE");
  if (!o.parent_page_id) throw new UsageError("csv import needs --parent_page_id PAGE_ID");
  const parent = notionId(o.parent_page_id, "--parent_page_id");
  const { header, records } = readCsv(o.input, delimiterOf(o.delimiter));
  const titleColumn = o.title_column ?? header[0];
  if (!header.includes(titleColumn))
    throw new UsageError(`--title_column "${titleColumn}" is not a column of the CSV (columns: ${header.join(", ")})`);
  const title = o.title ?? basename(o.input).replace(/\.[^.]*$/, "");
  const cfg = config();
  const properties = Object.fromEntries(header.map((h) => [h, h === titleColumn ? { title: {} } : { rich_text: {} }]));
  const db = await api(
    cfg,
    "POST",
    "databases",
    { parent: { type: "page_id", page_id: parent }, title: richText(title), properties },
    `page ${parent}`,
  );
  const types = Object.fromEntries(header.map((h) => [h, h === titleColumn ? "title" : "rich_text"]));
  for (const [i, r] of records.entries()) await createRow(cfg, db.id, types, r, i + 2);
  out(`Created database "${title}" (${db.id}) with ${records.length} row${records.length === 1 ? "" : "s"}${db.url ? `: ${db.url}` : ""}\n`);
}

function rowProperties(types, record, rowNumber) {
  const props = {};
  for (const [col, type] of Object.entries(types)) props[col] = toProperty(type, fromCell(type, record[col], col, rowNumber));
  return props;
}

async function createRow(cfg, databaseId, types, record, rowNumber) {
  await api(
    cfg,
    "POST",
    "pages",
    { parent: { database_id: databaseId }, properties: rowProperties(types, record, rowNumber) },
    `database ${databaseId}`,
  );
}

async function csvSync(argv, out) {
  const { values: o } = opts(argv, {
    input: { type: "string" },
    database_id: { type: "string" },
    delimiter: { type: "string" },
    title_column: { type: "string" },
  });
  if (o.help) return out(COMMAND_HELP["csv sync"]);
  if (!o.input) throw new UsageError("csv sync needs --input FILE");
  if (!o.database_id) throw new UsageError("csv sync needs --database_id DATABASE_ID");
  const dbId = notionId(o.database_id, "--database_id");
  const { header, records } = readCsv(o.input, delimiterOf(o.delimiter));
  const cfg = config();
  const db = await api(cfg, "GET", `databases/${dbId}`, undefined, `database ${dbId}`);
  const titleProp = Object.entries(db.properties ?? {}).find(([, p]) => p.type === "title")?.[0];
  const key = o.title_column ?? titleProp;
  if (!key || !header.includes(key))
    throw new UsageError(
      `--title_column: the CSV has no column "${key}" (the database's title property) to match rows by; columns: ${header.join(", ")}`,
    );
  const keyType = db.properties?.[key]?.type;
  if (keyType !== undefined && !WRITABLE.has(keyType)) throw new UsageError(`--title_column "${key}" cannot be matched on (its type is ${keyType})`);

  // Check every row before changing anything: a bad file leaves the database untouched.
  const seen = new Map();
  records.forEach((r, i) => {
    const k = r[key].trim();
    if (!k) throw new UsageError(`--input: row ${i + 2} has an empty "${key}" (the column rows are matched by)`);
    if (seen.has(k))
      throw new UsageError(`--input: rows ${seen.get(k)} and ${i + 2} both have "${key}" = "${k}"; sync matches rows by it, so it must be unique`);
    seen.set(k, i + 2);
  });
  const types = {};
  const skipped = [];
  const added = [];
  for (const h of header) {
    const p = db.properties?.[h];
    if (!p) {
      types[h] = "rich_text";
      added.push(h);
    } else if (WRITABLE.has(p.type)) types[h] = p.type;
    else skipped.push(`${h} (${p.type})`);
  }
  records.forEach((r, i) => {
    for (const [col, type] of Object.entries(types)) fromCell(type, r[col], col, i + 2);
  });

  if (added.length) {
    await api(cfg, "PATCH", `databases/${dbId}`, { properties: Object.fromEntries(added.map((h) => [h, { rich_text: {} }])) }, `database ${dbId}`);
  }
  const pages = await all(cfg, "POST", `databases/${dbId}/query`, {}, `database ${dbId}`);
  const byKey = new Map();
  for (const p of pages) {
    const k = String(fromProperty(p.properties?.[key]) ?? "").trim();
    if (k && !byKey.has(k)) byKey.set(k, p);
  }
  let created = 0;
  let updated = 0;
  let unchanged = 0;
  for (const [i, r] of records.entries()) {
    const page = byKey.get(r[key].trim());
    if (!page) {
      await createRow(cfg, dbId, types, r, i + 2);
      created++;
      continue;
    }
    const changed = {};
    for (const [col, type] of Object.entries(types)) {
      const want = fromCell(type, r[col], col, i + 2);
      if (JSON.stringify(fromProperty(page.properties?.[col]) ?? defaultOf(type)) !== JSON.stringify(want)) changed[col] = toProperty(type, want);
    }
    if (Object.keys(changed).length) {
      await api(cfg, "PATCH", `pages/${page.id}`, { properties: changed }, `page ${page.id}`);
      updated++;
    } else unchanged++;
  }
  const notes = [
    added.length ? `added column${added.length === 1 ? "" : "s"} ${added.join(", ")}` : "",
    skipped.length ? `left alone (not writable from CSV): ${skipped.join(", ")}` : "",
  ].filter(Boolean);
  out(
    `Synced ${records.length} row${records.length === 1 ? "" : "s"} into database ${dbId}: ${created} created, ${updated} updated, ${unchanged} unchanged${notes.length ? `; ${notes.join("; ")}` : ""}\n`,
  );
}

/** What an absent property reads as, so an empty cell matches a property never set. */
function defaultOf(type) {
  if (type === "title" || type === "rich_text") return "";
  if (type === "checkbox") return false;
  if (type === "multi_select") return [];
  return null;
}

export async function main(argv) {
  const out = (s) => process.stdout.write(s);
  try {
    const [a, b, ...rest] = argv;
    if (!a || a === "--help" || a === "-h" || a === "help") return out(HELP);
    if (a === "search")
      return await search(
        [b, ...rest].filter((x) => x !== undefined),
        out,
        undefined,
        "search",
      );
    const two = `${a} ${b ?? ""}`.trim();
    if (two === "pages list") return await search(rest, out, "page", two);
    if (two === "databases list") return await search(rest, out, "database", two);
    if (two === "blocks get") return await blocksGet(rest, out);
    if (two === "csv import") return await csvImport(rest, out);
    if (two === "csv sync") return await csvSync(rest, out);
    if (["pages", "databases", "blocks", "csv"].includes(a) && (b === "--help" || b === "-h" || b === undefined))
      return out(
        Object.entries(COMMAND_HELP)
          .filter(([k]) => k.startsWith(`${a} `))
          .map(([, v]) => v)
          .join("\n"),
      );
    throw new UsageError(`unknown command "${two}"; commands: search, pages list, databases list, blocks get, csv import, csv sync`);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`notion-cli: ${e.message}\nRun "notion-cli --help" for usage.\n`);
      process.exitCode = EXIT_USAGE;
    } else {
      process.stderr.write(`notion-cli: ${e instanceof ApiError ? "" : "unexpected error: "}${e?.message ?? e}\n`);
      process.exitCode = EXIT_FAIL;
    }
  }
}
