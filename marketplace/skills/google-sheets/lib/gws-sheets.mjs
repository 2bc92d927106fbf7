// gws-sheets: the Google Sheets commands of the Tropic skill, and nothing else (the full gws CLI
// is not available to the agent). Node >= 20 built-ins only, so it runs from the skill folder as is.
//
// Access token, in this order:
//   TROPIC_GOOGLE_TOKEN_URL  http URL on the instance's loopback, served by the instance agent:
//                            GET -> 200 {"access_token": "...", "expires_at": "<ISO time or epoch s>"}
//                            (the refresh token stays in the control plane; this hands out the
//                            short-lived access token only); sent with
//                            `authorization: Bearer $TROPIC_GOOGLE_TOKEN_SECRET` when that is set
//   GOOGLE_ACCESS_TOKEN      a ready access token (tests, manual use)
// API base: TROPIC_SHEETS_API_BASE (default https://sheets.googleapis.com), https or loopback http.
import { parseArgs } from "node:util";

const DEFAULT_BASE = "https://sheets.googleapis.com";
const EXIT_USAGE = 2;
const EXIT_FAIL = 1;

class UsageError extends Error {}
class ApiError extends Error {}

/** What `--help` and `schema` describe: exactly the methods this wrapper can call. */
const METHODS = {
  "sheets.spreadsheets.values.get": {
    helper: "+read",
    httpMethod: "GET",
    path: "v4/spreadsheets/{spreadsheetId}/values/{range}",
    description: "Returns a range of values from a spreadsheet.",
    parameters: {
      spreadsheetId: { type: "string", location: "path", required: true, flag: "--spreadsheet", description: "The spreadsheet id or its URL." },
      range: {
        type: "string",
        location: "path",
        required: true,
        flag: "--range",
        description: 'A1 notation, e.g. "Sheet1!A1:D10", "Sheet1!A:F", "Sheet1!1:1".',
      },
      majorDimension: { type: "string", location: "query", enum: ["ROWS", "COLUMNS"], default: "ROWS" },
      valueRenderOption: { type: "string", location: "query", enum: ["FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"], default: "FORMATTED_VALUE" },
    },
    response: { range: "string", majorDimension: "string", values: "array<array<any>>" },
  },
  "sheets.spreadsheets.values.append": {
    helper: "+append",
    httpMethod: "POST",
    path: "v4/spreadsheets/{spreadsheetId}/values/{range}:append",
    description: "Appends rows after the last row of the table found in the range (the target sheet). Values are parsed as if typed by a user.",
    parameters: {
      spreadsheetId: { type: "string", location: "path", required: true, flag: "--spreadsheet", description: "The spreadsheet id or its URL." },
      range: {
        type: "string",
        location: "path",
        required: true,
        flag: "--range",
        default: "A1",
        description: 'Where to look for the table, e.g. "Sheet2!A1" (default: the first sheet).',
      },
      valueInputOption: { type: "string", location: "query", required: true, enum: ["RAW", "USER_ENTERED"], default: "USER_ENTERED" },
      insertDataOption: { type: "string", location: "query", enum: ["OVERWRITE", "INSERT_ROWS"], default: "INSERT_ROWS" },
    },
    request: { values: "array<array<any>> (from --values 'a,b' or --json-values '[[...]]')" },
    response: {
      spreadsheetId: "string",
      tableRange: "string",
      updates: { updatedRange: "string", updatedRows: "integer", updatedColumns: "integer", updatedCells: "integer" },
    },
  },
};

