// Pattern-based secret redaction: replaces only the secret, keeps the text around it.
// Each pattern has a cheap literal pre-check (indexOf) so 1 MB of ordinary output costs a few scans,
// and formats are anchored on their real prefixes so git SHAs, UUIDs, sha256 sums, public keys,
// certificates and prose about key formats stay untouched.

export const REDACTED = "[REDACTED BY SONDERA POLICY]";

export interface Redaction {
  kind: string;
  rule: string;
}
interface Pattern {
  kind: string;
  re: RegExp;
  pre?: string[];
  group?: number;
}

const P: Pattern[] = [
  // Private keys first: the whole block (BEGIN…END) is the secret; a truncated block up to its end.
  {
    kind: "private-key",
    pre: ["PRIVATE KEY"],
    re: /-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----(?:[\s\S]*?-----END \1-----|[A-Za-z0-9+/=\s:,-]*)/g,
  },
  { kind: "jwt", pre: ["eyJ"], re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{0,}/g },
  { kind: "aws-access-key", pre: ["AKIA", "ASIA", "ABIA", "ACCA"], re: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/g },
  {
    kind: "aws-secret-key",
    pre: ["ecret", "ECRET"],
    re: /(\b(?:aws_?)?secret_?(?:access_?)?key(?:_id)?["']?\s*[:=]\s*["']?)([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])/gi,
    group: 2,
  },
  { kind: "github-token", pre: ["gh", "github_pat_"], re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g },
  { kind: "anthropic-key", pre: ["sk-ant-"], re: /\bsk-ant-[A-Za-z0-9_-]{20,}/g },
  { kind: "openai-key", pre: ["sk-"], re: /\bsk-(?!ant-)(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,}/g },
  { kind: "stripe-key", pre: ["_live_", "_test_", "whsec_"], re: /\b(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9]{24,})\b/g },
  {
    kind: "slack-token",
    pre: ["xox", "hooks.slack.com"],
    re: /\bxox[abposre]-[A-Za-z0-9-]{10,}|https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/]{20,}/g,
  },
  { kind: "google-api-key", pre: ["AIza", "ya29."], re: /\bAIza[0-9A-Za-z_-]{35}\b|\bya29\.[0-9A-Za-z_-]{20,}/g },
  { kind: "sendgrid-key", pre: ["SG."], re: /\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b/g },
  { kind: "huggingface-token", pre: ["hf_"], re: /\bhf_[A-Za-z0-9]{34,}\b/g },
  { kind: "npm-token", pre: ["npm_", "_authToken"], re: /\bnpm_[A-Za-z0-9]{36}\b|(_authToken\s*=\s*)([^\s"']{16,})/g, group: 2 },
  { kind: "bearer-token", pre: ["earer", "EARER"], re: /(\b[Bb]earer\s+)([A-Za-z0-9._~+/-]{16,}=*)/g, group: 2 },
  { kind: "connection-string-password", pre: ["://"], re: /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"'<>]+:)([^\s@/"'<>]{1,256})(@[^\s/"'<>]+)/g, group: 2 },
  {
    kind: "gateway-token",
    pre: ["oken"],
    re: /((?:gateway(?:[._-]auth)?[._-]?token|OPENCLAW_GATEWAY_TOKEN|"token")["']?\s*[:=]\s*["']?)([A-Fa-f0-9]{32,64})(?![A-Fa-f0-9])/gi,
    group: 2,
  },
];
export const SECRET_KINDS = [...new Set(P.map((p) => p.kind)), "gateway-token", "named-secret"];

const placeholder = /^(?:x+|\*+|\.+|<[^>]*>|\$\{?[A-Z_]+\}?|password|passwd|pass|changeme|secret|your[-_]?\w*)$/i;

/** Redacts known secret formats, and the given gateway token wherever it appears. */
export function redactSecrets(
  text: string,
  extra?: { gatewayToken?: string; kinds?: Set<string>; ruleOf?: (kind: string) => string },
): { text: string; redactions: Redaction[] } {
  const redactions: Redaction[] = [];
  if (typeof text !== "string" || !text) return { text: typeof text === "string" ? text : "", redactions };
  const ruleOf = extra?.ruleOf ?? ((k: string) => `pattern:${k}`);
  let out = text;
  const tok = extra?.gatewayToken;
  if (tok && tok.length >= 8 && out.includes(tok)) {
    const n = out.split(tok).length - 1;
    out = out.split(tok).join(REDACTED);
    for (let i = 0; i < n; i++) redactions.push({ kind: "gateway-token", rule: ruleOf("gateway-token") });
  }
  for (const pat of P) {
    if (extra?.kinds && !extra.kinds.has(pat.kind)) continue;
    if (pat.pre && !pat.pre.some((l) => out.includes(l))) continue;
    pat.re.lastIndex = 0;
    // Grouped patterns are (prefix)(secret)(suffix?): only the secret is replaced.
    out = out.replace(pat.re, (...m: unknown[]) => {
      const whole = m[0] as string;
      const secret = m[2];
      if (pat.group && typeof secret === "string") {
        if (placeholder.test(secret) || secret.includes(REDACTED)) return whole;
        redactions.push({ kind: pat.kind, rule: ruleOf(pat.kind) });
        return `${m[1] as string}${REDACTED}${typeof m[3] === "string" ? m[3] : ""}`;
      }
      if (pat.kind === "npm-token" && typeof m[1] === "string") {
        redactions.push({ kind: pat.kind, rule: ruleOf(pat.kind) });
        return m[1] + REDACTED;
      }
      redactions.push({ kind: pat.kind, rule: ruleOf(pat.kind) });
      return REDACTED;
    });
  }
  if (!extra?.kinds || extra.kinds.has("named-secret")) {
    const n = redactNamed(out);
    if (n.count) {
      out = n.text;
      for (let i = 0; i < n.count; i++) redactions.push({ kind: "named-secret", rule: ruleOf("named-secret") });
    }
  }
  return { text: out, redactions };
}

// ---- secrets found by their name ----
// A value assigned to a name that says it is a secret (`GITHUB_TOKEN=…`, `"token": "…"`, `password: …`,
// `client_secret = "…"`, `X-Api-Key: …`, `Authorization: Basic …`) in env files, shell exports, JSON, YAML,
// TOML, INI, code and headers is a secret whatever its format. Names are found from a few keywords (one
// scan of the text), then read whole around the hit; the value must look like a secret: not a number, a
// boolean, a plain word, a reference (`${VAR}`, `$(…)`, `process.env.X`, `op://…`), a path, a URL, a
// placeholder or a masked value.

// (a keyword inside a name followed by a separator: the look-ahead keeps the scan fast)
const NAME_KEYWORDS = /(?:token|secret|pass|pwd|key|auth|cred|_pat\b)(?=[\w.-]{0,64}["']?[ \t]*[:=,])/gi;
// Kubernetes env lists and docker inspect: `- name: DB_PASSWORD⏎  value: x`, `{"name": "DB_PASSWORD", "value": "x"}`
const NAME_VALUE =
  /(name["']?[ \t]*:[ \t]*["']?([\w.-]{1,128})["']?[ \t]*(?:,[ \t]*|\r?\n[ \t]*)["']?value["']?[ \t]*:[ \t]*)(["']?)([^\s"',}]{1,8192})\3/gi;
const NETRC = /(\bmachine[ \t]+\S+[ \t]+(?:login[ \t]+\S+[ \t]+)?password[ \t]+)(\S+)/g;
const isNameChar = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 45 || c === 46; // a-z A-Z 0-9 _ - .
/** the name ends with one of these (separators and case ignored): a secret */
const SECRET_ENDINGS = [
  "token",
  "secret",
  "password",
  "passwd",
  "passphrase",
  "apikey",
  "secretkey",
  "privatekey",
  "accesskey",
  "authkey",
  "masterkey",
  "signingkey",
  "encryptionkey",
  "accountkey",
  "credential",
  "credentials",
  "authorization",
  "clientkeydata",
];
/** the word before `key` that makes it a secret (`signing_key`, `hmac-key`) */
const KEY_OWNERS = new Set([
  "api",
  "secret",
  "private",
  "access",
  "signing",
  "encryption",
  "master",
  "client",
  "app",
  "auth",
  "session",
  "hmac",
  "shared",
  "account",
  "storage",
  "subscription",
  "license",
  "service",
  "webhook",
  "jwt",
  "crypt",
  "cipher",
  "aes",
  "admin",
  "consumer",
  "deploy",
  "bot",
]);
/** tokens that are positions or counters, not credentials (`nextPageToken`, `max_tokens`) */
const NOT_OWNERS = new Set([
  "page",
  "next",
  "prev",
  "previous",
  "continuation",
  "sync",
  "cancellation",
  "cursor",
  "max",
  "min",
  "num",
  "total",
  "input",
  "output",
  "count",
  "public",
]);

type NameClass = 0 | 1 | 2 | 3; // not a secret; weak (the value must look random); strong; an authorization header

const nameClasses = new Map<string, NameClass>();
function nameClass(raw: string): NameClass {
  let c = nameClasses.get(raw);
  if (c === undefined) {
    if (nameClasses.size > 4096) nameClasses.clear();
    c = classifyName(raw);
    nameClasses.set(raw, c);
  }
  return c;
}

function classifyName(raw: string): NameClass {
  const words = raw
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  const last = words[words.length - 1] ?? "";
  const prev = words[words.length - 2] ?? "";
  if (!last || NOT_OWNERS.has(prev)) return 0;
  if (last === "authorization") return 3;
  const flat = words.join("");
  if (SECRET_ENDINGS.some((e) => flat.endsWith(e)) && !(last === "data" && prev !== "key")) return 2;
  if (last === "key" && KEY_OWNERS.has(prev)) return 2;
  if (last === "auth" || last === "creds" || last === "cred" || last === "pass") return 1;
  if ((last === "pwd" || last === "pw" || last === "pat") && words.length > 1) return 1;
  return 0;
}

const NOT_SECRET =
  /^(?:true|false|yes|no|on|off|null|nil|none|undefined|required|optional|[-+]?\d+(?:\.\d+)?[kmgt]?b?|[-*._xX#]+|<[^>]*>|\[[^\]]*\]|\{\{[^}]*\}\}|%[A-Za-z_]\w*%|(?:changeme|change_me|changeit|example|placeholder|dummy|redacted|hidden|masked|sample|todo|tbd|your[-_]?\w*)|(?:env|secret|secrets|vault|file|ref|arn|ssm|keychain|op|sops|awssm|gcpsm|azkv|doppler|infisical)[:+].*|[a-z][a-z0-9+.-]*:\/\/.*|(?:~|\.{1,2})?\/(?:etc|home|run|var|usr|tmp|opt|root|srv|mnt|proc|dev|users|secrets|app|data|workspace|config|private|keys?)\b.*|(?:~|\.{1,2})\/.*|[A-Za-z]:\\.*)$/i;
const WORD = /^[A-Za-z]+(?:[-_][A-Za-z]+)*$/;
const CODE_PATH = /^[A-Za-z_$][\w$]*(?:(?:\.|\?\.)[A-Za-z_$][\w$]*)+$/;

/** Does this value (already cut at its end) look like a secret? */
function secretValue(v: string, cls: NameClass, quoted: boolean): boolean {
  if (v.length < 4 || v.length > 8192 || /\s/.test(v) || v.includes("REDACTED") || v.startsWith("$")) return false;
  if (/\*{3}|\.{3}|\u2026/.test(v) || NOT_SECRET.test(v)) return false;
  // a plain word or identifier (`"token": "mode"`, `password: string`, `apiKey: apiKey`)
  if (WORD.test(v) && v.length <= 24 && (v.slice(1).match(/[A-Z]/g)?.length ?? 0) <= 3) return false;
  if (!quoted && (CODE_PATH.test(v) || v.includes("(") || v.includes("["))) return false;
  if (cls === 1) {
    // weak names (`auth`, `pass`, `DB_PWD`): only values that look generated
    const classes = [/[a-z]/, /[A-Z]/, /\d/, /[^A-Za-z0-9]/].filter((r) => r.test(v)).length;
    return v.length >= 8 && classes >= 2;
  }
  return true;
}

/** the end of a quoted value starting after the quote at q (same line, backslash escapes), or -1 */
function closeQuote(t: string, q: number): number {
  const ch = t[q];
  for (let i = q + 1, end = Math.min(t.length, q + 8194); i < end; i++) {
    const c = t[i];
    if (c === "\\") i++;
    else if (c === ch) return i;
    else if (c === "\n") return -1;
  }
  return -1;
}

const AUTH_SCHEME = /^(?:basic|bearer|token|digest|negotiate|ntlm|bot|apikey|api-key|key|sso-key|aws4-hmac-sha256|hmac)\s+/i;
// where an unquoted value ends: white space, a quote, , ; ) } ] < >
const UNQUOTED_END = new Uint8Array(128);
for (const ch of " \t\r\n\f\v\"'`,;)}]<>") UNQUOTED_END[ch.charCodeAt(0)] = 1;

export function redactNamed(text: string): { text: string; count: number } {
  const netrc = text.includes("machine"); // (asked of the flat input: the rebuilt text is a rope)
  const pairs = text.includes("alue") && text.includes("name");
  let out = "";
  let last = 0;
  let count = 0;
  const re = new RegExp(NAME_KEYWORDS.source, "gi");
  for (let m = re.exec(text); m; m = re.exec(text)) {
    let a = m.index;
    let b = m.index + m[0].length;
    // (names are short: the bounds keep a long run of name characters linear)
    while (a > 0 && m.index - a < 256 && isNameChar(text.charCodeAt(a - 1))) a--;
    while (b < text.length && b - m.index < 256 && isNameChar(text.charCodeAt(b))) b++;
    re.lastIndex = b;
    if (a < last) continue;
    // the separator: = : => := (after an optional closing quote of a quoted name), `define('NAME', …)`
    let p = b;
    const open = text[a - 1];
    const quotedName = (open === '"' || open === "'") && text[p] === open;
    if (quotedName) p++;
    while (text[p] === " " || text[p] === "\t") p++;
    const c = text[p];
    if (text.startsWith("=>", p) || text.startsWith(":=", p)) p += 2;
    else if (c === "=" && text[p + 1] !== "=" && text[p - 1] !== "!") p++;
    else if (c === ":" && (quotedName || text[p + 1] === " " || text[p + 1] === "\t" || text[p + 1] === '"' || text[p + 1] === "'")) p++;
    else if (c === "," && quotedName && /define\(\s*$/i.test(text.slice(Math.max(0, a - 12), a - 1))) p++;
    else continue;
    while (text.charCodeAt(a) === 45 || text.charCodeAt(a) === 46) a++; // --password=, .token:
    const cls = a < b ? nameClass(text.slice(a, b)) : 0;
    if (!cls) continue;
    while (text[p] === " " || text[p] === "\t") p++;
    // the value
    let vs = p;
    let ve: number;
    let quoted = false;
    const q = text[p];
    if (q === '"' || q === "'" || q === "`") {
      const e = closeQuote(text, p);
      if (e < 0) continue;
      vs = p + 1;
      ve = e;
      quoted = true;
    } else if (cls === 3) {
      ve = p;
      const end = Math.min(text.length, p + 8192);
      while (ve < end && text[ve] !== "\n" && text[ve] !== "\r" && text[ve] !== '"' && text[ve] !== "'") ve++;
      while (ve > p && /\s/.test(text[ve - 1])) ve--;
    } else {
      ve = p;
      const amp = c === "=" ? 38 : -1; // a query string's value ends at &
      const end = Math.min(text.length, p + 8193);
      for (let ch = text.charCodeAt(ve); ve < end && !(ch < 128 && UNQUOTED_END[ch]) && ch !== amp; ch = text.charCodeAt(++ve));
    }
    if (ve - p >= 8192) {
      re.lastIndex = ve; // a run this long is no value (and scanning it again from each name inside would be quadratic)
      continue;
    }
    let v = text.slice(vs, ve);
    if (cls === 3) {
      const s = AUTH_SCHEME.exec(v);
      if (!s) continue;
      vs += s[0].length;
      v = text.slice(vs, ve);
    }
    if (!secretValue(v, cls, quoted || cls === 3)) continue;
    out += text.slice(last, vs) + REDACTED;
    last = ve;
    count++;
    re.lastIndex = Math.max(re.lastIndex, ve);
  }
  if (count) text = out + text.slice(last);
  if (pairs) {
    text = text.replace(NAME_VALUE, (all, pre: string, name: string, q: string, v: string) => {
      const cls = nameClass(name);
      if (!cls || cls === 3 || !secretValue(v, cls, q !== "")) return all;
      count++;
      return `${pre}${q}${REDACTED}${q}`;
    });
  }
  if (netrc) {
    // netrc: machine HOST login USER password SECRET
    text = text.replace(NETRC, (all, pre: string, v: string) => {
      if (!secretValue(v, 2, false)) return all;
      count++;
      return pre + REDACTED;
    });
  }
  return { text, count };
}

/** True when the text contains a secret (used to stop secrets leaving in messages). */
export function hasSecret(text: string): boolean {
  if (!text) return false;
  return redactSecrets(text).redactions.length > 0;
}
