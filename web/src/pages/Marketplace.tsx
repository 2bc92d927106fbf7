// Marketplace: the template gallery, and the deploy form (instance, name, model, policy).
import { type FormEvent, useState } from "react";
import { type Agent, ApiError, get, type Instance, post } from "../api.ts";
import { listInstances, listPolicies, type ModelPreset, type Policy, type Skill, type Template, type UserSettings } from "../components/catalog.ts";
import { Dialog } from "../components/Dialog.tsx";
import { Icon } from "../components/icons.tsx";
import { Empty, ErrorBanner, Field, fieldError, Loading, useLoad } from "../components/ui.tsx";
import { Link, navigate, useQuery } from "../router.tsx";
import "./marketplace.css";

const CHANNEL: Record<string, string> = { webchat: "Web chat", whatsapp: "WhatsApp", telegram: "Telegram" };

export function MarketplacePage() {
  const query = useQuery();
  const templates = useLoad(() => get<{ items: Template[] }>("/api/v1/marketplace/templates").then((r) => r.items), []);
  const [deploying, setDeploying] = useState<Template | null>(null);
  const skills = useLoad(() => get<{ items: Skill[] }>("/api/v1/marketplace/skills").then((r) => r.items), []);
  const skillName = (slug: string) => skills.data?.find((k) => k.slug === slug)?.name ?? slug;
  return (
    <div className="page market-page">
      <div className="page-head">
        <div>
          <h1>Marketplace</h1>
          <p className="muted lede">Agent templates, ready to deploy onto one of your instances. Each comes with a suggested policy.</p>
        </div>
      </div>
      <ErrorBanner error={templates.error} onRetry={() => void templates.reload()} />
      {!templates.data ? (
        templates.error ? null : (
          <Loading what="templates" />
        )
      ) : templates.data.length === 0 ? (
        <Empty title="No templates">
          <p>This Tropic has no agent templates installed.</p>
        </Empty>
      ) : (
        <div className="grid templates">
          {templates.data.map((t) => (
            <section key={t.id} className="card template" aria-labelledby={`tpl-${t.id}`} data-template={t.id}>
              <div className="template-head">
                <span className="template-icon">
                  <Icon name={t.icon} size={28} />
                </span>
                <div>
                  <h2 id={`tpl-${t.id}`}>{t.name}</h2>
                  {t.tagline ? <p className="tagline">{t.tagline}</p> : null}
                </div>
              </div>
              <p className="template-desc">{t.description}</p>
              <div className="row tags">
                {t.category ? <span className="tag">{t.category}</span> : null}
                {(t.channels ?? []).map((c) => (
                  <span key={c} className="tag">
                    {CHANNEL[c] ?? c}
                  </span>
                ))}
              </div>
              {t.suggestedSkills?.length ? <p className="hint-line">Works well with: {t.suggestedSkills.map(skillName).join(", ")}</p> : null}
              <button type="button" className="primary deploy" onClick={() => setDeploying(t)} aria-label={`Deploy ${t.name}`}>
                Deploy
              </button>
            </section>
          ))}
        </div>
      )}
      {deploying ? <DeployDialog template={deploying} preferredInstance={query.get("instance")} onClose={() => setDeploying(null)} /> : null}
    </div>
  );
}

interface DeployData {
  instances: Instance[];
  models: ModelPreset[];
  settings: UserSettings | null;
  policies: Policy[];
}

function DeployDialog({ template, preferredInstance, onClose }: { template: Template; preferredInstance: string | null; onClose: () => void }) {
  const data = useLoad<DeployData>(async () => {
    const [instances, models, settings, policies] = await Promise.all([
      listInstances(),
      get<{ items: ModelPreset[] }>("/api/v1/marketplace/models").then((r) => r.items),
      get<UserSettings>("/api/v1/settings").catch(() => null),
      listPolicies(),
    ]);
    return { instances: instances.filter((i) => i.state !== "deleting"), models, settings, policies };
  }, []);
  return (
    <Dialog title={`Deploy ${template.name}`} onClose={onClose}>
      <ErrorBanner error={data.error} onRetry={() => void data.reload()} />
      {!data.data ? (
        data.error ? null : (
          <Loading what="your instances" />
        )
      ) : data.data.instances.length === 0 ? (
        <div className="stack">
          <p>You need an instance to deploy onto: your own OpenClaw gateway that runs the agent.</p>
          <p>
            <Link to="/agents">Add an instance on the Agents page</Link>, then come back here.
          </p>
        </div>
      ) : (
        <DeployForm template={template} data={data.data} preferredInstance={preferredInstance} onClose={onClose} />
      )}
    </Dialog>
  );
}

