// The capability catalog: what users may write after a directive. Each entry is a regular expression
// over the (whitespace-collapsed, case-insensitive) phrase, and a builder that turns the match into
// conditions plus a human description. Order matters: specific entries come before generic ones.

import type { Cond } from "./spec.ts";
import {
  ALL_CREDENTIAL_PATHS,
  BROWSER_PROGRAMS,
  BROWSER_TOOLS,
  COMPILERS_DEVTOOLS,
  CREDENTIAL_PATHS,
  DOWNLOADERS,
  ELEVATORS,
  IDENTITY_FILES,
  INTERPRETERS,
  MESSAGE_CHANNELS,
  PACKAGE_MANAGERS,
  PHONE_CHANNELS,
} from "./vocab.ts";

export interface CatalogCtx {
  home: string;
  workspace: string;
}
export interface Built {
  conds: Cond[];
  what: string;
  /** ops the rule cannot tell apart from what it names (a connection whose port is not known): a DENY or
   * REQUIRE CONFIRM rule asks for confirmation on these instead of letting them through */
  unsure?: { conds: Cond[]; what: string };
}
export interface Entry {
  name: string;
  examples: string[];
  re: RegExp;
  build: (m: RegExpMatchArray, ctx: CatalogCtx) => Built | string; // string = error message
}

const FILE_OPS: Cond["op"] = ["read", "write", "delete", "access"];
const ALL_OPS: Cond["op"] = ["tool", "exec", "read", "write", "delete", "access", "net", "listen", "browse", "download", "message", "cron"];

const VERBS: Record<string, Cond["op"]> = {
  read: ["read"],
  view: ["read"],
  open: ["read"],
  see: ["read"],
  cat: ["read"],
  "look at": ["read"],
  list: ["read", "access"],
  write: ["write"],
  modify: ["write"],
  edit: ["write"],
  change: ["write"],
  create: ["write"],
  update: ["write"],
  overwrite: ["write"],
  save: ["write"],
  append: ["write"],
  alter: ["write"],
  "write to": ["write"],
  delete: ["delete"],
  remove: ["delete"],
  erase: ["delete"],
  rm: ["delete"],
  wipe: ["delete"],
  access: FILE_OPS,
  touch: FILE_OPS,
  use: FILE_OPS,
  "read or write": ["read", "write"],
  "read and write": ["read", "write"],
  "read/write": ["read", "write"],
  "read or modify": ["read", "write"],
  "read, write or delete": FILE_OPS,
  "read or delete": ["read", "delete"],
};
const VERB_RE = Object.keys(VERBS)
  .sort((a, b) => b.length - a.length)
  .map((v) => v.replace("/", "\\/"))
  .join("|");
const verbOps = (v: string) => VERBS[v.toLowerCase().replace(/\s+/g, " ")] ?? FILE_OPS;
const verbWord = (ops: Cond["op"]) =>
  ops.length === 1
    ? ({ read: "reading", write: "writing", delete: "deleting", access: "accessing" } as Record<string, string>)[ops[0]]
    : ops.length === 2
      ? "reading or writing"
      : "accessing";

