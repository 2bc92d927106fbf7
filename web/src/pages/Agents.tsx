// Agents (the home page): one card per instance with its state, cost and controls, the agents on
// it (policy shield, stop, remove) and its Skills drawer; "Add instance" creates a local one or connects
// the user's own machine (the one-liner; the card then waits for the machine and shows its details).
import { type FormEvent, useCallback, useState } from "react";
import { type Agent, ApiError, del, type Enrolment, get, type Instance, type Page, patch, post } from "../api.ts";
import {
  listInstances,
  listPolicies,
  listProviders,
  PROVIDER_LABEL,
  type ProviderOffer,
  type Policy,
  SETTLED_AGENT,
  SETTLED_INSTANCE,
  type Template,
  type Usage,
} from "../components/catalog.ts";
import { ConfirmDialog } from "../components/confirm-dialog.tsx";
import { Dialog, ShieldIcon } from "../components/Dialog.tsx";
import { CardPosture } from "../components/posture.tsx";
import { SkillsDrawer } from "../components/SkillsDrawer.tsx";
import { GateBadge } from "../components/GateSwitch.tsx";
import { Empty, ErrorBanner, Field, fieldError, formatCredits, Loading, Notice, StateBadge, timeAgo, useAction, useLoad } from "../components/ui.tsx";
import { Link, navigate, useQuery } from "../router.tsx";
import "./agents.css";
import { WhatsAppPanel } from "../components/WhatsApp.tsx";

const PAUSE_TEXT: Record<string, string> = {
  daily_cap: "Paused: today's credit cap is reached. It can start again tomorrow, or raise the cap in Settings.",
  session_limit: "Paused: the maximum session runtime was reached. Start it again when you are ready.",
  no_credits: "Paused: you are out of credits. Buy credits on the Credits page, then start it again.",
  no_rate: "Paused: this instance type has no credit rate.",
};

interface Lookups {
  templates: Map<string, Template>;
  policies: Policy[];
  reloadPolicies: () => void;
}

export function AgentsPage() {
  const query = useQuery();
  const [busy, setBusy] = useState(true);
  const data = useLoad(
    async () => {
      const [instances, usage] = await Promise.all([listInstances(), get<Usage>("/api/v1/credits/usage").catch(() => null)]);
      // (a gate switch the instance has not applied yet is followed closely too)
      setBusy(instances.some((i) => !SETTLED_INSTANCE.has(i.state) || !!i.gate?.pending));
      return { instances, usage };
    },
    [busy],
    busy ? 3000 : 15000,
  );
  const templates = useLoad(() => get<{ items: Template[] }>("/api/v1/marketplace/templates").then((r) => r.items), []);
  const policies = useLoad(listPolicies, []);
  const [adding, setAdding] = useState(false);
  const lookups: Lookups = {
    templates: new Map((templates.data ?? []).map((t) => [t.id, t])),
    policies: policies.data ?? [],
    reloadPolicies: () => void policies.reload(),
  };
  const deployed = query.get("deployed");
  const [ready, setReady] = useState(false);

  return (
    <div className="page agents-page">
      <div className="page-head">
        <div>
          <h1>Agents</h1>
          <p className="muted lede">Your instances, each a managed OpenClaw gateway, and the agents running on them.</p>
        </div>
        <div className="row">
          <button type="button" className="primary" onClick={() => setAdding(true)}>
            Add instance
          </button>
        </div>
      </div>
      {deployed ? (
        <Notice kind={ready ? "ok" : "info"}>
          {ready ? (
            <span>
              Agent “{query.get("name") ?? "new agent"}” is <strong>Ready</strong>. Talk to it in <Link to="/chat">Chat</Link>.
            </span>
          ) : (
            <span>
              Agent “{query.get("name") ?? "new agent"}” deployed. It shows <strong>Provisioning</strong> until its instance takes it, then{" "}
              <strong>Ready</strong>.
            </span>
          )}
          <button type="button" className="link" onClick={() => navigate("/agents", true)}>
            Dismiss
          </button>
        </Notice>
      ) : null}
      <ErrorBanner error={data.error} onRetry={() => void data.reload()} />
      {!data.data ? (
        data.error ? null : (
          <Loading what="your instances" />
        )
      ) : data.data.instances.length === 0 ? (
        <Empty title="No instances yet">
          <p>
            An instance is your own OpenClaw gateway: agents run on it, with their skills and policies. Add one to get started; it takes about half a
            minute to start.
          </p>
          <button type="button" className="primary" onClick={() => setAdding(true)}>
            Add instance
          </button>
        </Empty>
      ) : (
        <div className="instance-grid">
          {data.data.instances.map((i) => (
            <InstanceCard
              key={i.id}
              instance={i}
              rate={data.data?.usage?.instances.find((u) => u.id === i.id)}
              lookups={lookups}
              highlight={deployed}
              onHighlightReady={() => setReady(true)}
              onChanged={() => void data.reload().then(() => setBusy(true))}
            />
          ))}
        </div>
      )}
      {adding ? (
        <AddInstanceDialog
          onClose={() => setAdding(false)}
          onCreated={() => {
            setAdding(false);
            setBusy(true);
            void data.reload();
          }}
        />
      ) : null}
    </div>
  );
}