const HELP = `gws-sheets: read and append Google Sheets rows through your Google connection.
(The full gws CLI is not available for security reasons; these are all the commands.)

Usage:
  gws-sheets +read   --spreadsheet ID --range RANGE [--format json|csv]
  gws-sheets +append --spreadsheet ID (--values 'a,b,c' | --json-values '[["a","b"],["c","d"]]') [--range "Sheet2!A1"]
  gws-sheets schema sheets.<resource>.<method>     (also: gws schema sheets.<resource>.<method>)
  gws-sheets --help | <command> --help

ID is the spreadsheet id or its whole URL (https://docs.google.com/spreadsheets/d/<id>/edit).
RANGE is A1 notation: "Sheet1!A1:D10", "Sheet1!A:F", "Sheet1!1:1", "Sheet1".
--values is one row, comma separated ("quote, if needed"); --json-values is any number of rows.
--range of +append names the target sheet (default: the first sheet).

Resources and methods:
${Object.entries(METHODS)
  .map(([name, m]) => `  ${name.padEnd(36)} ${m.helper.padEnd(8)} ${m.description}`)
  .join("\n")}
`;

const COMMAND_HELP = {
  "+read": `gws-sheets +read --spreadsheet ID --range RANGE [--format json|csv]
  Prints the values of RANGE (JSON: {range, majorDimension, values}; csv: one line per row).
  Example: gws-sheets +read --spreadsheet 1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms --range "Sheet1!A1:D10"
`,
  "+append": `gws-sheets +append --spreadsheet ID (--values 'a,b,c' | --json-values '[["a","b"]]') [--range "Sheet2!A1"]
  Appends rows after the last row of the sheet's table (valueInputOption USER_ENTERED: numbers,
  dates and TRUE/FALSE are parsed as if typed). Prints {spreadsheetId, tableRange, updates}.
`,
  schema: `gws-sheets schema sheets.<resource>.<method>
  Prints a method's HTTP call, parameters and response shape. Methods: ${Object.keys(METHODS).join(", ")}
`,
};

/** Accepts a bare id or any URL/text containing /spreadsheets/d/<id>. */
export function spreadsheetId(input) {
  const s = String(input ?? "").trim();
  const m = /\/spreadsheets\/d\/([A-Za-z0-9_-]+)/.exec(s);
  const id = m ? m[1] : s;
  if (!/^[A-Za-z0-9_-]{10,}$/.test(id))
    throw new UsageError("--spreadsheet must be a spreadsheet id or URL (https://docs.google.com/spreadsheets/d/<id>/edit)");
  return id;
}

/** One CSV line (the --values row): commas separate, double quotes protect commas and quotes. */
export function splitRow(text) {
  const out = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"' && cur.trim() === "") {
      quoted = true;
      cur = "";
    } else if (c === ",") {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  if (quoted) throw new UsageError("--values has an unclosed double quote");
  out.push(cur);
  return out;
}

function parseJsonValues(text) {
  let v;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--json-values is not valid JSON (${e.message})`);
  }
  const scalar = (x) => x === null || ["string", "number", "boolean"].includes(typeof x);
  if (!Array.isArray(v) || v.length === 0 || !v.every((r) => Array.isArray(r) && r.every(scalar)))
    throw new UsageError('--json-values must be a non-empty array of rows, each an array of strings, numbers or booleans: [["a","b"],["c","d"]]');
  return v;
}

function apiBase() {
  const raw = process.env.TROPIC_SHEETS_API_BASE || DEFAULT_BASE;
  return checkedUrl(raw, "TROPIC_SHEETS_API_BASE").replace(/\/+$/, "");
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;
/** https anywhere, plain http only on loopback: a token must never cross a network in clear text. */
function checkedUrl(raw, name, loopbackOnly = false) {
  let u;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(`${name} is not a valid URL`);
  }
  if (loopbackOnly ? !LOOPBACK.test(u.hostname) : !(u.protocol === "https:" || (u.protocol === "http:" && LOOPBACK.test(u.hostname))))
    throw new UsageError(loopbackOnly ? `${name} must be on the instance's loopback (127.0.0.1)` : `${name} must be https (http only on loopback)`);
  if (u.username || u.password) throw new UsageError(`${name} must not contain credentials`);
  return raw;
}

