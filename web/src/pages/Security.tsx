// An instance's Security page (issue 18, "is the box safe?"): integrity incidents as alerts at the
// top (accept a change as the new baseline, with a reason), the posture score and its counts, the
// score over time, the latest audit's findings by severity with evidence and remediation, accepted
// findings apart (not counted), and "Run audit now".
import { useEffect, useState } from "react";
import { ApiError, type Finding, get, type Instance, type IntegrityIncident, type Posture, post, type PostureReport, type Severity } from "../api.ts";
import { ConfirmDialog } from "../components/confirm-dialog.tsx";
import { BAND_TEXT, PostureGauge, postureBand } from "../components/posture.tsx";
import { Empty, ErrorBanner, Field, Loading, Notice, StateBadge, timeAgo, useLoad, useWidth } from "../components/ui.tsx";
import { Link } from "../router.tsx";
import "./security.css";

const SEVERITIES: Severity[] = ["CRIT", "HIGH", "MED", "LOW"];
const SEVERITY_TEXT: Record<Severity, string> = { CRIT: "Critical", HIGH: "High", MED: "Medium", LOW: "Low" };
const WEIGHT: Record<Severity, number> = { CRIT: 15, HIGH: 8, MED: 3, LOW: 1 };

const KIND_TEXT: Record<string, string> = {
  provision: "baseline audit at provisioning",
  deploy: "re-audit at an agent deploy",
  daily: "daily audit",
  manual: "audit run from the dashboard",
  cli: "audit run from the CLI",
};
const kindText = (k: string | null | undefined) => (k ? (KIND_TEXT[k] ?? `${k} audit`) : "audit");

const CHANGE_TEXT: Record<IntegrityIncident["change"], string> = { changed: "changed", deleted: "was deleted", added: "was added" };

const when = (iso: string) => new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });

/** What went wrong with "Run audit now", in the user's words. */
function auditError(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 409) return "The instance is not running, so it cannot be audited. Start it on the Agents page, then run the audit again.";
    if (e.status === 504)
      return "The instance did not answer within a minute, so no audit was recorded. Check that it is running (and its machine is online), then try again.";
    return e.message;
  }
  return (e as Error).message;
}

export function SecurityPage({ instanceId }: { instanceId: string }) {
  const instance = useLoad(() => get<Instance>(`/api/v1/instances/${instanceId}`), [instanceId], 30_000);
  const posture = useLoad(() => get<Posture>(`/api/v1/instances/${instanceId}/posture`), [instanceId], 60_000);
  const [accepting, setAccepting] = useState<IntegrityIncident[] | null>(null);
  const [accepted, setAccepted] = useState<string | null>(null);
  const name = instance.data?.name ?? "this instance";
  const p = posture.data;
  const open = (p?.incidents ?? []).filter((i) => !i.acceptedAt);
  const settled = (p?.incidents ?? []).filter((i) => i.acceptedAt);

  if (instance.error instanceof ApiError && instance.error.status === 404)
    return (
      <div className="page security">
        <h1>Instance not found</h1>
        <p>
          There is no instance with this id on your account. <Link to="/agents">Go to your agents</Link>.
        </p>
      </div>
    );

  return (
    <div className="page security">
      <p className="crumb">
        <Link to="/agents">Agents</Link> <span aria-hidden="true">/</span> {name}
      </p>
      <div className="page-head">
        <div>
          <h1>Security of {name}</h1>
          <p className="muted lede">Is the box safe to host an agent? The host's latest audit, its integrity checks and the score over time.</p>
        </div>
        <div className="row">{instance.data ? <StateBadge state={instance.data.pauseReason ? "paused" : instance.data.state} /> : null}</div>
      </div>
      <ErrorBanner error={instance.error} onRetry={() => void instance.reload()} />
      <ErrorBanner error={posture.error} onRetry={() => void posture.reload()} />
      {open.length > 0 ? (
        <section className="incidents" aria-label="Integrity alerts" data-testid="integrity-alerts">
          {open.map((i) => (
            <div key={i.id} className="banner error incident" role="alert" data-incident={i.id}>
              <div>
                <strong>
                  {i.name} {CHANGE_TEXT[i.change]} at {when(i.detectedAt)}
                </strong>
                <div className="small">
                  <code>{i.path}</code> no longer matches its baseline. If you did not make this change, treat the instance as compromised: stop it
                  and check the file.
                </div>
              </div>
              <button type="button" className="small" onClick={() => setAccepting([i])} aria-label={`Accept ${i.name} as new baseline`}>
                Accept as new baseline
              </button>
            </div>
          ))}
          {open.length > 1 ? (
            <div className="row end">
              <button type="button" className="small" onClick={() => setAccepting(open)}>
                Accept all {open.length} as new baseline
              </button>
            </div>
          ) : null}
        </section>
      ) : null}
      {accepted ? (
        <Notice kind="ok">
          <span>{accepted}</span>
          <button type="button" className="link" onClick={() => setAccepted(null)}>
            Dismiss
          </button>
        </Notice>
      ) : null}
      {!p ? (
        posture.error ? null : (
          <Loading what="the security posture" />
        )
      ) : (
        <>
          <Overview posture={p} instanceId={instanceId} name={name} onAudited={() => void posture.reload()} />
          <section className="card" aria-labelledby="history-title">
            <h2 id="history-title">Score over time</h2>
            <ScoreChart history={p.history} />
          </section>
          {p.report ? <Findings report={p.report} /> : null}
          {settled.length > 0 ? <AcceptedIncidents incidents={settled} /> : null}
        </>
      )}
      {accepting ? (
        <AcceptDialog
          instanceId={instanceId}
          incidents={accepting}
          onCancel={() => setAccepting(null)}
          onDone={(n) => {
            setAccepting(null);
            setAccepted(n === 1 ? "The change is accepted as the new baseline." : `${n} changes are accepted as the new baseline.`);
            void posture.reload();
          }}
        />
      ) : null}
    </div>
  );
}

