/**
 * MOCK Notion API (2022-06-28) on 127.0.0.1: search, blocks and their children, databases
 * (create, retrieve, update, query) and pages (create, update). It checks requests as Notion does:
 * Bearer integration secret (401 unauthorized), Notion-Version header (400 missing_version),
 * page_size 1..100 with start_cursor/has_more/next_cursor pagination, 404 object_not_found for
 * unknown ids, and can answer 429 rate_limited with Retry-After.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

type Obj = Record<string, any>;

export interface MockNotion {
  url: string;
  key: string;
  /** Every object by dashed id: pages, databases and blocks (pages are blocks too). */
  objects: Map<string, Obj>;
  /** Children block ids by parent id, in order. */
  children: Map<string, string[]>;
  requests: { method: string; path: string; body?: Obj }[];
  /** Answer the next n calls with 429 and this Retry-After (seconds). */
  rateLimitNext(n: number, retryAfter?: number): void;
  addPage(title: string, opts?: { parent?: string; id?: string }): Obj;
  addBlock(parent: string, type: string, text: string, extra?: Obj): Obj;
  /** Rows (pages) of a database, in creation order. */
  rows(databaseId: string): Obj[];
  close(): Promise<void>;
}

const uuid = (): string => crypto.randomUUID();
const now = () => new Date().toISOString();
const rich = (s: string) => (s ? [{ type: "text", text: { content: s, link: null }, plain_text: s, href: null, annotations: {} }] : []);