async function accessToken() {
  const url = process.env.TROPIC_GOOGLE_TOKEN_URL;
  if (url) {
    checkedUrl(url, "TROPIC_GOOGLE_TOKEN_URL", true);
    let res;
    try {
      // The instance's token-endpoint secret (only the gateway's environment has it): other users of a
      // shared host's loopback cannot use the instance's Google access.
      const secret = process.env.TROPIC_GOOGLE_TOKEN_SECRET;
      res = await fetch(url, { headers: { accept: "application/json", ...(secret ? { authorization: `Bearer ${secret}` } : {}) } });
    } catch (e) {
      throw new ApiError(`could not reach the instance agent for a Google access token (${e.cause?.code ?? e.message}); is the instance running?`);
    }
    const body = await res.json().catch(() => ({}));
    if (res.status === 404 || res.status === 409 || body.error === "not_connected")
      throw new ApiError("no Google account is connected: connect one with Google Sheets access in Settings > Connections in the Tropic dashboard");
    if (!res.ok || typeof body.access_token !== "string" || !body.access_token)
      throw new ApiError(`the instance agent did not return a Google access token (HTTP ${res.status}${body.error ? `: ${body.error}` : ""})`);
    return body.access_token;
  }
  const env = process.env.GOOGLE_ACCESS_TOKEN;
  if (env) return env;
  throw new ApiError("no Google access token: connect a Google account in Settings > Connections (the instance agent provides the token)");
}

/** Plain words for Google's errors; the body's own message is kept for 400s (bad ranges etc.). */
function explain(status, body, id) {
  const msg = body?.error?.message ?? "";
  if (status === 400) return `Google Sheets refused the request: ${msg || "bad request"}`;
  if (status === 401) return "Google refused the access token (expired or revoked): reconnect Google in Settings > Connections";
  if (status === 403) {
    if (/scope/i.test(msg))
      return "the Google connection lacks the Sheets permission: reconnect Google in Settings > Connections and allow Google Sheets";
    return `no access to this spreadsheet (${id}): the connected Google account cannot open it; share it with that account or ask its owner to`;
  }
  if (status === 404) return `spreadsheet not found (${id}): check the id (the part of the URL between /d/ and /edit)`;
  if (status === 429) return "Google Sheets rate limit reached: wait a minute and try again";
  return `Google Sheets error (HTTP ${status})${msg ? `: ${msg}` : ""}`;
}