function AddInstanceDialog({ onClose, onCreated }: { onClose: () => void; onCreated: () => void }) {
  const [name, setName] = useState("");
  const [where, setWhere] = useState<"local" | "byo" | "aws">("local");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [connected, setConnected] = useState<Enrolment | null>(null);
  const providers = useLoad(listProviders, []);
  const cloud = providers.data?.find((p) => p.id === "aws");
  const [region, setRegion] = useState("");
  const [type, setType] = useState("");
  const cloudBlocked = where === "aws" && !cloud?.available;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (where === "byo") setConnected(await post<Enrolment>("/api/v1/instances/connect", { name: name.trim() }));
      else if (where === "aws") {
        await post<Instance>("/api/v1/instances", {
          name: name.trim(),
          provider: "aws",
          region: region || cloud?.defaultRegion,
          instanceType: type || cloud?.defaultInstanceType,
        });
        onCreated();
      } else {
        await post<Instance>("/api/v1/instances", { name: name.trim(), provider: "local" });
        onCreated();
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  if (connected)
    return (
      <Dialog title={`Connect ${connected.instance.name}`} onClose={onCreated}>
        <OneLiner enrolment={connected} />
        <div className="row end">
          <button type="button" className="primary" onClick={onCreated}>
            Done
          </button>
        </div>
      </Dialog>
    );
  const general = error instanceof ApiError && error.field !== "name" ? error.message : null;
  return (
    <Dialog title="Add instance" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <Field label="Name" error={fieldError(error, "name")} hint="Something you recognise, like “work” or “home assistant”.">
          {(id, d) => (
            <input id={id} aria-describedby={d} data-autofocus maxLength={80} required value={name} onChange={(e) => setName(e.target.value)} />
          )}
        </Field>
        <fieldset className="field where">
          <legend className="label-like">Where it runs</legend>
          <label className={`provider-choice${where === "local" ? " chosen" : ""}`}>
            <input type="radio" name="where" value="local" checked={where === "local"} onChange={() => setWhere("local")} />
            <span>
              <strong>This machine</strong>: a sandboxed OpenClaw gateway on the host that runs Tropic.
            </span>
          </label>
          <label className={`provider-choice${where === "byo" ? " chosen" : ""}`}>
            <input type="radio" name="where" value="byo" checked={where === "byo"} onChange={() => setWhere("byo")} />
            <span>
              <strong>Connect local machine</strong>: your own Mac or Linux computer. You run a one-liner in its terminal; Tropic then manages its
              OpenClaw like any other instance.
            </span>
          </label>
          <label className={`provider-choice${where === "aws" ? " chosen" : ""}`}>
            <input type="radio" name="where" value="aws" checked={where === "aws"} onChange={() => setWhere("aws")} />
            <span>
              <strong>Cloud</strong>: a VM of its own on AWS, ready in under 2 minutes. No public ports; SSH only from your IP. Charged in credits per
              hour while it runs.
            </span>
          </label>
        </fieldset>
        {where === "aws" ? (
          <CloudOptions
            cloud={cloud}
            loading={!providers.data && !providers.error}
            region={region}
            type={type}
            onRegion={setRegion}
            onType={setType}
            error={error}
          />
        ) : null}
        {general ? (
          <div className="banner error" role="alert">
            {general}
          </div>
        ) : null}
        <div className="row end">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy || !name.trim() || cloudBlocked}>
            {busy ? "Creating…" : where === "byo" ? "Get the one-liner" : "Create instance"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** Add Instance → Cloud: region and type (with its credits per hour), or what the server must configure first. */
function CloudOptions(props: {
  cloud: ProviderOffer | undefined;
  loading: boolean;
  region: string;
  type: string;
  onRegion: (r: string) => void;
  onType: (t: string) => void;
  error: unknown;
}) {
  const { cloud } = props;
  if (props.loading) return <Loading what="the cloud options" />;
  if (!cloud || !cloud.available)
    return (
      <div className="banner warn" role="status" data-testid="cloud-unavailable">
        {cloud?.message ?? "Cloud instances are not offered by this Tropic server."}
      </div>
    );
  const region = props.region || cloud.defaultRegion;
  const type = props.type || cloud.defaultInstanceType;
  return (
    <div className="cloud-options">
      <Field label="Region" error={fieldError(props.error, "region")}>
        {(id, d) => (
          <select id={id} aria-describedby={d} value={region} onChange={(e) => props.onRegion(e.target.value)}>
            {cloud.regions.map((r) => (
              <option key={r} value={r}>
                {REGION_LABEL[r] ? `${REGION_LABEL[r]} (${r})` : r}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field
        label="Type"
        error={fieldError(props.error, "instanceType")}
        hint="Credits are charged every 5 minutes while it runs; nothing while stopped."
      >
        {(id, d) => (
          <select id={id} aria-describedby={d} value={type} onChange={(e) => props.onType(e.target.value)}>
            {cloud.instanceTypes.map((t) => (
              <option key={t.id} value={t.id}>
                {t.id}: {t.vcpu} vCPU, {t.memoryGb} GB{t.creditsPerHour !== null ? `, ${formatCredits(t.creditsPerHour)} credits/h` : ""}
              </option>
            ))}
          </select>
        )}
      </Field>
    </div>
  );
}

const REGION_LABEL: Record<string, string> = {
  "us-east-1": "US East (N. Virginia)",
  "ap-southeast-1": "Asia Pacific (Singapore)",
  "eu-west-1": "Europe (Ireland)",
  "eu-west-2": "Europe (London)",
};

/** The one-liner to run on the user's machine: a copyable code block, and until when it works. */
function OneLiner({ enrolment }: { enrolment: Enrolment }) {
  const [copied, setCopied] = useState<"yes" | "no" | null>(null);
  const { command, expiresAt } = enrolment.enrolment;
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(command);
      setCopied("yes");
    } catch {
      setCopied("no");
    }
  };
  return (
    <div className="one-liner">
      <p>Open a terminal on your Mac or Linux machine (with systemd) and run:</p>
      <div className="code-copy">
        <code data-testid="one-liner">{command}</code>
        <button type="button" className="small" onClick={() => void copy()} aria-label="Copy the command">
          {copied === "yes" ? "Copied" : "Copy"}
        </button>
      </div>
      {copied === "no" ? <p className="hint-line">Your browser did not allow copying: select the command and copy it yourself.</p> : null}
      <p className="hint-line">
        It works once, until {new Date(expiresAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })} (15 minutes). It installs the
        management agent and starts OpenClaw as a service; your existing OpenClaw config is kept. The instance shows “Waiting for your machine…” until
        then.
      </p>
    </div>
  );
}

/** A user's own machine: what it said about itself, and whether its agent is connected. */
function HostFacts({ instance }: { instance: Instance }) {
  const h = instance.host;
  if (!h) return null;
  return (
    <>
      <dt>Machine</dt>
      <dd>
        {h.hostname} ({h.os} {h.arch})
      </dd>
      <dt>Connection</dt>
      <dd data-testid="host-connection">{h.connected ? "connected" : "offline"}</dd>
      <dt>Last seen</dt>
      <dd>{h.lastSeenAt ? `${timeAgo(h.lastSeenAt)} ago` : "never"}</dd>
      <dt>Versions</dt>
      <dd>
        agent {h.agentVersion}, OpenClaw {h.openclawVersion}
      </dd>
    </>
  );
}

function rateText(instance: Instance, rate: Usage["instances"][number] | undefined): string {
  if (!rate) return "—";
  if (instance.state === "running") return rate.burnRate === 0 ? "free" : `${formatCredits(rate.burnRate)} credits/h`;
  const when = (rate.computeRate ?? 0) + rate.modelRate;
  if (when === 0) return "free";
  // On its way up (provisioning, initializing): the rate it will be charged, from when it runs.
  if (!["stopped", "failed", "stopping"].includes(instance.state) && instance.desiredState === "running")
    return `${formatCredits(when)} credits/h once running`;
  return `nothing while stopped (${formatCredits(when)} credits/h running)`;
}

function InstanceCard(props: {
  instance: Instance;
  rate: Usage["instances"][number] | undefined;
  lookups: Lookups;
  highlight: string | null;
  onHighlightReady: () => void;
  onChanged: () => void;
}) {
  const i = props.instance;
  const { pending, error, run } = useAction();
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [skills, setSkills] = useState(false);
  const closeSkills = useCallback(() => setSkills(false), []);
  const action = (what: "start" | "stop" | "restart") =>
    run(what, async () => {
      await post(`/api/v1/instances/${i.id}/${what}`);
      props.onChanged();
    });
  const paused = !!i.pauseReason;
  const running = i.state === "running";
  const gatewayUp = running || i.state === "initializing" || i.state === "restarting";
  const canStart = i.state === "stopped" || i.state === "failed";
  const canStop = ["running", "initializing", "restarting", "provisioning", "failed"].includes(i.state) && i.desiredState !== "stopped";
  const reason = paused ? (i.stateReason ?? PAUSE_TEXT[i.pauseReason ?? ""] ?? `Paused: ${i.pauseReason}`) : i.stateReason;
  const headingId = `inst-${i.id}`;
  const byo = i.provider === "byo";
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const newOneLiner = () => run("enrolment", async () => setEnrolment(await post<Enrolment>(`/api/v1/instances/${i.id}/enrolment`)));

  return (
    <section className="card instance" aria-labelledby={headingId} data-instance={i.id}>
      <div className="spread">
        <h2 id={headingId}>{i.name}</h2>
        <StateBadge state={paused ? "paused" : i.state} />
      </div>
      <GateBadge instance={i} />
      {byo && !i.host ? (
        <div className="banner info reason" data-testid="host-waiting">
          Waiting for your machine… Run the one-liner in its terminal.{" "}
          <button type="button" className="link" onClick={() => void newOneLiner()}>
            Show a new one-liner
          </button>
        </div>
      ) : byo && !i.host?.connected && i.desiredState !== "stopped" ? (
        <div className="banner warn reason" data-testid="host-offline">
          Your machine is offline: its commands wait until it is back.
        </div>
      ) : reason && (paused || i.state === "failed" || i.state === "stopped") ? (
        <div className={`banner ${i.state === "failed" ? "error" : "warn"} reason`}>{reason}</div>
      ) : null}
      {i.host?.agent37 ? <p className="hint-line">Agent37 machine: its models and API keys are managed on Agent37.</p> : null}
      <CardPosture instance={i} />
      <dl className="facts">
        <dt>Provider</dt>
        <dd>{PROVIDER_LABEL[i.provider] ?? i.provider}</dd>
        {byo ? (
          <HostFacts instance={i} />
        ) : (
          <>
            <dt>{i.provider === "local" ? "Machine" : "Region"}</dt>
            <dd>{i.provider === "local" ? "Sandboxed on the Tropic host" : i.region}</dd>
            <dt>Type</dt>
            <dd>{i.instanceType}</dd>
          </>
        )}
        <dt>Uptime</dt>
        <dd>{running && i.startedAt ? timeAgo(i.startedAt) : "not running"}</dd>
        <dt>Credits</dt>
        <dd>{rateText(i, props.rate)}</dd>
        {byo ? null : (
          <>
            <dt>SSH</dt>
            <dd>
              <a href="/api/v1/ssh-key/private" download="tropic-vm-key.pem">
                Download SSH key
              </a>
              {i.provider === "aws" && i.addresses.publicIp ? (
                <code className="ssh-line" data-testid="ssh-command">
                  ssh -i tropic-vm-key.pem ubuntu@{i.addresses.publicIp}
                </code>
              ) : null}
            </dd>
          </>
        )}
      </dl>
      <div className="row actions">
        {running ? (
          <Link to={`/chat/${i.id}`} className="button primary-link">
            Chat
          </Link>
        ) : null}
        {canStart ? (
          <button type="button" className="small" disabled={!!pending} onClick={() => action("start")}>
            {pending === "start" ? "Starting…" : "Start"}
          </button>
        ) : null}
        {canStop ? (
          <button type="button" className="small" disabled={!!pending} onClick={() => action("stop")}>
            {pending === "stop" ? "Stopping…" : "Stop"}
          </button>
        ) : null}
        {running ? (
          <button type="button" className="small" disabled={!!pending} onClick={() => action("restart")}>
            {pending === "restart" ? "Restarting…" : "Restart"}
          </button>
        ) : null}
        <button type="button" className="small" onClick={() => setSkills(true)} aria-label={`Skills on ${i.name}`}>
          Skills
        </button>
        <button
          type="button"
          className="small danger"
          disabled={!!pending || i.state === "deleting"}
          onClick={() => setConfirmDelete(true)}
          aria-label={`Delete ${i.name}`}
        >
          Delete
        </button>
      </div>
      {error && !confirmDelete ? <ErrorBanner error={error} /> : null}
      {/* kept while the gateway reloads (enabling WhatsApp restarts it): a pairing dialog open in it survives */}
      {gatewayUp && !byo ? <WhatsAppPanel instance={i} /> : null}
      <AgentList instance={i} lookups={props.lookups} highlight={props.highlight} onHighlightReady={props.onHighlightReady} />
      {confirmDelete ? (
        <ConfirmDialog
          title={`Delete ${i.name}?`}
          confirmLabel="Delete instance"
          danger
          onConfirm={async () => {
            await del(`/api/v1/instances/${i.id}`);
            setConfirmDelete(false);
            props.onChanged();
          }}
          onCancel={() => setConfirmDelete(false)}
        >
          <p>This stops its gateway and removes the instance with its agents, their workspaces and chat history. It can't be undone.</p>
        </ConfirmDialog>
      ) : null}
      {skills ? <SkillsDrawer instance={i} onClose={closeSkills} onChanged={props.onChanged} /> : null}
      {enrolment ? (
        <Dialog title={`Connect ${i.name}`} onClose={() => setEnrolment(null)}>
          <OneLiner enrolment={enrolment} />
          <div className="row end">
            <button type="button" className="primary" onClick={() => setEnrolment(null)}>
              Done
            </button>
          </div>
        </Dialog>
      ) : null}
    </section>
  );
}

function AgentList(props: { instance: Instance; lookups: Lookups; highlight: string | null; onHighlightReady: () => void }) {
  const { instance, lookups, highlight } = props;
  const [busy, setBusy] = useState(true);
  const agents = useLoad(
    async () => {
      const items = (await get<Page<Agent>>(`/api/v1/agents?instanceId=${instance.id}&limit=200`)).items;
      setBusy(items.some((a) => !SETTLED_AGENT.has(a.state)));
      if (highlight && items.some((a) => a.id === highlight && a.state === "ready")) props.onHighlightReady();
      return items;
    },
    [instance.id, instance.state, busy],
    busy ? 2500 : undefined,
  );
  const [policyFor, setPolicyFor] = useState<Agent | null>(null);
  const [removing, setRemoving] = useState<Agent | null>(null);
  const action = useAction();
  const { pending, error } = action;
  const run = (id: string, fn: () => Promise<unknown>) =>
    action.run(id, async () => {
      await fn();
      setRemoving(null);
      await agents.reload();
      setBusy(true);
    });

  const list = agents.data;
  return (
    <div className="agents">
      <div className="spread">
        <h3>Agents</h3>
        {list && list.length > 0 ? (
          <Link to={`/marketplace?instance=${instance.id}`} className="small-link">
            Deploy another
          </Link>
        ) : null}
      </div>
      <ErrorBanner error={agents.error} onRetry={() => void agents.reload()} />
      {error && !removing ? <ErrorBanner error={error} /> : null}
      {!list ? (
        agents.error ? null : (
          <Loading what="agents" />
        )
      ) : list.length === 0 ? (
        <p className="muted none">
          No agents yet. <Link to={`/marketplace?instance=${instance.id}`}>Deploy one from the Marketplace</Link>.
        </p>
      ) : (
        <ul className="agent-list">
          {list.map((a) => {
            const policy = lookups.policies.find((p) => p.id === a.policyId);
            return (
              <li key={a.id} className={`agent${highlight === a.id ? " highlight" : ""}`} data-agent={a.id}>
                <div className="agent-main">
                  <div className="spread">
                    <strong className="agent-name">{a.name}</strong>
                    <StateBadge state={a.state} />
                  </div>
                  <div className="agent-meta">
                    <span>{lookups.templates.get(a.templateId)?.name ?? a.templateId}</span>
                    <span aria-hidden="true">·</span>
                    <code>{a.model}</code>
                  </div>
                  <div className={`agent-policy${policy ? " on" : ""}`}>{policy ? `Policy: ${policy.name}` : "No policy"}</div>
                  {a.stateReason && a.state !== "ready" ? <div className="hint-line">{a.stateReason}</div> : null}
                </div>
                <div className="row agent-actions">
                  <button
                    type="button"
                    className={`shield${policy ? " on" : ""}`}
                    aria-label={`Change policy for ${a.name}`}
                    title={`Change policy for ${a.name}`}
                    onClick={() => setPolicyFor(a)}
                  >
                    <ShieldIcon filled={!!policy} />
                  </button>
                  {a.state !== "stopped" ? (
                    <button
                      type="button"
                      className="small"
                      disabled={pending === a.id}
                      onClick={() => run(a.id, () => post(`/api/v1/agents/${a.id}/stop`))}
                    >
                      Stop<span className="sr-only"> {a.name}</span>
                    </button>
                  ) : null}
                  <button type="button" className="small danger" onClick={() => setRemoving(a)}>
                    Remove<span className="sr-only"> {a.name}</span>
                  </button>
                </div>
              </li>
            );
          })}
        </ul>
      )}
      {policyFor ? (
        <PolicyDialog
          agent={policyFor}
          policies={lookups.policies}
          onClose={() => setPolicyFor(null)}
          onSaved={() => {
            setPolicyFor(null);
            lookups.reloadPolicies();
            void agents.reload().then(() => setBusy(true));
          }}
        />
      ) : null}
      {removing ? (
        <ConfirmDialog
          title={`Remove ${removing.name}?`}
          confirmLabel="Remove agent"
          danger
          onConfirm={async () => {
            await del(`/api/v1/agents/${removing.id}`);
            setRemoving(null);
            await agents.reload();
            setBusy(true);
          }}
          onCancel={() => setRemoving(null)}
        >
          <p>The agent is stopped and unregistered from {instance.name}. Its workspace files stay on the instance.</p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}

function PolicyDialog(props: { agent: Agent; policies: Policy[]; onClose: () => void; onSaved: () => void }) {
  const [choice, setChoice] = useState<string>(props.agent.policyId ?? "");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await patch(`/api/v1/agents/${props.agent.id}`, { policyId: choice || null });
      props.onSaved();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Policy for ${props.agent.name}`} onClose={props.onClose}>
      <form onSubmit={save}>
        <fieldset className="policy-choices">
          <legend className="sr-only">Policy</legend>
          <label className="check">
            <input type="radio" name="policy" value="" checked={choice === ""} onChange={() => setChoice("")} />
            <span>
              <strong>No policy</strong>
              <span className="hint-line block">Only the instance-wide settings apply.</span>
            </span>
          </label>
          {props.policies.map((p) => (
            <label key={p.id} className="check">
              <input type="radio" name="policy" value={p.id} checked={choice === p.id} onChange={() => setChoice(p.id)} />
              <span>
                <strong>{p.name}</strong>
                <span className="hint-line block">
                  {p.rules.length} rule{p.rules.length === 1 ? "" : "s"}
                </span>
              </span>
            </label>
          ))}
        </fieldset>
        {props.policies.length === 0 ? <p className="hint-line">You have no policies yet.</p> : null}
        <p className="hint-line">
          <Link to="/policies">Write a policy</Link> with ALLOW, REQUIRE CONFIRM and DENY rules.
        </p>
        {error ? (
          <div className="banner error" role="alert">
            {(error as Error).message}
          </div>
        ) : null}
        <div className="row end">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Saving…" : "Save policy"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