/** The score, its band and counts, when and how it was audited, and "Run audit now". */
function Overview(props: { posture: Posture; instanceId: string; name: string; onAudited: () => void }) {
  const { posture: p } = props;
  const [startedAt, setStartedAt] = useState<number | null>(null);
  const [elapsed, setElapsed] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  useEffect(() => {
    if (startedAt === null) return;
    const t = setInterval(() => setElapsed(Math.round((Date.now() - startedAt) / 1000)), 1000);
    return () => clearInterval(t);
  }, [startedAt]);
  const runAudit = async () => {
    setStartedAt(Date.now());
    setElapsed(0);
    setError(null);
    setDone(null);
    try {
      const r = await post<{ audit: { score: number } }>(`/api/v1/instances/${props.instanceId}/audits`, {});
      setDone(`Audit finished: the score is ${r.audit.score} of 100.`);
      props.onAudited();
    } catch (e) {
      setError(auditError(e));
    } finally {
      setStartedAt(null);
    }
  };
  const running = startedAt !== null;
  return (
    <section className="card posture-overview" aria-labelledby="posture-title">
      <h2 id="posture-title" className="sr-only">
        Posture score
      </h2>
      <div className="overview-main">
        <PostureGauge score={p.score} size={96} />
        <div className="overview-text">
          {p.score === null ? (
            <>
              <div className="overview-score">Not audited yet</div>
              <p className="muted">
                {props.name} has no audit yet. Tropic audits an instance when it is provisioned, at every agent deploy and daily; run one now to see
                where it stands.
              </p>
            </>
          ) : (
            <>
              <div className="overview-score" data-testid="posture-score">
                {p.score} of 100 <span className={`band-text band-${postureBand(p.score)}`}>{BAND_TEXT[postureBand(p.score)]}</span>
              </div>
              <p className="muted">
                {p.at ? `Last ${kindText(p.kind)}: ${when(p.at)} (${timeAgo(p.at)} ago).` : null} Score = 100 − 15 per critical, 8 per high, 3 per
                medium and 1 per low finding.
              </p>
            </>
          )}
          {p.counts ? (
            <ul className="counts" aria-label="Open findings by severity">
              {SEVERITIES.map((s) => (
                <li key={s} className={`count sev-${s}`} data-severity={s}>
                  <strong>{p.counts?.[s] ?? 0}</strong> {SEVERITY_TEXT[s].toLowerCase()}
                </li>
              ))}
              {p.report ? (
                <li className="count">
                  <strong>{p.report.passed}</strong> passed
                </li>
              ) : null}
            </ul>
          ) : null}
        </div>
        <div className="overview-actions">
          <button type="button" className="primary" disabled={running} onClick={() => void runAudit()}>
            {running ? "Auditing…" : "Run audit now"}
          </button>
        </div>
      </div>
      {running ? (
        <div className="audit-progress" role="status" aria-live="polite">
          <span className="spinner" aria-hidden="true" /> Auditing {props.name}: {elapsed} s. An audit reads the host's configuration, files and
          sockets and can take up to a minute.
        </div>
      ) : null}
      {error ? (
        <div className="banner error" role="alert" data-testid="audit-error">
          {error}
        </div>
      ) : null}
      {done ? (
        <div className="banner ok" role="status">
          {done}
        </div>
      ) : null}
    </section>
  );
}