function customModelId(s: UserSettings | null): string | null {
  return s?.customModel ? `${s.customModel.provider}/${s.customModel.modelId}` : null;
}

function DeployForm(props: { template: Template; data: DeployData; preferredInstance: string | null; onClose: () => void }) {
  const { template, data } = props;
  const custom = customModelId(data.settings);
  const initialModel =
    data.settings?.model === "custom" && custom ? custom : (data.models.find((m) => m.id === template.defaultModel)?.id ?? data.models[0]?.id ?? "");
  const [instanceId, setInstanceId] = useState(
    data.instances.find((i) => i.id === props.preferredInstance)?.id ??
      data.instances.find((i) => i.state === "running")?.id ??
      data.instances[0]!.id,
  );
  const [name, setName] = useState(template.name);
  const [model, setModel] = useState(initialModel);
  const [policyId, setPolicyId] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const chosen = data.instances.find((i) => i.id === instanceId);
  // An Agent37 machine chooses its models and holds its keys itself: no model to pick here.
  const agent37 = chosen?.host?.agent37 === true;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const agent = await post<Agent>("/api/v1/agents", {
        instanceId,
        templateId: template.id,
        name: name.trim(),
        ...(model && !agent37 ? { model } : {}),
        policyId: policyId || null,
      });
      props.onClose();
      navigate(`/agents?deployed=${agent.id}&name=${encodeURIComponent(agent.name)}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const known = ["instanceId", "name", "model", "policyId", "slug"];
  const general =
    error instanceof ApiError ? (known.includes(error.field ?? "") && error.field !== "slug" ? null : error.message) : error ? String(error) : null;
  const slugError = fieldError(error, "slug");

  return (
    <form onSubmit={submit} noValidate className="deploy-form">
      <p className="muted small-text">{template.tagline ?? template.description}</p>
      <Field
        label="Instance"
        error={fieldError(error, "instanceId")}
        hint={
          chosen && chosen.state !== "running"
            ? "This instance is not running: the agent is deployed when it starts."
            : "At most 5 agents run on one instance at a time."
        }
      >
        {(id, d) => (
          <select id={id} aria-describedby={d} value={instanceId} onChange={(e) => setInstanceId(e.target.value)}>
            {data.instances.map((i) => (
              <option key={i.id} value={i.id}>
                {i.name} ({i.state})
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Name" error={fieldError(error, "name") ?? slugError}>
        {(id, d) => <input id={id} aria-describedby={d} maxLength={80} required value={name} onChange={(e) => setName(e.target.value)} />}
      </Field>
      {agent37 ? (
        <p className="hint-line" data-testid="agent37-model">
          Model: chosen on Agent37 (this instance is an Agent37 machine; its models and API keys are managed there).
        </p>
      ) : (
        <Field
          label="Model"
          error={fieldError(error, "model")}
          hint={
            custom ? undefined : (
              <>
                Want another provider? Set a custom model in <Link to="/settings">Settings</Link>.
              </>
            )
          }
        >
          {(id, d) => (
            <select id={id} aria-describedby={d} value={model} onChange={(e) => setModel(e.target.value)}>
              {custom ? <option value={custom}>Your custom model ({custom})</option> : null}
              {data.models.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name}
                  {m.creditsPerHour !== undefined ? ` (${m.creditsPerHour} credits/h on Tropic's key)` : ""}
                </option>
              ))}
            </select>
          )}
        </Field>
      )}
      <Field
        label="Policy"
        error={fieldError(error, "policyId")}
        hint={
          <>
            What the agent may do, must ask you about, or may never do. <Link to="/policies">Write a policy</Link>.
          </>
        }
      >
        {(id, d) => (
          <select id={id} aria-describedby={d} value={policyId} onChange={(e) => setPolicyId(e.target.value)}>
            <option value="">No policy</option>
            {data.policies.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      {general ? (
        <div className="banner error" role="alert">
          {general}
        </div>
      ) : null}
      <div className="row end">
        <button type="button" onClick={props.onClose}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={busy || !name.trim()}>
          {busy ? "Deploying…" : "Deploy agent"}
        </button>
      </div>
    </form>
  );
}
