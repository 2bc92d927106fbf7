// `tropic settings get | set key=value …`: each setting parsed as its own type, every mistake said at
// once (one per line) with the values it accepts, and nothing sent unless all of them are right.
import { ApiError, CliError } from "../client.ts";
import { keyValues } from "../output.ts";
import type { Command } from "./index.ts";
import type { Row } from "./resolve.ts";
import { authed, print } from "./session.ts";

type Parsed = { value: unknown } | { problem: string };

interface Setting {
  /** the accepted values, as the user types them */
  accepts: string;
  parse(raw: string): Parsed;
}

const NONE = /^(none|null|off|)$/i;

const bool: Setting = {
  accepts: "true|false",
  parse: (raw) =>
    /^(true|yes|on)$/i.test(raw) ? { value: true } : /^(false|no|off)$/i.test(raw) ? { value: false } : { problem: "must be true or false" },
};

function wholeOrNone(min: number, max: number, unit: string): Setting {
  return {
    accepts: `${min}..${max}|none`,
    parse(raw) {
      if (NONE.test(raw)) return { value: null };
      if (!/^\d+$/.test(raw)) return { problem: `must be a whole number of ${unit}, or none for no limit` };
      const n = Number(raw);
      return n < min || n > max ? { problem: `must be from ${min} to ${max} ${unit}, or none for no limit` } : { value: n };
    },
  };
}

function oneOf(...values: string[]): Setting {
  return {
    accepts: values.join("|"),
    parse: (raw) => (values.includes(raw) ? { value: /^\d+$/.test(raw) ? Number(raw) : raw } : { problem: `must be ${orList(values)}` }),
  };
}

function list(example: string): Setting {
  return {
    accepts: `${example},…|none`,
    parse: (raw) => ({
      value: NONE.test(raw)
        ? []
        : raw
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean),
    }),
  };
}

const text = (accepts: string): Setting => ({ accepts, parse: (raw) => (raw ? { value: raw } : { problem: "must not be empty" }) });

/** customModel=PROVIDER/MODEL[@BASE_URL], or none (a JSON object works too). */
const customModel: Setting = {
  accepts: "PROVIDER/MODEL[@BASE_URL]|none",
  parse(raw) {
    if (NONE.test(raw)) return { value: null };
    if (raw.startsWith("{")) {
      try {
        return { value: JSON.parse(raw) };
      } catch {
        return { problem: "is not valid JSON" };
      }
    }
    const m = /^([^/@]+)\/([^@]+)(?:@(.+))?$/.exec(raw);
    if (!m) return { problem: "must be PROVIDER/MODEL, e.g. my-llm/llama-3.3-70b@https://llm.example.com/v1" };
    return { value: { provider: m[1], modelId: m[2], ...(m[3] ? { baseUrl: m[3] } : {}) } };
  },
};

/** Every setting of PATCH /api/v1/settings, as `tropic settings set` takes it. */
export const SETTINGS: Record<string, Setting> = {
  blockBrowser: bool,
  blockCodeExecution: bool,
  blockOsCommands: bool,
  dailyCreditCap: wholeOrNone(1, 1_000_000, "credits"),
  maxSessionMinutes: wholeOrNone(5, 10_080, "minutes"),
  model: text("MODEL|custom"),
  customModel,
  defaultInstanceType: text("TYPE"),
  sshAllowlist: list("203.0.113.7,198.51.100.0/24"),
  sshRotationDays: oneOf("30", "60", "90"),
  phoneMode: oneOf("unrestricted", "allowlist", "blocklist"),
  phonePatterns: list("+65*,+44*"),
};

function orList(values: string[]): string {
  return values.length < 2 ? (values[0] ?? "") : `${values.slice(0, -1).join(", ")} or ${values.at(-1)}`;
}

/** One `key=value`: the key, the raw value and the typed one, or what is wrong with it. */
export function parseSetting(arg: string): { key: string; raw: string; value?: unknown; problem?: string } {
  const i = arg.indexOf("=");
  if (i <= 0) return { key: arg, raw: "", problem: `"${arg}" is not KEY=VALUE, e.g. blockBrowser=true` };
  const key = arg.slice(0, i);
  const raw = arg.slice(i + 1).trim();
  const setting = SETTINGS[key];
  if (!setting) {
    const like = Object.keys(SETTINGS).find((k) => k.toLowerCase() === key.toLowerCase());
    return {
      key,
      raw,
      problem: like
        ? `unknown setting "${key}"; did you mean ${like}?`
        : `unknown setting "${key}" (the settings: ${Object.keys(SETTINGS).join(", ")})`,
    };
  }
  const p = setting.parse(raw);
  return "problem" in p ? { key, raw, problem: `${key}=${raw}: ${p.problem} (${key}=${setting.accepts})` } : { key, raw, value: p.value };
}

