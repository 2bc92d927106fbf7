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
export const SECRET_KINDS = [...new Set(P.map((p) => p.kind)), "gateway-token"];

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
  return { text: out, redactions };
}

/** True when the text contains a secret (used to stop secrets leaving in messages). */
export function hasSecret(text: string): boolean {
  if (!text) return false;
  return redactSecrets(text).redactions.length > 0;
}
