/**
 * MOCK Google Sheets API v4 (values.get, values.append) and the instance agent's token endpoint
 * (TROPIC_GOOGLE_TOKEN_URL), on 127.0.0.1. It checks requests as Google does: a Bearer token it
 * issued (401 otherwise), A1 ranges it can parse (400), valueInputOption on append (400), known
 * spreadsheets (404) the token's user may open (403).
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Cell = string;
export interface MockSpreadsheet {
  /** Sheets in tab order; the first is used when a range names no sheet. */
  sheets: { title: string; rows: Cell[][] }[];
  /** false: the connected account has no access (403). */
  shared?: boolean;
}

export interface MockGoogle {
  url: string;
  /** The instance agent's token endpoint (GET → {access_token, expires_at}). */
  tokenUrl: string;
  /** A valid access token, as GOOGLE_ACCESS_TOKEN. */
  token: string;
  spreadsheets: Map<string, MockSpreadsheet>;
  requests: { method: string; path: string; auth?: string }[];
  /** Answer the next n Sheets calls with 429 (Retry-After: 0). */
  failNext(n: number): void;
  /** Token endpoint answers "not connected" while false. */
  connected: boolean;
  /** Google's OAuth 2.0 endpoints (authorization code + PKCE, refresh), as the control plane uses them. */
  oauth: MockOAuth;
  close(): Promise<void>;
}

/**
 * MOCK OAuth 2.0 (accounts.google.com/o/oauth2/v2/auth and oauth2.googleapis.com/token): the
 * authorization page approves at once (302 to redirect_uri with code and state, or error=access_denied
 * while `deny`); the token endpoint checks the client, the code (one use, its redirect_uri) and the
 * PKCE verifier against the S256 challenge, as Google does (400 invalid_grant otherwise).
 */
export interface MockOAuth {
  authUrl: string;
  tokenUrl: string;
  revokeUrl: string;
  /** refresh tokens revoked (by `revoke` or a POST to the revocation endpoint) */
  revoked: Set<string>;
  clientId: string;
  clientSecret: string;
  /** expires_in of the access tokens it issues (seconds) */
  expiresIn: number;
  deny: boolean;
  /** refresh tokens issued (the plaintext a test greps the database for) */
  refreshTokens: string[];
  /** access tokens issued by the token endpoint */
  accessTokens: string[];
  /** every token-endpoint call: grant type and whether it was granted (a reason when not) */
  grants: { grantType: string; ok: boolean; error?: string }[];
  /** Google forgets the grant (the user removed access): the refresh token gets invalid_grant */
  revoke(refreshToken: string): void;
}

