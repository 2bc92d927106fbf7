// Every credit rate Tropic charges, in one table (docs/credits.md). Rates are credits per hour;
// the meter works in milli-credits. TROPIC_RATES_FILE names a JSON file whose entries override these:
//   {"compute": {"t3.medium": 30, "local": 2}, "models": {"anthropic/claude-opus-4-6": 120}, "unknownModel": 100}
// A bad file stops the server at start with the field named; nothing is charged at a rate nobody set.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { PROVIDERS } from "@tropic/providers";
import { defaultModel } from "@tropic/marketplace";

export interface Rates {
  /** compute, by instance type: always charged while the instance runs */
  compute: Record<string, number>;
  /** model API usage, by marketplace model id: added only when the instance uses the platform's key */
  models: Record<string, number>;
  /** a model on the platform's key that is not in `models` (a custom model, an id the table lacks):
   * charged at this rate rather than for free (default: the dearest preset, Opus) */
  unknownModel: number;
  /** the model of an instance's default agent when the user has no Settings row */
  defaultModel: string;
}

/** The seed's Pricing section; t3.medium (the 2 vCPU / 4 GB image), local and byo are ours to set. */
export const DEFAULT_RATES: Readonly<Rates> = Object.freeze({
  compute: {
    "t3.micro": 5,
    "t3.small": 15,
    "t3.medium": 30,
    local: 0,
    byo: 0,
  },
  models: {
    "anthropic/claude-opus-4-6": 100,
    "anthropic/claude-sonnet-4-6": 50,
    "anthropic/claude-haiku-4-5": 20,
  },
  unknownModel: 100,
  defaultModel: "anthropic/claude-sonnet-4-6",
});

const MAX_RATE = 100_000;
const rate = z
  .number({ message: "must be a number of credits per hour" })
  .min(0, "must not be negative")
  .max(MAX_RATE, `must be at most ${MAX_RATE.toLocaleString("en")} credits per hour`)
  .refine((n) => Math.abs(n * 1000 - Math.round(n * 1000)) < 1e-6, "must have at most 3 decimals (milli-credits)");

export const RatesFile = z.strictObject({
  compute: z.record(z.string(), rate).optional(),
  models: z
    .record(z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}\/[A-Za-z0-9._:-]{1,80}$/, 'must be a model id "<provider>/<model id>"'), rate)
    .optional(),
  unknownModel: rate.optional(),
});

/** Every instance type the providers offer: a rates file may only price these. */
export function knownInstanceTypes(): string[] {
  return Object.values(PROVIDERS).flatMap((p) => p.instanceTypes.map((t) => t.id));
}

/** Merges overrides onto the defaults; throws naming the field (`compute.t9.huge: …`). */
export function mergeRates(overrides: unknown, where = "rates"): Rates {
  const parsed = RatesFile.safeParse(overrides);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join(".") || "(top level)";
    throw new Error(`${where}: ${field}: ${issue.message}`);
  }
  const known = knownInstanceTypes();
  for (const type of Object.keys(parsed.data.compute ?? {}))
    if (!known.includes(type)) throw new Error(`${where}: compute.${type}: unknown instance type; choose one of ${known.join(", ")}`);
  return {
    compute: { ...DEFAULT_RATES.compute, ...parsed.data.compute },
    models: { ...DEFAULT_RATES.models, ...parsed.data.models },
    unknownModel: parsed.data.unknownModel ?? DEFAULT_RATES.unknownModel,
    defaultModel: safeDefaultModel(),
  };
}

function safeDefaultModel(): string {
  try {
    return defaultModel().id;
  } catch {
    return DEFAULT_RATES.defaultModel;
  }
}

const cache = new Map<string, Rates>();
/** The rates in force: the defaults, overridden by the JSON file at `file` (TROPIC_RATES_FILE). */
export function loadRates(file: string | undefined = process.env.TROPIC_RATES_FILE || undefined): Rates {
  const key = file ?? "";
  const hit = cache.get(key);
  if (hit) return hit;
  let overrides: unknown = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new Error(`TROPIC_RATES_FILE: cannot read ${file}: ${(err as Error).message}`);
    }
    try {
      overrides = JSON.parse(text);
    } catch (err) {
      throw new Error(`TROPIC_RATES_FILE: ${file} is not valid JSON: ${(err as Error).message}`);
    }
  }
  const rates = mergeRates(overrides, file ? `TROPIC_RATES_FILE ${file}` : "rates");
  cache.set(key, rates);
  return rates;
}

export const milli = (creditsPerHour: number) => Math.round(creditsPerHour * 1000);

/** The rates as the meter's SQL takes them: milli-credits per hour. */
export function sqlRates(r: Rates): { compute: string; models: string; unknownModel: number; defaultModel: string } {
  const m = (o: Record<string, number>) => JSON.stringify(Object.fromEntries(Object.entries(o).map(([k, v]) => [k, milli(v)])));
  return { compute: m(r.compute), models: m(r.models), unknownModel: milli(r.unknownModel), defaultModel: r.defaultModel };
}

/** Credits per hour of a model on the platform's key (an unknown one at `unknownModel`, never 0 by omission). */
export function modelRate(r: Rates, model: string): number {
  return Object.hasOwn(r.models, model) ? r.models[model]! : r.unknownModel;
}

/** Credits per hour of compute, or undefined for an instance type with no rate (it is then not run). */
export function computeRate(r: Rates, instanceType: string): number | undefined {
  return Object.hasOwn(r.compute, instanceType) ? r.compute[instanceType] : undefined;
}