/** Turns a user-written path into Cedar globs over resolved absolute paths. */
export function pathGlobs(raw: string, ctx: CatalogCtx): string[] | string {
  let p = raw.replace(/^[`'"]|[`'"]$/g, "");
  if (p.startsWith("~/") || p === "~") p = ctx.home + p.slice(1);
  else if (!p.startsWith("/") && !p.startsWith("*")) p = `${ctx.workspace}/${p.replace(/^\.\//, "")}`;
  p = p.replace(/\/\*\*$/, "/*").replace(/\/{2,}/g, "/");
  if (/\s/.test(p)) return `"${raw}" is not a path (paths cannot contain spaces here; use * as a wildcard)`;
  if (p.endsWith("/")) return [p.slice(0, -1), `${p}*`];
  if (p.includes("*")) return [p];
  return [p, `${p}/*`];
}

const isPathLike = (s: string) => /^(?:~|\/|\.{1,2}\/|\*|[\w.-]+\/)/.test(s) || /^[\w-]*\.[\w.]+$/.test(s);
const LOC_WORKSPACE =
  /^(?:the\s+|my\s+|your\s+|its\s+|their\s+)?(?:own\s+)?(?:agent'?s?\s+)?(?:workspace|project|working)(?:\s+(?:directory|folder|dir|tree))?$/i;

function location(loc: string, ctx: CatalogCtx): { cond: Partial<Cond>; where: string } | string {
  const l = loc.trim().replace(/\s+/g, " ");
  if (!l || /^(?:anywhere|everywhere|any ?where)$/i.test(l)) return { cond: {}, where: "" };
  let m = l.match(/^(?:in|inside|within|under|from|to|at|of)\s+(.*)$/i);
  const inner = m ? m[1] : l;
  if (LOC_WORKSPACE.test(inner)) return { cond: { inWorkspace: true }, where: " inside the workspace" };
  m = l.match(/^outside(?:\s+of)?\s+(.*)$/i);
  if (m && LOC_WORKSPACE.test(m[1])) return { cond: { inWorkspace: false }, where: " outside the workspace" };
  const parts = inner.split(/\s*(?:,|\bor\b|\band\b)\s*/i).filter(Boolean);
  if (parts.length && parts.every(isPathLike)) {
    const globs: string[] = [];
    for (const part of parts) {
      const g = pathGlobs(part, ctx);
      if (typeof g === "string") return g;
      globs.push(...g);
    }
    return { cond: { pathLike: globs }, where: ` ${parts.join(", ")}` };
  }
  return `unknown location "${l}"`;
}

function parseSize(n: string, unit: string | undefined): number {
  const u = (unit ?? "b").toLowerCase()[0];
  const mult = u === "k" ? 1024 : u === "m" ? 1024 ** 2 : u === "g" ? 1024 ** 3 : 1;
  return Math.round(Number(n) * mult);
}

const CHANNEL_SYN: Record<string, string> = {
  whatsapp: "whatsapp",
  "whats app": "whatsapp",
  wa: "whatsapp",
  telegram: "telegram",
  tg: "telegram",
  slack: "slack",
  discord: "discord",
  signal: "signal",
  email: "email",
  "e-mail": "email",
  emails: "email",
  mail: "email",
  gmail: "email",
  sms: "sms",
  text: "sms",
  texts: "sms",
  imessage: "imessage",
  teams: "teams",
  matrix: "matrix",
  "google chat": "googlechat",
  mattermost: "mattermost",
  irc: "irc",
};
const CHANNEL_RE = Object.keys(CHANNEL_SYN)
  .sort((a, b) => b.length - a.length)
  .join("|");

const hostGlobs = (h: string) => {
  const host = h
    .toLowerCase()
    .replace(/^https?:\/\//, "")
    .replace(/\/.*$/, "");
  return host.startsWith("*") ? [host] : [host, `*.${host}`];
};

const CRED_GROUPS: [RegExp, string[], string][] = [
  [/^ssh\s+(?:private\s+)?keys?$/i, CREDENTIAL_PATHS.ssh, "SSH private keys"],
  [/^(?:aws|amazon)\s+(?:credentials|keys|secrets)$/i, CREDENTIAL_PATHS.aws, "AWS credentials"],
  [/^cloud\s+credentials$/i, [...CREDENTIAL_PATHS.aws, ...CREDENTIAL_PATHS.gcloud], "cloud credentials"],
  [/^(?:\.env|env|environment|dotenv)\s+files?$/i, CREDENTIAL_PATHS.env, ".env files"],
  [/^(?:password\s+files?|passwords?|shadow\s+file)$/i, ["/etc/shadow", "/etc/gshadow", "/etc/passwd", "*/.pgpass", "*/.netrc"], "password files"],
  [/^(?:private\s+keys?|keys?|key\s+files)$/i, [...CREDENTIAL_PATHS.ssh, ...CREDENTIAL_PATHS.keys], "private key files"],
  [
    /^(?:system\s+|all\s+|any\s+|user\s+|stored\s+)?(?:credentials?|secrets?|api\s+keys?|tokens?|credential\s+files?|secret\s+files?|access\s+tokens?)$/i,
    [...ALL_CREDENTIAL_PATHS, ...CREDENTIAL_PATHS.env],
    "credentials and secrets",
  ],
];

const sizeWords = "(?:larger|bigger|greater|more|heavier)\\s+than|over|above|exceeding|beyond|>";

export const CATALOG: Entry[] = [
  {
    name: "everything",
    examples: ["everything", "anything", "all actions"],
    re: /^(?:do\s+)?(?:everything|anything|all\s+(?:actions|tools|tool\s+calls)|any\s+action)$/i,
    build: () => ({ conds: [{ op: ALL_OPS }], what: "every action" }),
  },
  {
    name: "sudo",
    examples: ["run sudo or elevated commands", "use sudo", "privilege escalation", "run commands as root"],
    re: /^(?:(?:run|use|execute|invoke|issue)\s+)?(?:(?:sudo|doas|su|elevated|privileged|root|admin(?:istrator)?|superuser)(?:\s*(?:or|and|\/|,)\s*(?:sudo|doas|su|elevated|privileged|root|admin(?:istrator)?|superuser))*\s*(?:commands?|access|privileges?|rights|mode|shell)?|privilege\s+escalation|escalate\s+privileges|become\s+root|(?:commands?\s+)?as\s+root)$/i,
    build: () => ({
      conds: [
        { op: ["exec"], program: ELEVATORS },
        { op: ["exec"], sudo: true },
      ],
      what: "running sudo or other elevated commands",
    }),
  },
  {
    name: "browse-any",
    examples: ["browse any public website", "browse websites", "visit web pages", "browse the internet"],
    re: /^(?:browse|visit|open|access|view|surf|read|fetch)\s+(?:the\s+)?(?:any\s+|all\s+|other\s+)?(public\s+)?(?:web\s*sites?|web\s*pages?|pages|sites?|urls?|links|the\s+web|the\s+internet|internet|web)$/i,
    build: (m) => {
      const pub = m[1] ? { hostPublic: true } : {};
      return {
        conds: [
          { op: ["browse"], ...pub },
          { op: ["net"], program: DOWNLOADERS, port: [80, 443], ...pub },
        ],
        what: `browsing ${m[1] ? "public " : ""}websites`,
      };
    },
  },
  {
    name: "browse-host",
    examples: ["browse github.com", "visit *.example.com", "open pages on docs.python.org"],
    re: /^(?:browse|visit|open|access|view|fetch)\s+(?:(?:web\s*)?(?:sites?|pages?|urls?)\s+(?:on|at|like|from)\s+)?((?:https?:\/\/)?(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:\/\S*)?)$/i,
    build: (m) => ({
      conds: [
        { op: ["browse"], hostLike: hostGlobs(m[1]) },
        { op: ["net"], program: DOWNLOADERS, hostLike: hostGlobs(m[1]) },
      ],
      what: `browsing ${m[1]}`,
    }),
  },
  {
    name: "web-search",
    examples: ["search the web", "use web search"],
    re: /^(?:use\s+)?(?:search\s+(?:the\s+)?(?:web|internet|google)|web\s+search(?:es)?|(?:do|run|make)\s+web\s+searches|google\s+things)$/i,
    build: () => ({ conds: [{ op: ["tool"], tool: ["web_search"] }], what: "searching the web" }),
  },
  {
    name: "browser",
    examples: ["use the browser", "browser automation", "open a browser"],
    re: /^(?:use|open|launch|run|control|drive|automate)?\s*(?:the\s+|a\s+)?(?:web\s+)?(?:browser|chrome|chromium|headless\s+browser)(?:\s+(?:automation|tool))?$/i,
    build: () => ({
      conds: [
        { op: ["tool"], tool: ["browser"] },
        { op: ["browse"], tool: ["browser"] },
        { op: ["exec"], program: BROWSER_PROGRAMS },
      ],
      what: "using the browser",
    }),
  },
  {
    name: "credentials",
    examples: ["access /etc/passwd or system credentials", "read ssh keys", "access secrets", "read .env files", "read aws credentials"],
    re: new RegExp(
      `^(?:(${VERB_RE})\\s+)?(?:the\\s+|any\\s+|my\\s+)?(.*?(?:credentials?|secrets?|api\\s+keys?|tokens?|keys?|passwords?(?:\\s+files?)?|shadow\\s+file|(?:\\.env|env|environment|dotenv)\\s+files?|credential\\s+files?|secret\\s+files?))$`,
      "i",
    ),
    build: (m) => {
      const ops = m[1] ? verbOps(m[1]) : FILE_OPS;
      const obj = m[2].trim();
      for (const [re, globs, label] of CRED_GROUPS) {
        if (!re.test(obj)) continue;
        const notLike = label === ".env files" || label === "credentials and secrets" ? { pathNotLike: CREDENTIAL_PATHS.envExamples } : {};
        return { conds: [{ op: ops, pathLike: globs, ...notLike }], what: `${verbWord(ops)} ${label}` };
      }
      return `unknown kind of credential "${obj}"`;
    },
  },
  {
    name: "files",
    examples: ["read files in workspace directory", "write files outside the workspace", "delete files", "access /etc/passwd", "read ~/Documents/*"],
    re: new RegExp(
      `^(${VERB_RE})\\s+(?:any\\s+|all\\s+|the\\s+|other\\s+)?(?:(?:files?|documents?|data|directories|folders?|contents?|paths?|things)(?:\\s+|$))?(.*)$`,
      "i",
    ),
    build: (m, ctx) => {
      const ops = verbOps(m[1]);
      const loc = location(m[2], ctx);
      if (typeof loc === "string") return loc;
      return { conds: [{ op: ops, ...loc.cond }], what: `${verbWord(ops)} files${loc.where}` };
    },
  },
  {
    name: "identity",
    examples: ["change the agent's identity files", "modify AGENTS.md", "edit SOUL.md"],
    re: /^(?:change|modify|edit|write|rewrite|update|overwrite|alter|tamper\s+with|delete|touch)\s+(?:the\s+)?(?:agent'?s?\s+|its\s+(?:own\s+)?|your\s+(?:own\s+)?|my\s+)?(?:(identity|persona|personality|soul|instructions|system\s+prompt|workspace\s+identity|bootstrap)(?:\s+files?)?|(agents|soul|identity|user|boot|bootstrap|tools)\.md)$/i,
    build: (m, ctx) => {
      const files = m[2] ? [`${m[2].toUpperCase()}.md`] : IDENTITY_FILES;
      void ctx;
      return {
        conds: [{ op: ["write", "delete"], pathLike: files.map((f) => `*/${f}`) }],
        what: `changing ${m[2] ? files[0] : "the agent's identity files"}`,
      };
    },
  },
  {
    name: "code",
    examples: ["execute code in sandbox environment", "run python scripts", "run code", "execute scripts"],
    re: /^(?:run|execute|eval(?:uate)?|exec|launch)\s+(?:any\s+|arbitrary\s+|untrusted\s+|custom\s+)?(?:(python|node|node\.js|javascript|js|typescript|ruby|perl|php|shell)\s+)?(?:code|scripts?|programs?|snippets?)(?:\s+(?:in|inside|within)\s+(?:a\s+|the\s+)?(sandbox(?:ed)?|container|isolated)(?:\s+(?:environment|mode|env))?)?$/i,
    build: (m) => {
      const lang = m[1]?.toLowerCase();
      const interp = lang
        ? (
            {
              python: ["python"],
              node: ["node"],
              "node.js": ["node"],
              javascript: ["node"],
              js: ["node"],
              typescript: ["node"],
              ruby: ["ruby"],
              perl: ["perl"],
              php: ["php"],
              shell: ["shell"],
            } as Record<string, string[]>
          )[lang]
        : ["python", "node", "ruby", "perl", "php", "lua", "r", "other", "compiler"];
      const sb = m[2] ? { sandbox: true } : {};
      return {
        conds: [{ op: ["exec"], interp, ...sb }],
        what: `executing ${lang ? `${lang} ` : ""}code${m[2] ? " in the sandbox" : ""}`,
      };
    },
  },
  {
    name: "install",
    examples: ["install packages", "install npm packages", "install dependencies"],
    re: /^(?:install|add|download)\s+(?:any\s+|new\s+|third[- ]party\s+)?(?:(npm|node|pip|python|apt|system|brew|cargo|rust|ruby|gem|go)\s+)?(?:packages?|dependencies|deps|libraries|libs|modules|software|programs|gems|crates)$/i,
    build: (m) => {
      const fam = m[1]?.toLowerCase();
      const map: Record<string, string[]> = {
        npm: ["npm", "pnpm", "yarn", "bun"],
        node: ["npm", "pnpm", "yarn", "bun"],
        pip: ["pip", "pip3", "pipx", "uv", "poetry"],
        python: ["pip", "pip3", "pipx", "uv", "poetry"],
        apt: ["apt", "apt-get"],
        system: ["apt", "apt-get", "dnf", "yum", "apk", "snap", "brew"],
        brew: ["brew"],
        cargo: ["cargo"],
        rust: ["cargo"],
        ruby: ["gem"],
        gem: ["gem"],
        go: ["go"],
      };
      const program = fam ? map[fam] : Object.keys(PACKAGE_MANAGERS);
      const verbs = [...new Set(program.flatMap((p) => PACKAGE_MANAGERS[p] ?? []))];
      return { conds: [{ op: ["exec"], program, argsAny: verbs }], what: `installing ${fam ? `${fam} ` : ""}packages` };
    },
  },
  {
    name: "download",
    examples: ["download files larger than 10MB", "download files"],
    re: new RegExp(
      `^download\\s+(?:any\\s+)?(?:files?|data|content|things)?\\s*(?:(?:${sizeWords})\\s*(\\d+(?:\\.\\d+)?)\\s*(kb|mb|gb|kib|mib|gib|k|m|g|bytes?|b)?)?$`,
      "i",
    ),
    build: (m) => {
      if (!m[1]) return { conds: [{ op: ["download"] }], what: "downloading files" };
      const n = parseSize(m[1], m[2]);
      return {
        conds: [{ op: ["download"], maxBytesOver: n }],
        what: `downloading files larger than ${m[1]}${(m[2] ?? "B").toUpperCase()} (or of unknown size)`,
      };
    },
  },
  {
    name: "message",
    examples: ["send WhatsApp messages", "send messages to +65*", "send emails", "send Slack messages"],
    re: new RegExp(
      `^(?:send|write|post)\\s+(?:any\\s+|outgoing\\s+)?(?:(${CHANNEL_RE})\\s+)?(?:messages?|texts?|dms?|direct\\s+messages|emails?|mails?|notifications?|replies|posts?)(?:\\s+(?:on|via|through|over|using|in)\\s+(${CHANNEL_RE}))?(?:\\s+to\\s+(.+))?$`,
      "i",
    ),
    build: (m) => {
      const chWord = (m[1] ?? m[2])?.toLowerCase();
      const emailObj = /emails?|mails?/i.test(m[0].split(/\s+/)[1] ?? "") && !chWord;
      const ch = chWord ? CHANNEL_SYN[chWord] : emailObj ? "email" : undefined;
      const cond: Cond = { op: ["message"], ...(ch ? { channel: [ch] } : {}) };
      let to = "";
      if (m[3]) {
        const pats = m[3].split(/\s*(?:,|\bor\b|\band\b)\s*/).filter(Boolean);
        if (!pats.every((p) => /^\+\d+\*?$/.test(p))) return `recipients must be E.164 phone patterns such as +65* (got "${m[3]}")`;
        cond.phoneLike = pats;
        to = ` to ${pats.join(", ")}`;
      }
      return { conds: [cond], what: `sending ${ch ? `${ch} ` : ""}messages${to}` };
    },
  },
  {
    name: "message-phone",
    examples: ["message +6591234567", "contact numbers +44*"],
    re: /^(?:message|contact|text|call)\s+(?:numbers?\s+|phones?\s+)?((?:\+\d+\*?)(?:\s*(?:,|or|and)\s*\+\d+\*?)*)$/i,
    build: (m) => {
      const pats = m[1].split(/\s*(?:,|\bor\b|\band\b)\s*/).filter(Boolean);
      return { conds: [{ op: ["message"], phoneLike: pats }], what: `messaging ${pats.join(", ")}` };
    },
  },
  {
    name: "port",
    examples: ["outbound connections on port 22", "connect on port 3306", "network traffic to port 25"],
    re: /^(?:make\s+|open\s+|use\s+)?(?:(?:outbound|outgoing|network|external|remote|tcp|any)\s+)*(?:network\s+)?(?:connections?|traffic|requests?|access|connect)?\s*(?:on|to|via|over|through|using)?\s*ports?\s+(\d+(?:\s*(?:,|or|and)\s*(?:port\s+)?\d+)*)$/i,
    build: (m) => {
      const ports = m[1].split(/\D+/).filter(Boolean).map(Number);
      if (ports.some((p) => p < 1 || p > 65535)) return "port numbers must be between 1 and 65535";
      return {
        conds: [{ op: ["net"], port: ports }],
        what: `outbound connections on port ${ports.join(", ")}`,
        // an ssh config alias (`ssh myhost`) can name any port: it might be this one
        unsure: { conds: [{ op: ["net"], port: [-1] }], what: `outbound connections whose port is not known (it might be ${ports.join(", ")})` },
      };
    },
  },
  {
    name: "ssh",
    examples: ["ssh to other machines", "use ssh"],
    re: /^(?:use\s+|make\s+|open\s+)?(?:ssh|scp|sftp)(?:\s+(?:connections?|access|sessions?|to\s+.+))?$/i,
    build: () => ({
      conds: [
        { op: ["net"], port: [22] },
        { op: ["exec"], program: ["ssh", "scp", "sftp"] },
      ],
      what: "SSH connections",
    }),
  },
  {
    name: "net-private",
    examples: ["access localhost", "connect to private networks", "access the cloud metadata service"],
    re: /^(?:access|connect\s+to|reach|call|use)\s+(?:the\s+)?(?:localhost|loopback|private\s+(?:networks?|ips?|addresses)|internal\s+(?:networks?|services|hosts)|local\s+network|lan|cloud\s+metadata(?:\s+(?:service|endpoint))?|metadata\s+(?:service|endpoint))$/i,
    build: () => ({ conds: [{ op: ["net", "browse"], hostPublic: false }], what: "connections to private or local addresses" }),
  },
  {
    name: "net-host",
    examples: ["connect to api.example.com", "make requests to *.internal.corp"],
    re: /^(?:connect|talk|send\s+requests|make\s+(?:http\s+|network\s+|web\s+)?requests|upload\s+(?:files|data))\s+to\s+((?:https?:\/\/)?(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)+)\/?$/i,
    build: (m) => ({ conds: [{ op: ["net", "browse"], hostLike: hostGlobs(m[1]) }], what: `connections to ${m[1]}` }),
  },
  {
    name: "upload",
    examples: ["upload files", "upload data"],
    re: /^(?:upload|exfiltrate|send\s+files|post\s+files)\s*(?:any\s+)?(?:files?|data|documents)?(?:\s+(?:to\s+the\s+internet|externally|online|out))?$/i,
    build: () => ({ conds: [{ op: ["net"], upload: true }], what: "uploading files or data" }),
  },
  {
    name: "network",
    examples: ["make outbound connections", "access the internet", "make http requests", "network access"],
    re: /^(?:make\s+|open\s+|use\s+|have\s+)?(?:(?:outbound|outgoing|external|internet|network|http|https|web|api)\s+)*(?:connections?|requests?|calls|access|traffic)$|^(?:access|use|reach)\s+(?:the\s+)?(?:internet|network)$/i,
    build: () => ({ conds: [{ op: ["net"] }], what: "outbound network connections" }),
  },
  {
    name: "background",
    examples: ["run background processes", "start daemons", "run long-running jobs"],
    re: /^(?:run|start|spawn|launch|create|use|leave)\s+(?:long[- ]running\s+)?(?:background\s+(?:processes|jobs|tasks|commands|programs)|daemons?|services|(?:processes|jobs|commands)\s+in\s+the\s+background|long[- ]running\s+(?:processes|jobs|commands)|jobs|processes)$/i,
    build: () => ({
      conds: [
        { op: ["exec"], background: true },
        { op: ["tool"], tool: ["process"] },
      ],
      what: "running background processes",
    }),
  },
  {
    name: "kill",
    examples: ["kill processes", "terminate processes"],
    re: /^(?:kill|terminate|stop|signal)\s+(?:other\s+|running\s+|any\s+)?(?:processes|programs|jobs|tasks)$/i,
    build: () => ({
      conds: [
        { op: ["exec"], program: ["kill", "pkill", "killall", "killall5", "skill"] },
        { op: ["tool"], tool: ["process"], actionIn: ["kill", "terminate", "stop"] },
      ],
      what: "killing processes",
    }),
  },
  {
    name: "cron",
    examples: ["schedule tasks", "create cron jobs", "set up reminders"],
    re: /^(?:schedule|create|add|set\s+up|modify|edit|use)\s+(?:new\s+)?(?:cron\s+jobs?|cron(?:tab)?|scheduled\s+(?:tasks?|jobs?)|jobs|tasks|reminders|timers|recurring\s+(?:tasks|jobs))$/i,
    build: () => ({
      conds: [{ op: ["cron"] }, { op: ["tool"], tool: ["cron"] }, { op: ["exec"], program: ["crontab", "at", "batch", "systemd-run"] }],
      what: "scheduling tasks",
    }),
  },
  {
    name: "git-push",
    examples: ["git push", "push to github", "force push"],
    re: /^(?:run\s+)?(?:git\s+push(?:\s+--force)?|push\s+(?:code\s+|commits\s+|changes\s+)?(?:to\s+)?(?:git|github|gitlab|the\s+remote|remotes?|repositories|repos)?|(force)[- ]push(?:es)?(?:\s+to\s+\S+)?)$/i,
    build: (m) => ({
      conds: [
        {
          op: ["exec"],
          program: ["git"],
          argsAny: ["push"],
          ...(m[1] || /--force/.test(m[0]) ? { flagsAll: [["f", "force", "force-with-lease"]] } : {}),
        },
      ],
      what: m[1] || /--force/.test(m[0]) ? "force-pushing with git" : "pushing with git",
    }),
  },
  {
    name: "recursive-delete",
    examples: ["rm -rf", "delete files recursively", "recursive deletes"],
    re: /^(?:run\s+)?(?:rm\s+-rf|rm\s+-r|recursive(?:ly)?\s+(?:force\s+)?deletes?|delete\s+(?:files\s+|directories\s+|folders\s+)?recursively|recursive\s+force[- ]deletes?)$/i,
    build: () => ({
      conds: [
        { op: ["exec"], program: ["rm"], flagsAll: [["r", "R", "recursive"]] },
        { op: ["exec"], program: ["find"], argsAny: ["-delete"] },
      ],
      what: "recursive deletes",
    }),
  },
  {
    name: "system-files",
    examples: ["modify system files", "change system configuration"],
    re: /^(?:modify|change|edit|write|alter|touch|update|delete)\s+(?:the\s+)?(?:system|os|operating\s+system)\s+(?:files|configuration|config|settings|directories)$/i,
    build: () => ({
      conds: [
        {
          op: ["write", "delete"],
          pathLike: ["/etc/*", "/usr/*", "/bin/*", "/sbin/*", "/lib/*", "/lib64/*", "/boot/*", "/var/*", "/opt/*", "/sys/*", "/proc/*"],
        },
      ],
      what: "changing system files",
    }),
  },
  {
    name: "openclaw-config",
    examples: ["modify openclaw config", "change gateway settings"],
    re: /^(?:modify|change|edit|write|alter|update|touch|read|access)\s+(?:the\s+)?(?:openclaw|gateway|agent)\s+(?:config(?:uration)?|settings)(?:\s+files?)?$/i,
    build: (m) => {
      const ops = /^(read|access)/i.test(m[0]) ? FILE_OPS : (["write", "delete"] as Cond["op"]);
      return {
        conds: [
          { op: ops, pathLike: ["*/.openclaw/openclaw.json", "*/.openclaw/openclaw.json.*"] },
          { op: ["exec"], program: ["openclaw"], argsAny: ["config"] },
        ],
        what: "changing the OpenClaw configuration",
      };
    },
  },
  {
    name: "install-skills",
    examples: ["install skills", "install plugins"],
    re: /^(?:install|add|enable)\s+(?:new\s+|third[- ]party\s+)?(skills|plugins|extensions)$/i,
    build: (m) => ({
      conds: [
        { op: ["exec"], program: ["openclaw", "clawhub"], argsAny: ["install", "enable", "add"] },
        { op: ["write"], pathLike: m[1].toLowerCase() === "skills" ? ["*/skills/*"] : ["*/.openclaw/extensions/*"] },
      ],
      what: `installing ${m[1].toLowerCase()}`,
    }),
  },
  {
    name: "env-vars",
    examples: ["read environment variables", "print env vars"],
    re: /^(?:read|print|dump|access|list|view)\s+(?:the\s+)?(?:environment\s+variables|env\s+vars|environment|env)$/i,
    build: () => ({
      conds: [
        { op: ["exec"], program: ["env", "printenv", "export", "set", "declare"] },
        { op: ["read", "access"], pathLike: ["/proc/*/environ"] },
      ],
      what: "reading environment variables",
    }),
  },
  {
    name: "containers",
    examples: ["run docker containers", "use containers"],
    re: /^(?:run|use|start|launch|manage)\s+(?:docker\s+|podman\s+)?(?:containers?|docker|podman|kubernetes|kubectl)$/i,
    build: () => ({ conds: [{ op: ["exec"], program: ["docker", "podman", "nerdctl", "kubectl", "docker-compose"] }], what: "running containers" }),
  },
  {
    name: "shell",
    examples: ["run shell commands", "use the terminal", "execute commands", "shell access"],
    re: /^(?:(?:run|execute|use|exec|launch|invoke|issue|type|access)\s+(?:any\s+|all\s+|the\s+|a\s+)?(?:(?:shell|terminal|bash|command[- ]line|cli|console|system|os|unix|linux)\s+)?(?:commands?|shell|terminal|console|command[- ]line)|shell\s+access|(?:shell|terminal|os)\s+commands)$/i,
    build: () => ({ conds: [{ op: ["exec"] }], what: "running shell commands" }),
  },
  {
    name: "tool",
    examples: ["use the cron tool", "call the message tool"],
    re: /^(?:use|call|invoke|run)\s+(?:the\s+)?[`'"]?([a-z0-9_.-]+)[`'"]?\s+tool$/i,
    build: (m) => ({ conds: [{ op: ["tool"], tool: [m[1]] }], what: `using the ${m[1]} tool` }),
  },
  {
    name: "program",
    examples: ["run git", "run docker commands", "use npm", "run terraform apply"],
    re: /^(?:run|execute|use|invoke|call|launch)\s+(?:the\s+)?[`'"]?([a-z][a-z0-9_.+-]*)(?:\s+([a-z][a-z0-9_-]*))?[`'"]?(?:\s+(?:commands?|cli|binary|program|executable))?$/i,
    build: (m) => {
      const prog = m[1];
      if (/^(?:code|scripts?|programs?|commands?|anything|things|tools?)$/i.test(prog)) return `"${prog}" is too vague`;
      const cond: Cond = { op: ["exec"], program: [prog] };
      if (m[2] && !/^(?:commands?|cli|binary|program)$/i.test(m[2])) cond.argsAny = [m[2]];
      return { conds: [cond], what: `running ${prog}${cond.argsAny ? ` ${m[2]}` : ""}` };
    },
  },
];

/** Catalog phrasings for suggestions and docs. */
export const KNOWN_PHRASES = CATALOG.flatMap((e) => e.examples);
export { BROWSER_TOOLS, COMPILERS_DEVTOOLS, INTERPRETERS, MESSAGE_CHANNELS, PHONE_CHANNELS };