async function call(method, path, id, body) {
  const token = await accessToken();
  const url = `${apiBase()}/${path}`;
  for (let attempt = 0; ; attempt++) {
    let res;
    try {
      res = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${token}`, accept: "application/json", ...(body ? { "content-type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (e) {
      throw new ApiError(`could not reach Google Sheets (${e.cause?.code ?? e.message})`);
    }
    // Quota errors clear after a short wait; retry a few times before giving up.
    if ((res.status === 429 || res.status === 503) && attempt < 3) {
      const after = Number(res.headers.get("retry-after"));
      await new Promise((r) => setTimeout(r, Number.isFinite(after) && after >= 0 ? Math.min(after, 30) * 1000 : 500 * 2 ** attempt));
      continue;
    }
    const json = await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(explain(res.status, json, id));
    return json;
  }
}

function options(argv, extra) {
  const spec = { spreadsheet: { type: "string" }, range: { type: "string" }, help: { type: "boolean", short: "h" }, ...extra };
  try {
    return parseArgs({ args: argv, options: spec, strict: true, allowPositionals: false }).values;
  } catch (e) {
    // parseArgs names the flag ("Unknown option '--foo'"); keep that and point at --help.
    throw new UsageError(`${e.message.replace(/\. To specify a positional.*$/s, "")}`);
  }
}

function csvCell(v) {
  const s = v === null || v === undefined ? "" : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

async function read(argv, out) {
  const o = options(argv, { format: { type: "string" } });
  if (o.help) return out(COMMAND_HELP["+read"]);
  if (!o.spreadsheet) throw new UsageError("+read needs --spreadsheet ID");
  if (!o.range) throw new UsageError('+read needs --range (e.g. --range "Sheet1!A1:D10")');
  const format = o.format ?? "json";
  if (!["json", "csv"].includes(format)) throw new UsageError("--format must be json or csv");
  const id = spreadsheetId(o.spreadsheet);
  const r = await call("GET", `v4/spreadsheets/${encodeURIComponent(id)}/values/${encodeURIComponent(o.range)}`, id);
  const values = r.values ?? [];
  if (format === "csv") return out(values.map((row) => row.map(csvCell).join(",")).join("\n") + (values.length ? "\n" : ""));
  out(`${JSON.stringify({ range: r.range, majorDimension: r.majorDimension ?? "ROWS", values }, null, 2)}\n`);
}

async function append(argv, out) {
  const o = options(argv, { values: { type: "string" }, "json-values": { type: "string" } });
  if (o.help) return out(COMMAND_HELP["+append"]);
  if (!o.spreadsheet) throw new UsageError("+append needs --spreadsheet ID");
  if (o.values !== undefined && o["json-values"] !== undefined) throw new UsageError("give either --values or --json-values, not both");
  if (o.values === undefined && o["json-values"] === undefined)
    throw new UsageError("+append needs --values 'a,b,c' or --json-values '[[\"a\",\"b\"]]'");
  const rows = o.values !== undefined ? [splitRow(o.values)] : parseJsonValues(o["json-values"]);
  const range = o.range ?? "A1";
  const id = spreadsheetId(o.spreadsheet);
  const r = await call(
    "POST",
    `v4/spreadsheets/${encodeURIComponent(id)}/values/${encodeURIComponent(range)}:append?valueInputOption=USER_ENTERED&insertDataOption=INSERT_ROWS`,
    id,
    { majorDimension: "ROWS", values: rows },
  );
  out(`${JSON.stringify(r, null, 2)}\n`);
}

function schema(argv, out) {
  if (argv.includes("--help") || argv.includes("-h")) return out(COMMAND_HELP.schema);
  const name = argv.find((a) => !a.startsWith("-"));
  if (!name) throw new UsageError(`schema needs a method name, one of: ${Object.keys(METHODS).join(", ")}`);
  const m = METHODS[name];
  if (!m) throw new UsageError(`unknown method "${name}"; available: ${Object.keys(METHODS).join(", ")}`);
  out(`${JSON.stringify({ method: name, ...m }, null, 2)}\n`);
}

/**
 * Runs one command line. `as` is the name it was called by: "gws" offers only schema and --help
 * (the seed's discovery command), "gws-sheets" everything.
 */
export async function main(argv, as = "gws-sheets") {
  const out = (s) => process.stdout.write(s);
  try {
    const [cmd, ...rest] = argv;
    if (!cmd || cmd === "--help" || cmd === "-h" || cmd === "help") return out(HELP);
    if (cmd === "schema") return schema(rest, out);
    if (as === "gws")
      throw new UsageError(
        `the full gws CLI is not available for security reasons; use gws-sheets (gws-sheets --help), or gws schema sheets.<resource>.<method>`,
      );
    if (cmd === "+read") return await read(rest, out);
    if (cmd === "+append") return await append(rest, out);
    throw new UsageError(`unknown command "${cmd}"; commands: +read, +append, schema (see gws-sheets --help)`);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${as}: ${e.message}\nRun "${as} --help" for usage.\n`);
      process.exitCode = EXIT_USAGE;
    } else if (e instanceof ApiError) {
      process.stderr.write(`${as}: ${e.message}\n`);
      process.exitCode = EXIT_FAIL;
    } else {
      process.stderr.write(`${as}: unexpected error: ${e?.message ?? e}\n`);
      process.exitCode = EXIT_FAIL;
    }
  }
}
