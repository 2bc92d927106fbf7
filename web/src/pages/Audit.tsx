// Audit: the gate's decisions on one instance (every tool call an agent made, and what the gate
// said), read live from the instance's own audit log through its agent. Filters by tool, decision
// and agent; newest first.
import { type FormEvent, type ReactNode, useEffect, useId, useState } from "react";
import { type Agent, get, type Instance, type Page } from "../api.ts";
import { Empty, ErrorBanner, Loading, Notice, StateBadge, timeAgo, useLoad } from "../components/ui.tsx";
import { Link, navigate, useQuery } from "../router.tsx";
import "./audit.css";

interface GateAuditEntry {
  ts: string;
  phase: string;
  agentId: string;
  tool: string;
  decision: string;
  rules: string[];
  durationMs: number | null;
  toolCallId?: string;
  paramsDigest?: string;
  reason?: string;
  approval?: string;
  redactions?: string[];
  error?: string;
}
interface GateAudit {
  instanceId: string;
  entries: GateAuditEntry[];
  files: number;
  scannedBytes: number;
  truncated: boolean;
}

const DECISIONS = ["ALLOW", "DENY", "CONFIRM", "REDACT"];
const PHASE_TEXT: Record<string, string> = { call: "", approval: "your answer to a confirmation", result: "output checked" };
const LIMITS = [50, 100, 500];

export function AuditPage(_props: { instanceId?: string }) {
  const q = useQuery();
  const instances = useLoad(() => get<Page<Instance>>("/api/v1/instances?limit=200"), [], 15_000);
  const list = instances.data?.items ?? [];
  const wanted = q.get("instance");
  const selected = list.find((i) => i.id === wanted) ?? list.find((i) => i.state === "running") ?? list[0];
  const [tool, setTool] = useState(q.get("tool") ?? "");
  const [toolDraft, setToolDraft] = useState(tool);
  const [decision, setDecision] = useState(q.get("decision") ?? "");
  const [agent, setAgent] = useState(q.get("agent") ?? "");
  const [limit, setLimit] = useState(100);

  const pick = (id: string) => {
    setAgent("");
    navigate(`/audit?instance=${encodeURIComponent(id)}`, true);
  };

  return (
    <div className="page audit">
      <div className="page-head">
        <h1>Audit</h1>
      </div>
      <p className="muted">
        Every tool call an agent makes is checked by the gate before it runs. This is the gate's log on the instance: what was allowed, denied, held
        for your confirmation, or had secrets redacted, and the rule that decided.
      </p>
      <ErrorBanner error={instances.error} onRetry={instances.reload} />
      {instances.loading && !instances.data ? <Loading what="your instances" /> : null}
      {instances.data && list.length === 0 ? (
        <Empty title="No instances yet">
          <p>
            The audit log lives on an instance. Create one and deploy an agent on the <Link to="/agents">Agents</Link> page.
          </p>
        </Empty>
      ) : null}
      {selected ? (
        <>
          <form
            className="card audit-filters"
            aria-label="Audit filters"
            onSubmit={(e: FormEvent) => {
              e.preventDefault();
              setTool(toolDraft.trim());
            }}
          >
            <Filter label="Instance">
              {(id) => (
                <select id={id} value={selected.id} onChange={(e) => pick(e.target.value)}>
                  {list.map((i) => (
                    <option key={i.id} value={i.id}>
                      {i.name} ({i.state})
                    </option>
                  ))}
                </select>
              )}
            </Filter>
            <AgentFilter instanceId={selected.id} value={agent} onChange={setAgent} />
            <Filter label="Decision">
              {(id) => (
                <select id={id} value={decision} onChange={(e) => setDecision(e.target.value)}>
                  <option value="">Any decision</option>
                  {DECISIONS.map((d) => (
                    <option key={d} value={d}>
                      {d}
                    </option>
                  ))}
                </select>
              )}
            </Filter>
            <Filter label="Tool">
              {(id) => (
                <input
                  id={id}
                  value={toolDraft}
                  onChange={(e) => setToolDraft(e.target.value)}
                  onBlur={() => setTool(toolDraft.trim())}
                  placeholder="any tool, e.g. exec"
                  list="audit-tools"
                  autoComplete="off"
                />
              )}
            </Filter>
            <datalist id="audit-tools">
              {["exec", "read", "write", "edit", "browser", "web_fetch", "message"].map((t) => (
                <option key={t} value={t} />
              ))}
            </datalist>
            <Filter label="Show">
              {(id) => (
                <select id={id} value={limit} onChange={(e) => setLimit(Number(e.target.value))}>
                  {LIMITS.map((l) => (
                    <option key={l} value={l}>
                      last {l}
                    </option>
                  ))}
                </select>
              )}
            </Filter>
            <button type="submit" className="audit-apply">
              Apply
            </button>
          </form>
          <AuditLog
            key={selected.id}
            instance={selected}
            filters={{ tool, decision, agent, limit }}
            onClear={() => {
              setTool("");
              setToolDraft("");
              setDecision("");
              setAgent("");
            }}
          />
        </>
      ) : null}
    </div>
  );
}

function AgentFilter({ instanceId, value, onChange }: { instanceId: string; value: string; onChange: (v: string) => void }) {
  const agents = useLoad(() => get<Page<Agent>>(`/api/v1/agents?instanceId=${encodeURIComponent(instanceId)}&limit=50`), [instanceId]);
  return (
    <Filter label="Agent">
      {(id) => (
        <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
          <option value="">Any agent</option>
          {(agents.data?.items ?? []).map((a) => (
            <option key={a.id} value={a.slug}>
              {a.name} ({a.slug})
            </option>
          ))}
          <option value="main">OpenClaw's default agent (main)</option>
        </select>
      )}
    </Filter>
  );
}