/** The score of each audit as a line over time, with the bands behind it. */
function ScoreChart({ history }: { history: Posture["history"] }) {
  const { ref, width } = useWidth<HTMLDivElement>(720);
  if (history.length === 0)
    return (
      <div ref={ref}>
        <Empty title="No audits yet">
          <p>Each audit adds a point here: at provisioning, at every agent deploy, daily, and when you run one.</p>
        </Empty>
      </div>
    );
  const height = 220;
  const pad = { left: 44, right: 16, top: 12, bottom: 40 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const times = history.map((h) => Date.parse(h.at));
  const t0 = times[0]!;
  const span = times[times.length - 1]! - t0;
  // One audit (or all at one instant): the point sits in the middle.
  const x = (t: number) => (span > 0 ? pad.left + ((t - t0) / span) * plotW : pad.left + plotW / 2);
  const y = (v: number) => pad.top + plotH - (v / 100) * plotH;
  const points = history.map((h, i) => ({ ...h, cx: x(times[i]!), cy: y(h.score) }));
  const last = history[history.length - 1]!;
  const lo = history.reduce((a, b) => (b.score < a.score ? b : a));
  const summary = `Posture score over time: ${history.length} audit${history.length === 1 ? "" : "s"} from ${when(history[0]!.at)} to ${when(last.at)}; latest ${last.score} of 100; lowest ${lo.score} on ${when(lo.at)}.`;
  const short = (t: number) => new Date(t).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  const xTicks = span > 0 ? (plotW > 420 ? [t0, t0 + span / 2, t0 + span] : [t0, t0 + span]) : [t0];
  return (
    <div ref={ref} className="posture-chart">
      <svg role="img" aria-label={summary} width={width} height={height} viewBox={`0 0 ${width} ${height}`} data-testid="posture-chart">
        <rect className="zone band-good" x={pad.left} width={plotW} y={y(100)} height={y(90) - y(100)} />
        <rect className="zone band-fair" x={pad.left} width={plotW} y={y(90)} height={y(70) - y(90)} />
        <rect className="zone band-poor" x={pad.left} width={plotW} y={y(70)} height={y(0) - y(70)} />
        {[0, 70, 90, 100].map((v) => (
          <g key={v}>
            <line className="grid-line" x1={pad.left} x2={width - pad.right} y1={y(v)} y2={y(v)} />
            <text className="tick" x={pad.left - 6} y={y(v)} textAnchor="end" dominantBaseline="middle">
              {v}
            </text>
          </g>
        ))}
        {points.length > 1 ? <polyline className="line" fill="none" points={points.map((q) => `${q.cx},${q.cy}`).join(" ")} /> : null}
        {points.map((q) => (
          <circle
            key={q.id}
            className={`point band-${postureBand(q.score)}`}
            cx={q.cx}
            cy={q.cy}
            r={4.5}
            data-testid="posture-point"
            data-score={q.score}
          >
            <title>{`${when(q.at)}: ${q.score} of 100 (${kindText(q.kind)})`}</title>
          </circle>
        ))}
        <line className="axis" x1={pad.left} x2={width - pad.right} y1={pad.top + plotH} y2={pad.top + plotH} />
        <line className="axis" x1={pad.left} x2={pad.left} y1={pad.top} y2={pad.top + plotH} />
        {xTicks.map((t, i) => (
          <text
            key={t}
            className="tick"
            x={x(t)}
            y={pad.top + plotH + 16}
            textAnchor={xTicks.length > 1 && i === 0 ? "start" : xTicks.length > 1 && i === xTicks.length - 1 ? "end" : "middle"}
          >
            {short(t)}
          </text>
        ))}
        <text className="axis-title" x={pad.left + plotW / 2} y={height - 4} textAnchor="middle">
          Audits (your local time)
        </text>
        <text className="axis-title" transform={`translate(12 ${pad.top + plotH / 2}) rotate(-90)`} textAnchor="middle">
          score
        </text>
      </svg>
      <details>
        <summary>Show the numbers</summary>
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Audit</th>
                <th scope="col" className="num">
                  Score
                </th>
              </tr>
            </thead>
            <tbody>
              {[...history].reverse().map((h) => (
                <tr key={h.id}>
                  <td>{when(h.at)}</td>
                  <td>{kindText(h.kind)}</td>
                  <td className="num">{h.score}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </div>
  );
}

/** The latest audit's open findings by severity (critical first), then the accepted ones apart. */
function Findings({ report }: { report: PostureReport }) {
  return (
    <>
      <section className="card" aria-labelledby="findings-title">
        <h2 id="findings-title">Findings</h2>
        <p className="muted small">
          From the audit of {when(report.ts)}: {report.findings.length} open, {report.passed} checks passed, {report.notApplicable} not applicable to
          this host.
        </p>
        {report.findings.length === 0 ? (
          <Notice kind="ok">No open findings: every check that applies to this host passed.</Notice>
        ) : (
          SEVERITIES.map((s) => {
            const list = report.findings.filter((f) => f.severity === s);
            if (list.length === 0) return null;
            return (
              <section key={s} className="severity-group" aria-labelledby={`sev-${s}`} data-severity-group={s}>
                <h3 id={`sev-${s}`} className={`sev-head sev-${s}`}>
                  {SEVERITY_TEXT[s]} ({list.length}) <span className="muted small">{WEIGHT[s]} points each</span>
                </h3>
                <ul className="finding-list">
                  {list.map((f) => (
                    <FindingItem key={f.id} f={f} />
                  ))}
                </ul>
              </section>
            );
          })
        )}
      </section>
      {report.accepted.length > 0 ? (
        <section className="card accepted-findings" aria-labelledby="accepted-title" data-testid="accepted-findings">
          <h2 id="accepted-title">Accepted ({report.accepted.length})</h2>
          <p className="muted small">
            Deliberate settings, each with the reason it is expected. They are shown, not hidden, and not counted in the score.
          </p>
          <ul className="finding-list">
            {report.accepted.map((f) => (
              <FindingItem key={f.id} f={f} accepted />
            ))}
          </ul>
        </section>
      ) : null}
    </>
  );
}

function FindingItem({ f, accepted }: { f: Finding; accepted?: boolean }) {
  return (
    <li className={`finding sev-${f.severity}${accepted ? " accepted" : ""}`} data-finding={f.id}>
      <div className="finding-head">
        <span className={`sev-badge sev-${f.severity}`}>{SEVERITY_TEXT[f.severity]}</span>
        <strong className="finding-title">{f.title}</strong>
        <code className="finding-id">{f.id}</code>
      </div>
      <dl className="finding-facts">
        {accepted && f.reason ? (
          <>
            <dt>Why it is accepted</dt>
            <dd data-testid="accepted-reason">{f.reason}</dd>
          </>
        ) : null}
        <dt>Evidence</dt>
        <dd className="evidence">{f.evidence}</dd>
        <dt>{accepted ? "To change it" : "How to fix"}</dt>
        <dd className="remediation">{f.remediation}</dd>
        {f.frameworks.length > 0 ? (
          <>
            <dt>Frameworks</dt>
            <dd>
              <ul className="frameworks">
                {f.frameworks.map((fw) => (
                  <li key={fw}>{fw}</li>
                ))}
              </ul>
            </dd>
          </>
        ) : null}
        <dt>Source</dt>
        <dd>
          {f.category}, {f.source === "openclaw" ? "OpenClaw's own security audit" : "Tropic's checks"}
        </dd>
      </dl>
    </li>
  );
}

function AcceptedIncidents({ incidents }: { incidents: IntegrityIncident[] }) {
  return (
    <section className="card" aria-labelledby="baseline-title">
      <h2 id="baseline-title">Accepted integrity changes</h2>
      <ul className="baseline-list">
        {incidents.map((i) => (
          <li key={i.id} data-incident={i.id}>
            <strong>{i.name}</strong> {CHANGE_TEXT[i.change]} at {when(i.detectedAt)}; accepted {i.acceptedAt ? when(i.acceptedAt) : ""}
            {i.reason ? <span className="muted">: “{i.reason}”</span> : null}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Accept one or more integrity changes as the new baseline: a reason is required (it is kept with them). */
function AcceptDialog(props: { instanceId: string; incidents: IntegrityIncident[]; onCancel: () => void; onDone: (n: number) => void }) {
  const [reason, setReason] = useState("");
  const one = props.incidents.length === 1 ? props.incidents[0] : undefined;
  return (
    <ConfirmDialog
      title={one ? `Accept the change to ${one.name}?` : `Accept ${props.incidents.length} changes?`}
      confirmLabel="Accept as new baseline"
      onConfirm={async () => {
        if (!reason.trim()) throw new Error("Write a reason: why is this change expected?");
        const r = await post<{ accepted: string[] }>(`/api/v1/instances/${props.instanceId}/integrity/accept`, {
          incidentIds: props.incidents.map((i) => i.id),
          reason: reason.trim(),
        });
        props.onDone(r.accepted.length);
      }}
      onCancel={props.onCancel}
    >
      <p>
        The file{one ? "" : "s"} as {one ? "it is" : "they are"} now become{one ? "s" : ""} the baseline the integrity check compares against. Only do
        this for a change you made or expected.
      </p>
      {one ? null : (
        <ul>
          {props.incidents.map((i) => (
            <li key={i.id}>
              {i.name} {CHANGE_TEXT[i.change]}
            </li>
          ))}
        </ul>
      )}
      <Field label="Reason" hint="Kept with the incident, for example “I edited SOUL.md to change the agent's tone”.">
        {(id, d) => (
          <textarea id={id} aria-describedby={d} data-autofocus rows={3} maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />
        )}
      </Field>
    </ConfirmDialog>
  );
}
