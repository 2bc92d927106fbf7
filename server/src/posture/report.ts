// The audit engine's report as the control plane accepts it from an agent and serves it
// (hardening/src/types.ts Report): one schema, so what is stored always serialises.
import { z } from "zod";

export const severityCounts = z.object({
  CRIT: z.number().int().min(0),
  HIGH: z.number().int().min(0),
  MED: z.number().int().min(0),
  LOW: z.number().int().min(0),
});

export const finding = z
  .looseObject({
    id: z.string(),
    title: z.string(),
    severity: z.enum(["CRIT", "HIGH", "MED", "LOW"]),
    status: z.string().describe("FAIL (open) or ACCEPTED"),
    category: z.string(),
    frameworks: z.array(z.string()),
    evidence: z.string(),
    remediation: z.string(),
    reason: z.string().optional().describe("why an ACCEPTED finding is deliberate"),
    source: z.string().describe("tropic or openclaw"),
  })
  .describe("hardening/src/types.ts Finding");

export const report = z
  .looseObject({
    ts: z.string(),
    score: z.number().int().min(0).max(100),
    counts: severityCounts,
    findings: z.array(finding).describe("open findings (counted in the score)"),
    accepted: z.array(finding).describe("deliberate settings with their reason (not counted)"),
    passed: z.number(),
    notApplicable: z.number(),
  })
  .describe("the audit engine's report (hardening/src/types.ts Report)");
export type ReportOut = z.infer<typeof report>;
