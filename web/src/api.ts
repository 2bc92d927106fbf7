// The dashboard talks to the same API as the CLI, with the session cookie (same origin).

export interface ApiErrorBody {
  error: { code: string; message: string; field?: string; details?: unknown };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** One API call; non-2xx answers become ApiError with the server's message and field. */
export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: body !== undefined ? { "content-type": "application/json" } : {},
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError(0, "network", "Tropic did not answer. Check your connection and try again.");
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  if (!res.ok) {
    const e = (json as ApiErrorBody | null)?.error;
    if (res.status === 401) window.dispatchEvent(new CustomEvent("tropic:signed-out"));
    throw new ApiError(res.status, e?.code ?? "error", e?.message ?? `the server answered ${res.status}`, e?.field, e?.details);
  }
  return json as T;
}

export const get = <T>(path: string) => api<T>("GET", path);
export const post = <T>(path: string, body?: unknown) => api<T>("POST", path, body ?? {});
export const put = <T>(path: string, body?: unknown) => api<T>("PUT", path, body);
export const patch = <T>(path: string, body?: unknown) => api<T>("PATCH", path, body);
export const del = <T>(path: string) => api<T>("DELETE", path);

// The shapes the pages use (a subset of the OpenAPI document at /api/openapi.json).
export interface Me {
  id: string;
  email: string;
  isAdmin: boolean;
}
export interface Instance {
  id: string;
  name: string;
  provider: "local" | "aws" | "byo";
  region: string;
  instanceType: string;
  desiredState: string;
  state: string;
  stateReason: string | null;
  addresses: Record<string, string>;
  startedAt: string | null;
  createdAt: string;
  pauseReason?: string | null;
  pausedUntil?: string | null;
  usesPlatformKey?: boolean;
  /** a `byo` instance's machine once it enrolled (null: waiting for the machine) */
  host?: InstanceHost | null;
  /** the latest audit's score and the open integrity incidents (null: never audited) */
  posture?: { score: number; at: string; openIncidents: number } | null;
  /** the gate's switch: desired, as the running gateway has it, pending, running without it */
  gate?: InstanceGate;
}
export interface InstanceGate {
  enabled: boolean;
  packs: { base: boolean; system: boolean; owasp: boolean };
  observed: { enabled: boolean; packs: { base: boolean; system: boolean; owasp: boolean } } | null;
  pending: boolean;
  off: boolean;
}
export interface InstanceHost {
  os: string;
  arch: string;
  hostname: string;
  agentVersion: string;
  openclawVersion: string;
  /** an Agent37 machine: models and API keys are Agent37's (the dashboard hides those controls) */
  agent37: boolean;
  enrolledAt: string;
  lastSeenAt?: string | null;
  connected?: boolean;
}
/** POST /api/v1/instances/connect and /api/v1/instances/:id/enrolment */
export interface Enrolment {
  instance: Instance;
  enrolment: { token: string; expiresAt: string; command: string };
}
export interface Agent {
  id: string;
  instanceId: string;
  slug: string;
  name: string;
  templateId: string;
  model: string;
  policyId: string | null;
  state: string;
  stateReason: string | null;
  createdAt: string;
}
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

// Posture (issue 18): an instance's host audits and integrity incidents (hardening/src/types.ts).
export type Severity = "CRIT" | "HIGH" | "MED" | "LOW";
export interface Finding {
  id: string;
  title: string;
  severity: Severity;
  status: string;
  category: string;
  frameworks: string[];
  evidence: string;
  remediation: string;
  /** why an accepted finding is deliberate */
  reason?: string;
  source: "tropic" | "openclaw";
}
export interface PostureReport {
  ts: string;
  score: number;
  counts: Record<Severity, number>;
  findings: Finding[];
  accepted: Finding[];
  passed: number;
  notApplicable: number;
}
export interface IntegrityIncident {
  id: string;
  name: string;
  path: string;
  change: "changed" | "deleted" | "added";
  detectedAt: string;
  acceptedAt: string | null;
  reason: string | null;
}
/** GET /api/v1/instances/:id/posture */
export interface Posture {
  score: number | null;
  counts: Record<Severity, number> | null;
  at: string | null;
  kind: string | null;
  report: PostureReport | null;
  /** oldest first */
  history: { id: string; at: string; kind: string; score: number }[];
  /** open first */
  incidents: IntegrityIncident[];
}