export async function startMockNotion(): Promise<MockNotion> {
  const key = `ntn_${"a1".repeat(20)}`;
  const objects = new Map<string, Obj>();
  const children = new Map<string, string[]>();
  const requests: MockNotion["requests"] = [];
  let limited = 0;
  let retryAfter = 0;
  let tick = 0;

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };
  const nErr = (res: ServerResponse, status: number, code: string, message: string) => send(res, status, { object: "error", status, code, message });
  const notFound = (res: ServerResponse, id: string) =>
    nErr(
      res,
      404,
      "object_not_found",
      `Could not find object with ID: ${id}. Make sure the relevant pages and databases are shared with your integration.`,
    );

  const dashed = (id: string) => {
    const h = id.replace(/-/g, "").toLowerCase();
    return /^[0-9a-f]{32}$/.test(h) ? `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}` : undefined;
  };
  const stamp = (o: Obj) => {
    // Strictly increasing edit times, so "last_edited_time descending" is deterministic.
    o.last_edited_time = new Date(Date.now() + tick++).toISOString();
    return o;
  };
  const addChild = (parent: string, id: string) => {
    const list = children.get(parent) ?? [];
    list.push(id);
    children.set(parent, list);
    const p = objects.get(parent);
    if (p?.object === "block") p.has_children = true;
  };

  /** A page's rich_text/title values as Notion returns them (with plain_text). */
  function normalizeProps(props: Obj, schema?: Obj): Obj {
    const out: Obj = {};
    for (const [name, v] of Object.entries(props ?? {})) {
      const type = schema?.[name]?.type ?? Object.keys(v as Obj).find((k) => k !== "type");
      const val = (v as Obj)[type];
      if (type === "title" || type === "rich_text")
        out[name] = { id: name, type, [type]: (val ?? []).map((t: Obj) => rich(t.text?.content ?? "")[0]) };
      else if (type === "multi_select")
        out[name] = { id: name, type, multi_select: (val ?? []).map((o: Obj) => ({ id: uuid(), name: o.name, color: "default" })) };
      else if (type === "select") out[name] = { id: name, type, select: val ? { id: uuid(), name: val.name, color: "default" } : null };
      else out[name] = { id: name, type, [type]: val ?? null };
    }
    return out;
  }

  function page(title: string, parent: Obj, properties?: Obj, id: string = uuid()): Obj {
    const p = stamp({
      object: "page",
      id,
      created_time: now(),
      parent,
      archived: false,
      properties: properties ?? { title: { id: "title", type: "title", title: rich(title) } },
      url: `https://www.notion.so/${id.replace(/-/g, "")}`,
    });
    objects.set(id, p);
    return p;
  }

  /** The block view of a page (GET /v1/blocks/{page_id} returns a child_page block). */
  const pageBlock = (p: Obj) => ({
    object: "block",
    id: p.id,
    type: "child_page",
    child_page: {
      title:
        (Object.values(p.properties).find((x: any) => x.type === "title") as Obj | undefined)?.title?.map((t: Obj) => t.plain_text).join("") ?? "",
    },
    has_children: (children.get(p.id) ?? []).length > 0,
    parent: p.parent,
  });

  function paginate(res: ServerResponse, items: Obj[], pageSize: unknown, cursor: unknown) {
    const size = pageSize === undefined ? 100 : Number(pageSize);
    if (!Number.isInteger(size) || size < 1 || size > 100)
      return nErr(res, 400, "validation_error", "body failed validation: page_size should be ≤ `100`.");
    let start = 0;
    if (cursor !== undefined && cursor !== null) {
      start = items.findIndex((o) => o.id === cursor);
      if (start < 0) return nErr(res, 400, "validation_error", "body failed validation: start_cursor should be a valid cursor.");
    }
    const slice = items.slice(start, start + size);
    const next = items[start + size];
    return send(res, 200, { object: "list", results: slice, next_cursor: next ? next.id : null, has_more: !!next, type: "page_or_database" });
  }

  async function body(req: IncomingMessage): Promise<Obj | undefined> {
    const s = await new Promise<string>((ok) => {
      let t = "";
      req.on("data", (d) => (t += d));
      req.on("end", () => ok(t));
    });
    if (!s) return {};
    try {
      return JSON.parse(s);
    } catch {
      return undefined;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const u = new URL(req.url ?? "/", "http://x");
    const method = req.method ?? "GET";
    const b = method === "GET" ? {} : await body(req);
    requests.push({ method, path: u.pathname + u.search, body: b });
    if (req.headers.authorization !== `Bearer ${key}`) return nErr(res, 401, "unauthorized", "API token is invalid.");
    if (!req.headers["notion-version"])
      return nErr(res, 400, "missing_version", "Notion-Version header failed validation: Notion-Version header should be defined.");
    if (req.headers["notion-version"] !== "2022-06-28") return nErr(res, 400, "validation_error", "Notion-Version header failed validation.");
    if (limited > 0) {
      limited--;
      return send(
        res,
        429,
        { object: "error", status: 429, code: "rate_limited", message: "You have been rate limited. Please try again in a few minutes." },
        { "retry-after": String(retryAfter) },
      );
    }
    if (b === undefined) return nErr(res, 400, "invalid_json", "Error parsing JSON body.");
    const parts = u.pathname.split("/").filter(Boolean); // ["v1", ...]
    if (parts[0] !== "v1") return nErr(res, 400, "invalid_request_url", "Invalid request URL.");

    if (method === "POST" && parts[1] === "search" && parts.length === 2) {
      const q = String(b.query ?? "").toLowerCase();
      const kind = b.filter?.value;
      if (b.filter && (b.filter.property !== "object" || !["page", "database"].includes(kind)))
        return nErr(res, 400, "validation_error", "body failed validation: body.filter.value should be `page` or `database`.");
      const title = (o: Obj) =>
        o.object === "database"
          ? o.title.map((t: Obj) => t.plain_text).join("")
          : ((Object.values(o.properties).find((x: any) => x.type === "title") as Obj | undefined)?.title ?? [])
              .map((t: Obj) => t.plain_text)
              .join("");
      const items = [...objects.values()]
        .filter((o) => (o.object === "page" || o.object === "database") && !o.archived)
        .filter((o) => !kind || o.object === kind)
        .filter((o) => !q || title(o).toLowerCase().includes(q))
        .sort((x, y) => y.last_edited_time.localeCompare(x.last_edited_time));
      return paginate(res, items, b.page_size, b.start_cursor);
    }

    if (parts[1] === "blocks" && parts[2]) {
      const id = dashed(parts[2]);
      const o = id && objects.get(id);
      if (!o || (o.object !== "block" && o.object !== "page")) return notFound(res, parts[2]);
      if (method === "GET" && parts.length === 3) return send(res, 200, o.object === "page" ? pageBlock(o) : o);
      if (method === "GET" && parts[3] === "children") {
        const list = (children.get(o.id) ?? []).map((c) => objects.get(c)!).map((x) => (x.object === "page" ? pageBlock(x) : x));
        return paginate(res, list, u.searchParams.get("page_size") ?? undefined, u.searchParams.get("start_cursor") ?? undefined);
      }
    }

    if (parts[1] === "databases") {
      if (method === "POST" && parts.length === 2) {
        const parentId = dashed(b.parent?.page_id ?? "");
        if (!parentId || objects.get(parentId)?.object !== "page") return notFound(res, b.parent?.page_id ?? "");
        const props = b.properties ?? {};
        if (Object.values(props).filter((p: any) => "title" in p).length !== 1)
          return nErr(res, 400, "validation_error", "body failed validation: a database needs exactly one title property.");
        const id = uuid();
        const db = stamp({
          object: "database",
          id,
          created_time: now(),
          title: (b.title ?? []).map((t: Obj) => rich(t.text?.content ?? "")[0]),
          parent: { type: "page_id", page_id: parentId },
          properties: Object.fromEntries(
            Object.entries(props).map(([n, p]) => [n, { id: n, name: n, type: Object.keys(p as Obj)[0], ...(p as Obj) }]),
          ),
          url: `https://www.notion.so/${id.replace(/-/g, "")}`,
          archived: false,
        });
        objects.set(id, db);
        addChild(parentId, id);
        return send(res, 200, db);
      }
      const id = dashed(parts[2] ?? "");
      const db = id && objects.get(id);
      if (!db || db.object !== "database") return notFound(res, parts[2] ?? "");
      if (method === "GET" && parts.length === 3) return send(res, 200, db);
      if (method === "PATCH" && parts.length === 3) {
        for (const [n, p] of Object.entries((b.properties ?? {}) as Obj))
          db.properties[n] = { id: n, name: n, type: Object.keys(p as Obj)[0], ...(p as Obj) };
        stamp(db);
        return send(res, 200, db);
      }
      if (method === "POST" && parts[3] === "query") {
        const rows = [...objects.values()].filter((o) => o.object === "page" && o.parent?.database_id === db.id && !o.archived);
        return paginate(res, rows, b.page_size, b.start_cursor);
      }
    }

    if (parts[1] === "pages") {
      if (method === "POST" && parts.length === 2) {
        const dbId = dashed(b.parent?.database_id ?? "");
        const db = dbId && objects.get(dbId);
        if (!db || db.object !== "database") return notFound(res, b.parent?.database_id ?? "");
        for (const n of Object.keys(b.properties ?? {}))
          if (!db.properties[n]) return nErr(res, 400, "validation_error", `${n} is not a property that exists.`);
        const p = page("", { type: "database_id", database_id: db.id }, normalizeProps(b.properties, db.properties));
        return send(res, 200, p);
      }
      const id = dashed(parts[2] ?? "");
      const p = id && objects.get(id);
      if (!p || p.object !== "page") return notFound(res, parts[2] ?? "");
      if (method === "GET" && parts.length === 3) return send(res, 200, p);
      if (method === "PATCH" && parts.length === 3) {
        const schema = p.parent?.database_id ? objects.get(p.parent.database_id)?.properties : undefined;
        for (const n of Object.keys(b.properties ?? {}))
          if (schema && !schema[n]) return nErr(res, 400, "validation_error", `${n} is not a property that exists.`);
        Object.assign(p.properties, normalizeProps(b.properties, schema));
        stamp(p);
        return send(res, 200, p);
      }
    }
    return nErr(res, 400, "invalid_request_url", "Invalid request URL.");
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e) => nErr(res, 500, "internal_server_error", String(e)));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    key,
    objects,
    children,
    requests,
    rateLimitNext(n, after = 0) {
      limited = n;
      retryAfter = after;
    },
    addPage(title, opts = {}) {
      const p = page(
        title,
        opts.parent ? { type: "page_id", page_id: opts.parent } : { type: "workspace", workspace: true },
        undefined,
        opts.id ?? uuid(),
      );
      if (opts.parent) addChild(opts.parent, p.id);
      return p;
    },
    addBlock(parent, type, text, extra = {}) {
      const id = uuid();
      const blk = stamp({
        object: "block",
        id,
        type,
        [type]: { rich_text: rich(text), ...extra },
        has_children: false,
        parent: { type: "block_id", block_id: parent },
      });
      objects.set(id, blk);
      addChild(parent, id);
      return blk;
    },
    rows: (databaseId) => [...objects.values()].filter((o) => o.object === "page" && o.parent?.database_id === databaseId),
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