/** Several problems: a heading, then one per line. */
function problems(lines: string[], what: string): CliError {
  return new CliError(
    lines.length === 1 ? lines[0]! : [`${lines.length} ${what}; nothing was changed:`, ...lines.map((l) => `  ${l}`)].join("\n"),
    2,
  );
}

export const settingsCommands: Record<string, Command> = {
  settings: {
    verbs: {
      get: {
        summary: "your settings",
        async run(c) {
          const s = await authed(c).get<Row>("/api/v1/settings");
          print(c, s, () => keyValues(s));
          return 0;
        },
      },
      set: {
        usage: "KEY=VALUE...",
        args: ["KEY=VALUE..."],
        summary: "e.g. blockBrowser=true dailyCreditCap=500 phoneMode=allowlist phonePatterns=+65*,+44*",
        async run(c) {
          const parsed = c.args.map(parseSetting);
          const errors = parsed.filter((p) => p.problem).map((p) => p.problem!);
          const seen = new Set<string>();
          for (const p of parsed) {
            if (seen.has(p.key) && !p.problem) errors.push(`${p.key} is given twice`);
            seen.add(p.key);
          }
          const body: Record<string, unknown> = Object.fromEntries(parsed.filter((p) => !p.problem).map((p) => [p.key, p.value]));
          if (Array.isArray(body.phonePatterns) && body.phonePatterns.length) {
            const { validatePhonePattern } = await import("@tropic/policy");
            for (const pattern of body.phonePatterns as string[]) {
              const why = validatePhonePattern(pattern);
              if (why) errors.push(`phonePatterns: ${why} (phonePatterns=${SETTINGS.phonePatterns!.accepts})`);
            }
          }
          if (errors.length) throw problems(errors, "settings are not right");

          const api = authed(c);
          let current: Row | undefined;
          const now = async () => (current ??= await api.get<Row>("/api/v1/settings"));
          // Patterns only act in allowlist or blocklist mode: patterns alone, while unrestricted, would change nothing.
          if (
            Array.isArray(body.phonePatterns) &&
            body.phonePatterns.length &&
            body.phoneMode === undefined &&
            (await now()).phoneMode === "unrestricted"
          )
            throw new CliError(
              "phonePatterns has no effect while phoneMode is unrestricted: set phoneMode=allowlist|blocklist too " +
                `(allowlist: only these numbers; blocklist: every number but these), e.g. ${c.path} phoneMode=allowlist phonePatterns=${(body.phonePatterns as string[]).join(",")}`,
              2,
            );
          if (typeof body.model === "string" && body.model !== "custom") {
            const { items } = await api.get<{ items: { id: string }[] }>("/api/v1/marketplace/models");
            if (!items.some((m) => m.id === body.model))
              throw new CliError(
                `model=${body.model}: not a model preset; choose one of ${items.map((m) => m.id).join(", ")}, or model=custom with customModel=${SETTINGS.customModel!.accepts}`,
                2,
              );
          }
          if (body.model === "custom" && body.customModel === undefined && !(await now()).customModel)
            throw new CliError(
              `model=custom needs customModel=PROVIDER/MODEL[@BASE_URL] too, e.g. ${c.path} model=custom customModel=my-llm/llama-3.3-70b@https://llm.example.com/v1`,
              2,
            );
          let s: Row;
          try {
            s = await api.patch<Row>("/api/v1/settings", body);
          } catch (err) {
            if (!(err instanceof ApiError) || !err.field) throw err;
            // "phonePatterns.1: …" or "dailyCreditCap: must be …" → "dailyCreditCap=0: must be … (dailyCreditCap=1..1000000|none)"
            const key = err.field.split(".")[0]!;
            const given = parsed.find((p) => p.key === key);
            const setting = SETTINGS[key];
            const msg = err.message.startsWith(`${err.field}: `) ? err.message.slice(err.field.length + 2) : err.message;
            throw new CliError(`${given ? `${key}=${given.raw}` : key}: ${msg}${setting ? ` (${key}=${setting.accepts})` : ""}`);
          }
          print(c, s, () => keyValues(s));
          return 0;
        },
      },
    },
  },
};