/** One labelled filter control (the label names the control exactly, for people and screen readers). */
function Filter({ label, children }: { label: string; children: (id: string) => ReactNode }) {
  const id = useId();
  return (
    <div className="audit-filter">
      <label htmlFor={id}>{label}</label>
      {children(id)}
    </div>
  );
}

function AuditLog(props: { instance: Instance; filters: { tool: string; decision: string; agent: string; limit: number }; onClear: () => void }) {
  const { instance, filters } = props;
  const running = instance.state === "running";
  const qs = new URLSearchParams({ limit: String(filters.limit) });
  if (filters.tool) qs.set("tool", filters.tool);
  if (filters.decision) qs.set("decision", filters.decision);
  if (filters.agent) qs.set("agent", filters.agent);
  const path = `/api/v1/instances/${instance.id}/gate-audit?${qs}`;
  const log = useLoad(() => (running ? get<GateAudit>(path) : Promise.resolve(null)), [path, running]);
  const [readAt, setReadAt] = useState<string | null>(null);
  useEffect(() => {
    if (log.data) setReadAt(new Date().toISOString());
  }, [log.data]);
  const filtered = Boolean(filters.tool || filters.decision || filters.agent);

  if (!running)
    return (
      <Notice kind="warn">
        <span>
          <strong>{instance.name}</strong> is <StateBadge state={instance.state} />. The audit log is read from the instance itself: start it on the{" "}
          <Link to="/agents">Agents</Link> page to read its log.
        </span>
      </Notice>
    );

  const entries = log.data?.entries ?? [];
  return (
    <section className="card" aria-labelledby="audit-log-title">
      <div className="spread">
        <h2 id="audit-log-title">Gate decisions on {instance.name}</h2>
        <div className="row">
          {readAt ? <span className="muted small">read {timeAgo(readAt)} ago</span> : null}
          <button type="button" onClick={() => void log.reload()} disabled={log.loading}>
            {log.loading ? "Reading…" : "Refresh"}
          </button>
        </div>
      </div>
      <ErrorBanner error={log.error} onRetry={log.reload} />
      {log.loading && !log.data ? <Loading what="the audit log from the instance" /> : null}
      {log.data && entries.length === 0 ? (
        filtered ? (
          <Empty title="No entries match these filters">
            <p>
              <button type="button" className="link" onClick={props.onClear}>
                Clear the filters
              </button>{" "}
              to see every decision.
            </p>
          </Empty>
        ) : (
          <Empty title="No gate decisions yet">
            <p>
              Each tool call an agent makes on this instance appears here. Talk to an agent on the <Link to="/chat">Chat</Link> page, then refresh.
            </p>
          </Empty>
        )
      ) : null}
      {entries.length ? (
        <>
          <p className="muted small" aria-live="polite">
            {entries.length} {entries.length === 1 ? "entry" : "entries"}, newest first
            {log.data?.truncated ? "; older entries are beyond what one reading covers" : ""}.
          </p>
          <div className="table-wrap">
            <table className="audit-table">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Agent</th>
                  <th scope="col">Tool</th>
                  <th scope="col">Decision</th>
                  <th scope="col">Rules</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {withKeys(entries).map(({ e, key }) => (
                  <tr key={key} data-decision={e.decision} data-tool={e.tool}>
                    <td title={new Date(e.ts).toLocaleString()}>
                      {new Date(e.ts).toLocaleTimeString()}
                      <div className="muted small">{new Date(e.ts).toLocaleDateString()}</div>
                    </td>
                    <td>{e.agentId}</td>
                    <td>
                      <code>{e.tool}</code>
                      {PHASE_TEXT[e.phase] ? <div className="muted small">{PHASE_TEXT[e.phase]}</div> : null}
                    </td>
                    <td>
                      <span className={`audit-decision decision-${e.decision.toLowerCase()}`}>{e.decision}</span>
                      {e.approval ? <div className="muted small">{e.approval}</div> : null}
                    </td>
                    <td>
                      {e.rules.length ? (
                        <ul className="audit-rules">
                          {e.rules.map((r) => (
                            <li key={r}>
                              <code>{r}</code>
                            </li>
                          ))}
                        </ul>
                      ) : (
                        <span className="muted">—</span>
                      )}
                    </td>
                    <td className="audit-details">
                      {e.reason ? <div>{e.reason}</div> : null}
                      {e.redactions?.length ? <div>Redacted: {e.redactions.join(", ")}</div> : null}
                      {e.error ? <div className="audit-error">Gate error: {e.error}</div> : null}
                      {e.paramsDigest ? (
                        <details>
                          <summary>Parameters</summary>
                          <pre>{e.paramsDigest}</pre>
                        </details>
                      ) : null}
                      {!e.reason && !e.redactions?.length && !e.error && !e.paramsDigest ? <span className="muted">—</span> : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
    </section>
  );
}

/** Stable row keys: time, call and phase, with a counter for lines that repeat all three. */
function withKeys(entries: GateAuditEntry[]) {
  const seen = new Map<string, number>();
  return entries.map((e) => {
    const base = `${e.ts}|${e.toolCallId ?? ""}|${e.phase}|${e.decision}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return { e, key: `${base}#${n}` };
  });
}