const colToNum = (c: string) => [...c.toUpperCase()].reduce((n, ch) => n * 26 + ch.charCodeAt(0) - 64, 0);
const numToCol = (n: number) => {
  let s = "";
  for (; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
};

interface Range {
  sheet: { title: string; rows: Cell[][] };
  c1: number;
  r1: number;
  c2: number; // Infinity = open
  r2: number;
}

/** A1 notation as the Sheets API reads it: [sheet!]A1[:B2], A:C, 1:3, or a bare sheet name. */
function parseRange(ss: MockSpreadsheet, text: string): Range | undefined {
  let sheetName: string | undefined;
  let ref = text;
  const bang = text.lastIndexOf("!");
  if (bang >= 0) {
    sheetName = text
      .slice(0, bang)
      .replace(/^'(.*)'$/, "$1")
      .replace(/''/g, "'");
    ref = text.slice(bang + 1);
  } else if (ss.sheets.some((s) => s.title === text.replace(/^'(.*)'$/, "$1"))) {
    sheetName = text.replace(/^'(.*)'$/, "$1");
    ref = "";
  }
  const sheet = sheetName === undefined ? ss.sheets[0] : ss.sheets.find((s) => s.title === sheetName);
  if (!sheet) return undefined;
  if (ref === "") return { sheet, c1: 1, r1: 1, c2: Number.POSITIVE_INFINITY, r2: Number.POSITIVE_INFINITY };
  const m = /^([A-Za-z]*)(\d*)(?::([A-Za-z]*)(\d*))?$/.exec(ref);
  if (!m || (!m[1] && !m[2])) return undefined;
  const [, ca, ra, cb, rb] = m;
  const two = m[3] !== undefined || m[4] !== undefined;
  const c1 = ca ? colToNum(ca) : 1;
  const r1 = ra ? Number(ra) : 1;
  const c2 = two ? (cb ? colToNum(cb) : Number.POSITIVE_INFINITY) : ca ? c1 : Number.POSITIVE_INFINITY;
  const r2 = two ? (rb ? Number(rb) : Number.POSITIVE_INFINITY) : ra ? r1 : Number.POSITIVE_INFINITY;
  if (r1 < 1 || c2 < c1 || r2 < r1) return undefined;
  return { sheet, c1, r1, c2, r2 };
}

const quoteSheet = (t: string) => (/^[A-Za-z0-9_]+$/.test(t) ? t : `'${t.replace(/'/g, "''")}'`);
const a1 = (sheet: string, c1: number, r1: number, c2: number, r2: number) =>
  `${quoteSheet(sheet)}!${numToCol(c1)}${r1}${c2 === c1 && r2 === r1 ? "" : `:${numToCol(c2)}${r2}`}`;

/** USER_ENTERED: numbers stay as typed, booleans become TRUE/FALSE (what a read shows back). */
function entered(v: unknown): Cell {
  if (v === null || v === undefined) return "";
  if (typeof v === "boolean") return v ? "TRUE" : "FALSE";
  const s = String(v);
  return /^(true|false)$/i.test(s) ? s.toUpperCase() : s;
}

export async function startMockGoogle(): Promise<MockGoogle> {
  const token = `ya29.mock-${crypto.randomUUID()}`;
  const issued = new Set([token]);
  let failures = 0;
  const spreadsheets = new Map<string, MockSpreadsheet>();
  const requests: MockGoogle["requests"] = [];
  const state = { connected: true };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };
  const gErr = (res: ServerResponse, code: number, status: string, message: string) => send(res, code, { error: { code, message, status } });

  const codes = new Map<string, { challenge: string; redirectUri: string; scope: string; offline: boolean }>();
  const revoked = new Set<string>();
  const oauth = {
    clientId: "mock-client.apps.googleusercontent.com",
    clientSecret: `GOCSPX-mock-${crypto.randomUUID()}`,
    expiresIn: 3599,
    deny: false,
    refreshTokens: [] as string[],
    accessTokens: [] as string[],
    grants: [] as MockOAuth["grants"],
    revoke: (rt: string) => void revoked.add(rt),
    revoked,
  };
  const newAccess = () => {
    const t = `ya29.mock-${crypto.randomUUID()}`;
    issued.add(t);
    oauth.accessTokens.push(t);
    return t;
  };

  function authorize(u: URL, res: ServerResponse) {
    const q = u.searchParams;
    const redirect = q.get("redirect_uri") ?? "";
    if (q.get("client_id") !== oauth.clientId) return send(res, 401, { error: "invalid_client" });
    if (q.get("response_type") !== "code" || !redirect) return send(res, 400, { error: "invalid_request" });
    if (q.get("code_challenge_method") !== "S256" || !/^[A-Za-z0-9_-]{43}$/.test(q.get("code_challenge") ?? ""))
      return send(res, 400, { error: "invalid_request", error_description: "PKCE S256 code_challenge required" });
    const back = new URL(redirect);
    if (q.get("state")) back.searchParams.set("state", q.get("state")!);
    if (oauth.deny) back.searchParams.set("error", "access_denied");
    else {
      const code = `4/mock-${crypto.randomUUID()}`;
      codes.set(code, {
        challenge: q.get("code_challenge")!,
        redirectUri: redirect,
        scope: q.get("scope") ?? "",
        offline: q.get("access_type") === "offline",
      });
      back.searchParams.set("code", code);
    }
    res.writeHead(302, { location: back.toString() });
    res.end();
  }

  async function tokenEndpoint(req: IncomingMessage, res: ServerResponse) {
    if (req.method !== "POST") return send(res, 405, { error: "method_not_allowed" });
    let text = "";
    for await (const c of req) text += c;
    const f = new URLSearchParams(text);
    const grantType = f.get("grant_type") ?? "";
    const refuse = (status: number, error: string) => {
      oauth.grants.push({ grantType, ok: false, error });
      return send(res, status, { error, error_description: error });
    };
    if (!/^application\/x-www-form-urlencoded/.test(req.headers["content-type"] ?? "")) return refuse(400, "invalid_request");
    if (f.get("client_id") !== oauth.clientId || f.get("client_secret") !== oauth.clientSecret) return refuse(401, "invalid_client");
    if (grantType === "authorization_code") {
      const c = codes.get(f.get("code") ?? "");
      codes.delete(f.get("code") ?? "");
      if (!c) return refuse(400, "invalid_grant");
      if (f.get("redirect_uri") !== c.redirectUri) return refuse(400, "redirect_uri_mismatch");
      const verifier = f.get("code_verifier") ?? "";
      if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || createHash("sha256").update(verifier).digest("base64url") !== c.challenge)
        return refuse(400, "invalid_grant");
      const body: Record<string, unknown> = { access_token: newAccess(), expires_in: oauth.expiresIn, scope: c.scope, token_type: "Bearer" };
      if (c.offline) {
        const rt = `1//mock-refresh-${crypto.randomUUID()}`;
        oauth.refreshTokens.push(rt);
        body.refresh_token = rt;
      }
      oauth.grants.push({ grantType, ok: true });
      return send(res, 200, body);
    }
    if (grantType === "refresh_token") {
      const rt = f.get("refresh_token") ?? "";
      if (!oauth.refreshTokens.includes(rt) || revoked.has(rt)) return refuse(400, "invalid_grant");
      oauth.grants.push({ grantType, ok: true });
      return send(res, 200, {
        access_token: newAccess(),
        expires_in: oauth.expiresIn,
        scope: "https://www.googleapis.com/auth/spreadsheets",
        token_type: "Bearer",
      });
    }
    return refuse(400, "unsupported_grant_type");
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const u = new URL(req.url ?? "/", "http://x");
    requests.push({ method: req.method ?? "", path: u.pathname + u.search, auth: req.headers.authorization });
    if (u.pathname === "/o/oauth2/v2/auth") return authorize(u, res);
    if (u.pathname === "/token") return tokenEndpoint(req, res);
    if (u.pathname === "/revoke") {
      // Google's revocation endpoint: token=<refresh or access token>, form-encoded
      let text = "";
      for await (const c of req) text += c;
      const t = new URLSearchParams(text).get("token") ?? "";
      if (req.method !== "POST" || !oauth.refreshTokens.includes(t)) return send(res, 400, { error: "invalid_token" });
      revoked.add(t);
      return send(res, 200, {});
    }
    if (u.pathname === "/agent/google-token") {
      if (req.method !== "GET") return send(res, 405, { error: "method_not_allowed" });
      if (!state.connected) return send(res, 409, { error: "not_connected" });
      const t = `ya29.mock-${crypto.randomUUID()}`;
      issued.add(t);
      return send(res, 200, { access_token: t, expires_at: new Date(Date.now() + 3600_000).toISOString() });
    }
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? "");
    if (!auth || !issued.has(auth[1]!))
      return gErr(res, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token.");
    if (failures > 0) {
      failures--;
      return send(res, 429, { error: { code: 429, message: "Quota exceeded", status: "RESOURCE_EXHAUSTED" } }, { "retry-after": "0" });
    }
    // Paths arrive percent-encoded: split first, then decode each part (a range may hold "/" or "!").
    const m = /^\/v4\/spreadsheets\/([^/]+)\/values\/([^/]+?)(:append)?$/.exec(u.pathname);
    if (!m) return gErr(res, 404, "NOT_FOUND", "Requested entity was not found.");
    const id = decodeURIComponent(m[1]!);
    const rangeText = decodeURIComponent(m[2]!);
    const ss = spreadsheets.get(id);
    if (!ss) return gErr(res, 404, "NOT_FOUND", "Requested entity was not found.");
    if (ss.shared === false) return gErr(res, 403, "PERMISSION_DENIED", "The caller does not have permission");
    const range = parseRange(ss, rangeText);
    if (!range) return gErr(res, 400, "INVALID_ARGUMENT", `Unable to parse range: ${rangeText}`);
    const { sheet } = range;

    if (!m[3]) {
      if (req.method !== "GET") return gErr(res, 405, "INVALID_ARGUMENT", "method not allowed");
      const lastRow = Math.min(range.r2, sheet.rows.length);
      const values: Cell[][] = [];
      for (let r = range.r1; r <= lastRow; r++) {
        const row = sheet.rows[r - 1] ?? [];
        values.push(row.slice(range.c1 - 1, Math.min(range.c2, row.length)));
      }
      // Like Google: trailing empty cells and rows are omitted.
      const trimmed = values.map((row) => {
        const out = [...row];
        while (out.length && out[out.length - 1] === "") out.pop();
        return out;
      });
      while (trimmed.length && trimmed[trimmed.length - 1]!.length === 0) trimmed.pop();
      const c2 = Number.isFinite(range.c2) ? range.c2 : Math.max(range.c1, ...sheet.rows.map((r) => r.length));
      const r2 = Number.isFinite(range.r2) ? range.r2 : Math.max(range.r1, sheet.rows.length);
      return send(res, 200, {
        range: a1(sheet.title, range.c1, range.r1, c2, r2),
        majorDimension: "ROWS",
        ...(trimmed.length ? { values: trimmed } : {}),
      });
    }

    if (req.method !== "POST") return gErr(res, 405, "INVALID_ARGUMENT", "method not allowed");
    const vio = u.searchParams.get("valueInputOption");
    if (vio !== "RAW" && vio !== "USER_ENTERED") return gErr(res, 400, "INVALID_ARGUMENT", "'valueInputOption' is required but not specified");
    let body: { values?: unknown };
    try {
      body = JSON.parse(
        await new Promise<string>((ok) => {
          let s = "";
          req.on("data", (d) => (s += d));
          req.on("end", () => ok(s));
        }),
      );
    } catch {
      return gErr(res, 400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
    }
    const rows = body.values;
    if (!Array.isArray(rows) || !rows.every((r) => Array.isArray(r)))
      return gErr(res, 400, "INVALID_ARGUMENT", "Invalid values: expected a list of lists");
    // Append after the last non-empty row of the sheet's table, starting at the range's column.
    let last = sheet.rows.length;
    while (last > 0 && sheet.rows[last - 1]!.every((c) => c === "")) last--;
    const tableRange = last ? a1(sheet.title, 1, 1, Math.max(...sheet.rows.slice(0, last).map((r) => r.length), 1), last) : undefined;
    const width = Math.max(...rows.map((r) => (r as unknown[]).length), 1);
    (rows as unknown[][]).forEach((r, i) => {
      const target = last + i;
      if (!sheet.rows[target]) sheet.rows[target] = [];
      const row = sheet.rows[target];
      r.forEach((v, j) => {
        while (row.length < range.c1 - 1 + j) row.push("");
        row[range.c1 - 1 + j] = vio === "RAW" ? String(v ?? "") : entered(v);
      });
    });
    const updatedRange = a1(sheet.title, range.c1, last + 1, range.c1 + width - 1, last + rows.length);
    return send(res, 200, {
      spreadsheetId: id,
      ...(tableRange ? { tableRange } : {}),
      updates: {
        spreadsheetId: id,
        updatedRange,
        updatedRows: rows.length,
        updatedColumns: width,
        updatedCells: (rows as unknown[][]).reduce((n, r) => n + r.length, 0),
      },
    });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e) => gErr(res, 500, "INTERNAL", String(e)));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    tokenUrl: `${url}/agent/google-token`,
    token,
    oauth: Object.assign(oauth, { authUrl: `${url}/o/oauth2/v2/auth`, tokenUrl: `${url}/token`, revokeUrl: `${url}/revoke` }),
    spreadsheets,
    requests,
    failNext: (n) => {
      failures = n;
    },
    get connected() {
      return state.connected;
    },
    set connected(v: boolean) {
      state.connected = v;
    },
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
