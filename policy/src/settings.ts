// Settings (command blacklist toggles, phone restrictions) compile into the same rule engine as
// policies, so one gate enforces both and the dashboard can explain each with the same text.

import { getCountries, getCountryCallingCode, isValidPhoneNumber } from "libphonenumber-js";
import type { CompiledRule } from "./compile.ts";
import { type RuleSpec, specToCedar } from "./spec.ts";
import { BROWSER_PROGRAMS, BROWSER_TOOLS, PHONE_CHANNELS, SHELLS } from "./vocab.ts";

export interface GateSettings {
  blockBrowser: boolean;
  blockCodeExecution: boolean;
  blockOsCommands: boolean;
  phoneMode: "unrestricted" | "allowlist" | "blocklist";
  phonePatterns: string[];
}

let callingCodes: string[] | undefined;
function knownCallingCodes(): string[] {
  callingCodes ??= [...new Set(getCountries().map((c) => String(getCountryCallingCode(c))))];
  return callingCodes;
}

/** null when valid. E.164 (`+` and 1–15 digits) with an optional trailing `*`. */
export function validatePhonePattern(p: string): string | null {
  if (typeof p !== "string" || !p.trim()) return "phone pattern is empty";
  const s = p.trim();
  if (!/^\+\d*\*?$/.test(s)) return `"${s}" is not an E.164 pattern: use + followed by digits, optionally ending in * (e.g. +6591234567 or +65*)`;
  const digits = s.replace(/\D/g, "");
  if (s.endsWith("*")) {
    if (!digits.length) return `"${s}" matches every number: use unrestricted mode instead`;
    if (digits.length > 14) return `"${s}" is longer than any E.164 number`;
    // The prefix must start with (or be the start of) a real country calling code.
    const ok = knownCallingCodes().some((cc) => digits.startsWith(cc) || cc.startsWith(digits));
    return ok ? null : `"${s}" does not start with a known country calling code`;
  }
  if (digits.length > 15) return `"${s}" has more than 15 digits (E.164 maximum)`;
  return isValidPhoneNumber(s) ? null : `"${s}" is not a valid phone number (check the country code and length)`;
}

const FS_COMMANDS_NOTE = "shell access and file-system commands";

export function compileSettings(
  s: GateSettings,
): { ok: true; cedar: string; rules: CompiledRule[] } | { ok: false; errors: { field: string; message: string }[] } {
  const errors: { field: string; message: string }[] = [];
  if (!s || typeof s !== "object") return { ok: false, errors: [{ field: "settings", message: "settings must be an object" }] };
  for (const k of ["blockBrowser", "blockCodeExecution", "blockOsCommands"] as const) {
    if (typeof s[k] !== "boolean") errors.push({ field: k, message: `${k} must be true or false` });
  }
  if (!["unrestricted", "allowlist", "blocklist"].includes(s.phoneMode))
    errors.push({ field: "phoneMode", message: "phoneMode must be unrestricted, allowlist or blocklist" });
  const pats = Array.isArray(s.phonePatterns) ? s.phonePatterns : [];
  if (!Array.isArray(s.phonePatterns)) errors.push({ field: "phonePatterns", message: "phonePatterns must be a list" });
  pats.forEach((p, i) => {
    const e = validatePhonePattern(p);
    if (e) errors.push({ field: `phonePatterns[${i}]`, message: e });
  });
  if (s.phoneMode === "allowlist" && pats.length === 0)
    errors.push({ field: "phonePatterns", message: "allowlist mode needs at least one pattern (add your own number first)" });
  if (errors.length) return { ok: false, errors };

  const specs: [RuleSpec, string][] = [];
  if (s.blockBrowser)
    specs.push([
      {
        id: "settings-block-browser",
        effect: "deny",
        description: "Blocks web browsing (browser, web search, web fetch, Chrome/Chromium).",
        any: [{ op: ["tool"], tool: BROWSER_TOOLS }, { op: ["browse"] }, { op: ["exec"], program: BROWSER_PROGRAMS }],
      },
      "Settings: Browser Search",
    ]);
  if (s.blockCodeExecution)
    specs.push([
      {
        id: "settings-block-code-execution",
        effect: "deny",
        description: "Blocks Python/Node/Ruby/Perl scripts, compilers and dev tools.",
        any: [{ op: ["exec"], interp: ["python", "node", "ruby", "perl", "php", "lua", "r", "other", "compiler"] }],
      },
      "Settings: Code Execution",
    ]);
  if (s.blockOsCommands)
    specs.push([
      {
        id: "settings-block-os-commands",
        effect: "deny",
        description: `Blocks ${FS_COMMANDS_NOTE} (the exec and process tools).`,
        any: [{ op: ["exec"] }, { op: ["tool"], tool: ["exec", "process", "bash"] }, { op: ["exec"], program: SHELLS }],
      },
      "Settings: OS Commands",
    ]);
  if (s.phoneMode === "allowlist")
    specs.push([
      {
        id: "settings-phone-allowlist",
        effect: "deny",
        description: `Blocks messages to numbers outside the allowlist (${pats.join(", ")}).`,
        any: [{ op: ["message"], channel: PHONE_CHANNELS, phoneNotLike: pats.map((p) => p.trim()) }],
      },
      "Settings: Restrict phone numbers (allowlist)",
    ]);
  if (s.phoneMode === "blocklist" && pats.length)
    specs.push([
      {
        id: "settings-phone-blocklist",
        effect: "deny",
        description: `Blocks messages to blocklisted numbers (${pats.join(", ")}).`,
        any: [{ op: ["message"], phoneLike: pats.map((p) => p.trim()) }],
      },
      "Settings: Restrict phone numbers (blocklist)",
    ]);
  const rules: CompiledRule[] = specs.map(([spec, text]) => ({
    id: spec.id,
    line: 0,
    effect: spec.effect,
    text,
    explanation: spec.description,
    spec,
  }));
  return { ok: true, cedar: rules.map((r) => specToCedar(r.spec)).join("\n\n"), rules };
}
