// Credits: the balance, what burns now and when it runs out, the burn over time (an inline SVG
// chart of the settled 5-minute windows), spend per instance and agent, buying credits, the ledger.
import { type ReactNode, useState } from "react";
import { ApiError, get, post } from "../api.ts";
import { Empty, ErrorBanner, formatCredits, Loading, Notice, StateBadge, timeAgo, useLoad, useWidth } from "../components/ui.tsx";
import { Link } from "../router.tsx";
import "./credits.css";

interface InstanceUsage {
  id: string;
  name: string | null;
  instanceType: string | null;
  state: string | null;
  stateReason: string | null;
  usesPlatformKey: boolean;
  computeRate: number | null;
  modelRate: number;
  burnRate: number;
  spentToday: number;
  spentThisMonth: number;
}
interface AgentUsage {
  id: string;
  instanceId: string | null;
  name: string | null;
  model: string | null;
  burnRate: number;
  spentToday: number;
  spentThisMonth: number;
}
interface Usage {
  asOf: string;
  balance: number;
  burnRate: number;
  runsOutAt: string | null;
  hoursLeft: number | null;
  forecast: Forecast;
  today: { since: string; spent: number; dailyCreditCap: number | null; remaining: number | null };
  month: { since: string; spent: number };
  instances: InstanceUsage[];
  agents: AgentUsage[];
}
/** What the balance means for the instances (server/src/credits/usage.ts forecast): the CLI prints the same summary. */
interface Forecast {
  status: "runs_out" | "used_up" | "paused" | "free" | "idle";
  summary: string;
  paidInstances: string[];
  freeInstances: string[];
  pausedForCredits: string[];
}
interface HistoryWindow {
  start: string;
  credits: number;
  creditsPerHour: number;
}
interface History {
  from: string;
  to: string;
  windowMinutes: number;
  total: number;
  windows: HistoryWindow[];
}
interface Packages {
  purchasesEnabled: boolean;
  packages: { id: string; credits: number; priceCents: number; currency: string }[];
}
interface LedgerEntry {
  id: number;
  kind: string;
  credits: number;
  instanceId: string | null;
  agentId: string | null;
  windowStart: string | null;
  note: string | null;
  createdAt: string;
}
interface LedgerPage {
  balance: number;
  ledger: LedgerEntry[];
  nextCursor: string | null;
}

const KIND_TEXT: Record<string, string> = {
  compute: "Compute",
  model: "Model",
  grant: "Grant",
  purchase: "Purchase",
  refund: "Refund",
  adjustment: "Adjustment",
};

const RANGES = [
  { hours: 6, label: "Last 6 hours" },
  { hours: 24, label: "Last 24 hours" },
  { hours: 168, label: "Last 7 days" },
];

const rate = (n: number) => `${formatCredits(n)} cr/hr`;
const clock = (d: Date) => d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
const dayClock = (d: Date) => d.toLocaleString([], { weekday: "short", hour: "2-digit", minute: "2-digit" });
const fullTime = (iso: string) => new Date(iso).toLocaleString();
const dollars = (cents: number) => (cents / 100).toLocaleString("en-US", { style: "currency", currency: "USD" });

function hoursText(h: number): string {
  if (h < 1) return `${Math.max(1, Math.round(h * 60))} minutes`;
  if (h < 48) return `${h.toFixed(h < 10 ? 1 : 0)} hours`;
  return `${(h / 24).toFixed(1)} days`;
}

/** GET /api/v1/instances/:id/model-usage: tokens through Tropic's model proxy, beside the hourly rates. */
interface ModelUsage {
  today: { inputTokens: number; outputTokens: number; requests: number };
  month: { inputTokens: number; outputTokens: number; requests: number };
  rates: { model: number; total: number | null };
}

const tokensText = (t: { inputTokens: number; outputTokens: number }) =>
  `${t.inputTokens.toLocaleString()} in / ${t.outputTokens.toLocaleString()} out`;

/**
 * Tokens the instances on Tropic's Claude key used through the model proxy, today and this month,
 * beside what they are charged per hour: the hourly rates stay the charge, the tokens are shown.
 */
function ModelTokens({ instances }: { instances: InstanceUsage[] }) {
  const ids = instances.map((i) => i.id).join(",");
  const usage = useLoad(
    async () => Promise.all(instances.map(async (i) => [i.id, await get<ModelUsage>(`/api/v1/instances/${i.id}/model-usage`)] as const)),
    [ids],
    60_000,
  );
  if (!instances.length) return null;
  const by = new Map(usage.data ?? []);
  return (
    <section className="card" aria-labelledby="model-tokens">
      <h2 id="model-tokens">Model tokens (Tropic's Claude key)</h2>
      <p className="muted small">Counted by Tropic's model proxy. You are charged the hourly rates, not per token.</p>
      <ErrorBanner error={usage.error} onRetry={usage.reload} />
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Instance</th>
              <th scope="col">Today</th>
              <th scope="col">This month</th>
              <th scope="col">Requests (month)</th>
              <th scope="col">Model rate</th>
            </tr>
          </thead>
          <tbody>
            {instances.map((i) => {
              const m = by.get(i.id);
              return (
                <tr key={i.id}>
                  <td>{i.name}</td>
                  <td>{m ? tokensText(m.today) : "…"}</td>
                  <td>{m ? tokensText(m.month) : "…"}</td>
                  <td>{m ? m.month.requests.toLocaleString() : "…"}</td>
                  <td>{m ? `${m.rates.model} cr/hr` : "…"}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}

export function CreditsPage(_props: { instanceId?: string }) {
  const usage = useLoad(() => get<Usage>("/api/v1/credits/usage"), [], 30_000);
  const [hours, setHours] = useState(24);
  const history = useLoad(() => get<History>(`/api/v1/credits/history?hours=${hours}`), [hours], 60_000);
  const packages = useLoad(() => get<Packages>("/api/v1/credits/packages"), []);
  const u = usage.data;
  const names = new Map((u?.instances ?? []).map((i) => [i.id, i.name ?? "a deleted instance"]));
  const agentNames = new Map((u?.agents ?? []).map((a) => [a.id, a.name ?? "a removed agent"]));

  return (
    <div className="page credits">
      <div className="page-head">
        <h1>Credits</h1>
        <button
          type="button"
          onClick={() => {
            void usage.reload();
            void history.reload();
          }}
        >
          Refresh
        </button>
      </div>

      <ErrorBanner error={usage.error} onRetry={usage.reload} />
      {usage.loading && !u ? <Loading what="your balance" /> : null}
      {u ? <Summary u={u} /> : null}

      <section className="card credits-chart-card" aria-labelledby="burn-title">
        <div className="spread">
          <h2 id="burn-title">Burn rate over time</h2>
          <label className="credits-range">
            <span>Time range</span>
            <select value={hours} onChange={(e) => setHours(Number(e.target.value))}>
              {RANGES.map((r) => (
                <option key={r.hours} value={r.hours}>
                  {r.label}
                </option>
              ))}
            </select>
          </label>
        </div>
        <ErrorBanner error={history.error} onRetry={history.reload} />
        {history.loading && !history.data ? <Loading what="the burn history" /> : null}
        {history.data ? <BurnChart h={history.data} hours={hours} /> : null}
      </section>

      <BuyCredits p={packages} />

      {u ? (
        <div className="credits-tables">
          <section className="card" aria-labelledby="inst-spend">
            <h2 id="inst-spend">Spend per instance</h2>
            {u.instances.length === 0 ? (
              <Empty title="No instances yet">
                <p>
                  Create an instance on the <Link to="/agents">Agents</Link> page; what it costs shows up here.
                </p>
              </Empty>
            ) : (
              <SpendTable
                first="Instance"
                rows={u.instances.map((i) => ({
                  ...i,
                  label: i.name ?? <span className="muted">Deleted instance</span>,
                  sub: i.instanceType,
                  second: i.state ? <StateBadge state={i.state} /> : "—",
                }))}
                second="State"
              />
            )}
          </section>
          <ModelTokens instances={u.instances.filter((i) => i.usesPlatformKey && i.name !== null)} />
          <section className="card" aria-labelledby="agent-spend">
            <h2 id="agent-spend">Spend per agent</h2>
            <p className="muted small">Agents cost model credits only on Tropic's own API key; with your own key an instance pays compute only.</p>
            {u.agents.length === 0 ? (
              <Empty title="No agents yet">
                <p>
                  Deploy one from the <Link to="/marketplace">Marketplace</Link>.
                </p>
              </Empty>
            ) : (
              <SpendTable
                first="Agent"
                rows={u.agents.map((a) => ({
                  ...a,
                  label: a.name ?? <span className="muted">Removed agent</span>,
                  sub: a.model,
                  second: a.instanceId ? (names.get(a.instanceId) ?? "—") : "—",
                }))}
                second="Instance"
              />
            )}
          </section>
        </div>
      ) : null}

      <Ledger names={names} agentNames={agentNames} />
    </div>
  );
}

/** Spend per instance or per agent: what burns now, today and this month. */
function SpendTable(props: {
  first: string;
  second: string;
  rows: { id: string; label: ReactNode; sub: string | null; second: ReactNode; burnRate: number; spentToday: number; spentThisMonth: number }[];
}) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">{props.first}</th>
            <th scope="col">{props.second}</th>
            <th scope="col" className="num">
              Burning now
            </th>
            <th scope="col" className="num">
              Today
            </th>
            <th scope="col" className="num">
              This month
            </th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((r) => (
            <tr key={r.id}>
              <th scope="row">
                {r.label}
                {r.sub ? <div className="muted small">{r.sub}</div> : null}
              </th>
              <td>{r.second}</td>
              <td className="num">{rate(r.burnRate)}</td>
              <td className="num">{formatCredits(r.spentToday)}</td>
              <td className="num">{formatCredits(r.spentThisMonth)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The "Credits run out" card: the API's forecast, with the local time of the run-out. */
function runsOutCard(u: Usage): { value: string; note: string } {
  const f = u.forecast;
  switch (f.status) {
    case "runs_out": {
      // The API's sentence counts hours; here the run-out is a date in the browser's own time zone.
      const charged = u.instances.filter((i) => i.burnRate > 0).map((i) => i.name ?? "a deleted instance");
      const who = charged.length === 1 ? `${charged[0]} is` : `${charged.slice(0, -1).join(", ")} and ${charged.at(-1)} are`;
      return {
        value: `in ${hoursText(u.hoursLeft ?? 0)}`,
        note: `around ${new Date(u.runsOutAt ?? u.asOf).toLocaleString([], { dateStyle: "medium", timeStyle: "short" })} at the current burn rate; then ${who} paused until credits are added.`,
      };
    }
    case "used_up":
    case "paused":
      return { value: "Used up", note: f.summary };
    default:
      return { value: "Never", note: f.summary };
  }
}

function Summary({ u }: { u: Usage }) {
  const running = u.instances.filter((i) => i.burnRate > 0).length;
  const runsOut = runsOutCard(u);
  const cap = u.today.dailyCreditCap;
  return (
    <section className="credits-summary" aria-label="Credit summary">
      <div className="card stat" data-testid="balance">
        <div className="stat-label">Balance</div>
        <div className="stat-value">{formatCredits(u.balance)}</div>
        <div className="stat-note">credits</div>
      </div>
      <div className="card stat" data-testid="burn-rate">
        <div className="stat-label">Burn rate now</div>
        <div className="stat-value">{rate(u.burnRate)}</div>
        <div className="stat-note">{running ? `${running} instance${running === 1 ? "" : "s"} using credits` : "No instance is using credits"}</div>
      </div>
      <div className={`card stat${u.forecast.status === "used_up" || u.forecast.status === "paused" ? " stat-warn" : ""}`} data-testid="runs-out">
        <div className="stat-label">Credits run out</div>
        <div className="stat-value">{runsOut.value}</div>
        <div className="stat-note">{runsOut.note}</div>
      </div>
      <div className="card stat">
        <div className="stat-label">Spent today</div>
        <div className="stat-value">{formatCredits(u.today.spent)}</div>
        <div className="stat-note">
          {cap === null ? (
            <>
              No daily cap (<Link to="/settings">set one in Settings</Link>)
            </>
          ) : (
            `of a ${formatCredits(cap)} daily cap · ${formatCredits(u.today.remaining ?? 0)} left`
          )}
        </div>
      </div>
      <div className="card stat">
        <div className="stat-label">Spent this month</div>
        <div className="stat-value">{formatCredits(u.month.spent)}</div>
        <div className="stat-note">since {new Date(u.month.since).toLocaleDateString()}</div>
      </div>
    </section>
  );
}

/** A "nice" axis maximum (1, 2, 2.5 or 5 × 10^n) at or above `v`. */
function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function BurnChart({ h, hours }: { h: History; hours: number }) {
  const { ref, width } = useWidth<HTMLDivElement>(720);
  const charged = h.windows.filter((w) => w.credits > 0);
  const range = RANGES.find((r) => r.hours === hours)?.label.toLowerCase() ?? `last ${hours} hours`;
  if (charged.length === 0)
    return (
      <div ref={ref}>
        <Empty title={`No charges in the ${range}`}>
          <p>Charges appear every 5 minutes while an instance runs.</p>
        </Empty>
      </div>
    );

  const height = 240;
  const pad = { left: 52, right: 12, top: 14, bottom: 44 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const peak = charged.reduce((a, b) => (b.creditsPerHour > a.creditsPerHour ? b : a));
  const yMax = niceMax(peak.creditsPerHour);
  const n = h.windows.length;
  const slot = plotW / n;
  const barW = Math.max(1, slot * 0.8);
  const x = (i: number) => pad.left + i * slot;
  const y = (v: number) => pad.top + plotH - (v / yMax) * plotH;
  const yTicks = [0, yMax / 2, yMax];
  // Time labels at least ~80 px apart, on whole hours (or days for a week).
  const t0 = Date.parse(h.from);
  const spanMs = Date.parse(h.to) - t0;
  const stepOptions = [1, 2, 3, 6, 12, 24, 48].map((s) => s * 3600_000);
  const maxLabels = Math.max(2, Math.floor(plotW / 80));
  const step = stepOptions.find((s) => spanMs / s <= maxLabels) ?? 48 * 3600_000;
  const xTicks: number[] = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t0 + spanMs; t += step) xTicks.push(t);
  const tx = (t: number) => pad.left + ((t - t0) / spanMs) * plotW;
  const label = (t: number) => (hours > 24 ? dayClock(new Date(t)) : clock(new Date(t)));
  const last = h.windows[n - 1]!;
  const summary = `Burn rate, ${range}: ${formatCredits(h.total)} credits charged in ${charged.length} of ${n} five-minute windows; peak ${rate(peak.creditsPerHour)} at ${clock(new Date(peak.start))}; last settled window ${rate(last.creditsPerHour)}.`;

  return (
    <div ref={ref} className="credits-chart">
      <svg role="img" aria-label={summary} width={width} height={height} viewBox={`0 0 ${width} ${height}`} data-testid="burn-chart">
        {yTicks.map((v) => (
          <g key={v}>
            <line className="grid-line" x1={pad.left} x2={width - pad.right} y1={y(v)} y2={y(v)} />
            <text className="tick" x={pad.left - 6} y={y(v)} textAnchor="end" dominantBaseline="middle">
              {formatCredits(v)}
            </text>
          </g>
        ))}
        {h.windows.map((w, i) =>
          w.creditsPerHour > 0 ? (
            <rect
              key={w.start}
              className="bar"
              x={x(i) + (slot - barW) / 2}
              y={y(w.creditsPerHour)}
              width={barW}
              height={Math.max(1, pad.top + plotH - y(w.creditsPerHour))}
            >
              <title>{`${clock(new Date(w.start))}: ${formatCredits(w.credits)} credits (${rate(w.creditsPerHour)})`}</title>
            </rect>
          ) : null,
        )}
        <line className="axis" x1={pad.left} x2={width - pad.right} y1={pad.top + plotH} y2={pad.top + plotH} />
        <line className="axis" x1={pad.left} x2={pad.left} y1={pad.top} y2={pad.top + plotH} />
        {xTicks.map((t) => (
          <g key={t}>
            <line className="axis" x1={tx(t)} x2={tx(t)} y1={pad.top + plotH} y2={pad.top + plotH + 4} />
            <text
              className="tick"
              x={tx(t)}
              y={pad.top + plotH + 16}
              textAnchor={tx(t) > width - pad.right - 36 ? "end" : tx(t) < pad.left + 36 ? "start" : "middle"}
            >
              {label(t)}
            </text>
          </g>
        ))}
        <text className="axis-title" x={pad.left + plotW / 2} y={height - 6} textAnchor="middle">
          Time (your local time), 5-minute windows
        </text>
        <text className="axis-title" transform={`translate(12 ${pad.top + plotH / 2}) rotate(-90)`} textAnchor="middle">
          credits / hour
        </text>
      </svg>
      <p className="muted small">
        {formatCredits(h.total)} credits charged in the {range}. A window is charged after it ends, so the last few minutes are not shown yet.
      </p>
      <details>
        <summary>Show the numbers</summary>
        <div className="table-wrap">
          <table>
            <caption className="muted small">Windows with a charge ({charged.length}); the others cost nothing.</caption>
            <thead>
              <tr>
                <th scope="col">Window start</th>
                <th scope="col" className="num">
                  Credits
                </th>
                <th scope="col" className="num">
                  Credits / hour
                </th>
              </tr>
            </thead>
            <tbody>
              {[...charged].reverse().map((w) => (
                <tr key={w.start}>
                  <td>{new Date(w.start).toLocaleString()}</td>
                  <td className="num">{formatCredits(w.credits)}</td>
                  <td className="num">{formatCredits(w.creditsPerHour)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </div>
  );
}

function BuyCredits({ p }: { p: ReturnType<typeof useLoad<Packages>> }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const buy = async (packageId: string) => {
    setBusy(packageId);
    setError(null);
    try {
      const r = await post<{ purchaseId: string; checkoutUrl: string }>("/api/v1/credits/purchase", { packageId });
      if (!r.checkoutUrl) throw new ApiError(502, "checkout", "The payment provider gave no checkout page. Try again in a moment.");
      window.location.assign(r.checkoutUrl);
    } catch (e) {
      setError(e as Error);
      setBusy(null);
    }
  };
  return (
    <section className="card" aria-labelledby="buy-title">
      <h2 id="buy-title">Buy credits</h2>
      <ErrorBanner error={p.error} onRetry={p.reload} />
      {p.loading && !p.data ? <Loading what="credit packages" /> : null}
      {p.data && !p.data.purchasesEnabled ? (
        <Notice>Purchases are not enabled on this Tropic. An admin can grant you credits; ask the person who runs it.</Notice>
      ) : null}
      {p.data?.purchasesEnabled ? (
        <>
          <p className="muted small">You pay on a secure Stripe checkout page and come back here; the credits are added when the payment clears.</p>
          <ErrorBanner error={error} />
          <div className="row">
            {p.data.packages.map((k) => (
              <button key={k.id} type="button" className="primary" disabled={busy !== null} onClick={() => void buy(k.id)}>
                {busy === k.id ? "Opening checkout…" : `Buy ${k.credits.toLocaleString("en-US")} credits for ${dollars(k.priceCents)}`}
              </button>
            ))}
          </div>
        </>
      ) : null}
    </section>
  );
}

function Ledger({ names, agentNames }: { names: Map<string, string>; agentNames: Map<string, string> }) {
  const first = useLoad(() => get<LedgerPage>("/api/v1/credits?limit=25"), [], 60_000);
  const [more, setMore] = useState<LedgerEntry[]>([]);
  const [cursor, setCursor] = useState<string | null | undefined>(undefined);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<Error | null>(null);
  const next = cursor === undefined ? (first.data?.nextCursor ?? null) : cursor;
  const rows = [...(first.data?.ledger ?? []), ...more.filter((m) => !(first.data?.ledger ?? []).some((f) => f.id === m.id))];
  const loadMore = async () => {
    if (!next) return;
    setLoadingMore(true);
    setMoreError(null);
    try {
      const r = await get<LedgerPage>(`/api/v1/credits?limit=25&cursor=${encodeURIComponent(next)}`);
      setMore((m) => [...m, ...r.ledger]);
      setCursor(r.nextCursor);
    } catch (e) {
      setMoreError(e as Error);
    } finally {
      setLoadingMore(false);
    }
  };
  return (
    <section className="card" aria-labelledby="ledger-title">
      <h2 id="ledger-title">Ledger</h2>
      <p className="muted small">Every change to your balance, newest first. Compute and model charges are per 5-minute window.</p>
      <ErrorBanner error={first.error} onRetry={first.reload} />
      {first.loading && !first.data ? <Loading what="the ledger" /> : null}
      {first.data && rows.length === 0 ? (
        <Empty title="No entries yet">
          <p>Grants, purchases and charges appear here. Charges appear every 5 minutes while an instance runs.</p>
        </Empty>
      ) : null}
      {rows.length ? (
        <div className="table-wrap">
          <table className="credits-ledger">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Kind</th>
                <th scope="col" className="num">
                  Credits
                </th>
                <th scope="col">Instance / note</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((e) => (
                <tr key={e.id}>
                  <td title={fullTime(e.createdAt)}>{timeAgo(e.createdAt)} ago</td>
                  <td>{KIND_TEXT[e.kind] ?? e.kind}</td>
                  <td className={`num ${e.credits < 0 ? "credits-minus" : "credits-plus"}`}>
                    {e.credits > 0 ? "+" : e.credits < 0 ? "−" : ""}
                    {formatCredits(Math.abs(e.credits))}
                  </td>
                  <td>
                    {e.instanceId ? (names.get(e.instanceId) ?? "a deleted instance") : null}
                    {e.agentId ? ` · ${agentNames.get(e.agentId) ?? "a removed agent"}` : null}
                    {e.windowStart ? <div className="muted small">window from {clock(new Date(e.windowStart))}</div> : null}
                    {e.note ? <div className="muted small">{e.note}</div> : null}
                    {!e.instanceId && !e.note ? "—" : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <ErrorBanner error={moreError} onRetry={loadMore} />
      {next ? (
        <button type="button" onClick={() => void loadMore()} disabled={loadingMore}>
          {loadingMore ? "Loading…" : "Load older entries"}
        </button>
      ) : null}
    </section>
  );
}
