// Settings, as in the product docs: Credentials (write-only), Command blacklist, Spending and runtime
// limits, Model, SSH access (allowlist, rotation, the key) and Restrict phone numbers. Each section
// saves on its own (PATCH /api/v1/settings) and shows "Saved" or the server's error on its field.
import { type FormEvent, type ReactNode, useEffect, useId, useMemo, useState } from "react";
import { ApiError, del, get, patch, post, put } from "../api.ts";
import type { Credential, Credentials } from "../components/catalog.ts";
import { ConfirmDialog } from "../components/confirm-dialog.tsx";
import { GoogleConnectionCard } from "../components/Connections.tsx";
import { LineEditor } from "../components/line-editor.tsx";
import { parsePatterns } from "../components/phone-pattern.ts";
import { ErrorBanner, Field, Loading, timeAgo, useLoad } from "../components/ui.tsx";
import { Link } from "../router.tsx";
import "./settings.css";

interface Settings {
  blockBrowser: boolean;
  blockCodeExecution: boolean;
  blockOsCommands: boolean;
  dailyCreditCap: number | null;
  maxSessionMinutes: number | null;
  model: string;
  customModel: { provider: string; modelId: string; baseUrl?: string } | null;
  defaultInstanceType: string;
  sshAllowlist: string[];
  sshRotationDays: number;
  phoneMode: string;
  phonePatterns: string[];
  updatedAt: string;
}
interface ModelPreset {
  id: string;
  name: string;
  provider: string;
  modelId: string;
  creditsPerHour: number;
  default?: boolean;
  description?: string;
}
interface SshKey {
  id: string;
  fingerprint: string;
  publicKey: string;
  createdAt: string;
  rotationDays: number;
  nextRotationAt: string;
}

const MODEL_KEY = "ANTHROPIC_API_KEY";

/** The server's message for one field (exactly that field), without the "field: " prefix schema errors carry. */
function errorOn(e: unknown, field: string): string | null {
  if (!(e instanceof ApiError) || e.field !== field) return null;
  return e.message.startsWith(`${field}: `) ? e.message.slice(field.length + 2) : e.message;
}
/** The error when it is about none of the given fields (shown as a banner in the section). */
function otherError(e: unknown, fields: string[]): Error | null {
  if (!e) return null;
  if (e instanceof ApiError && e.field && fields.some((f) => e.field === f || e.field!.startsWith(`${f}.`))) return null;
  return e as Error;
}
/** The index N of a "<prefix>.N" field. */
function indexOf(e: unknown, prefix: string): number | null {
  if (!(e instanceof ApiError) || !e.field?.startsWith(`${prefix}.`)) return null;
  const n = Number(e.field.slice(prefix.length + 1).split(".")[0]);
  return Number.isInteger(n) ? n : null;
}
function fmtDate(iso: string): string {
  return new Date(iso).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

/** One section's save: PATCH, then "Saved" until the next edit, or the server's error. */
function useSectionSave(onSaved: (s: Settings) => void) {
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const save = async (body: Partial<Settings>) => {
    setBusy(true);
    setSaved(false);
    setError(null);
    try {
      onSaved(await patch<Settings>("/api/v1/settings", body));
      setSaved(true);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const edited = () => {
    setSaved(false);
    setError(null);
  };
  return { busy, saved, error, save, edited, setError };
}

function Section(props: { id: string; title: string; intro?: ReactNode; children: ReactNode }) {
  return (
    <section className="card settings-section" id={props.id} aria-labelledby={`${props.id}-h`}>
      <h2 id={`${props.id}-h`}>{props.title}</h2>
      {props.intro ? <div className="muted section-intro">{props.intro}</div> : null}
      {props.children}
    </section>
  );
}

function SaveRow(props: { busy: boolean; saved: boolean; disabled?: boolean; label?: string; error?: Error | null }) {
  return (
    <>
      <ErrorBanner error={props.error} />
      <div className="save-row">
        <button type="submit" className="primary" disabled={props.busy || props.disabled}>
          {props.busy ? "Saving…" : (props.label ?? "Save")}
        </button>
        <span className="save-status" role="status" aria-live="polite">
          {props.saved ? "✓ Saved" : ""}
        </span>
      </div>
    </>
  );
}

export function SettingsPage(_props: { instanceId?: string }) {
  const settings = useLoad(() => get<Settings>("/api/v1/settings"));
  const s = settings.data;
  const onSaved = (n: Settings) => settings.setData(n);
  // Arriving at /settings#credentials (from Chat, say): that section, once the page is drawn (again
  // when the settings arrive: the sections below Credentials appear then).
  const loaded = s !== undefined;
  useEffect(() => {
    const id = loaded !== null ? location.hash.slice(1) : "";
    if (id) document.getElementById(id)?.scrollIntoView({ block: "start" });
  }, [loaded]);
  const custom = s?.model === "custom" && s.customModel ? `${s.customModel.provider}/${s.customModel.modelId}` : null;
  return (
    <div className="page settings-page">
      <div className="page-head">
        <h1>Settings</h1>
      </div>
      <nav className="settings-toc" aria-label="Settings sections">
        <a href="#credentials">Credentials</a>
        <a href="#blacklist">Command blacklist</a>
        <a href="#limits">Limits</a>
        <a href="#model">Model</a>
        <a href="#ssh">SSH access</a>
        <a href="#phones">Phone numbers</a>
        <a href="#connections">Connections</a>
      </nav>
      <ErrorBanner error={settings.error} onRetry={settings.reload} />
      <CredentialsSection customModel={custom} />
      {!s && settings.loading ? <Loading what="your settings" /> : null}
      {s ? (
        <>
          <BlacklistSection settings={s} onSaved={onSaved} />
          <LimitsSection settings={s} onSaved={onSaved} />
          <ModelSection settings={s} onSaved={onSaved} />
          <SshSection settings={s} onSaved={onSaved} />
          <PhoneSection settings={s} onSaved={onSaved} />
        </>
      ) : null}
      <Section
        id="connections"
        title="Connections"
        intro="Accounts your instances' skills use. Tropic keeps the lasting access; instances get short-lived tokens."
      >
        <GoogleConnectionCard />
      </Section>
    </div>
  );
}

// ───────────────────────────── Credentials ─────────────────────────────

function CredentialsSection({ customModel }: { customModel: string | null }) {
  const creds = useLoad(() => get<Credentials>("/api/v1/credentials"));
  const platformKey = creds.data?.platformKey;
  const [value, setValue] = useState("");
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [removing, setRemoving] = useState<string | null>(null);
  const claude = creds.data?.items.find((c) => c.name === MODEL_KEY);
  const others = creds.data?.items.filter((c) => c.name !== MODEL_KEY) ?? [];

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!value.trim()) {
      setError(new ApiError(400, "invalid_input", "Paste your Claude API key first.", "value"));
      return;
    }
    setBusy(true);
    setError(null);
    setSaved(null);
    try {
      await put<Credential>(`/api/v1/credentials/${MODEL_KEY}`, { value: value.trim() });
      setValue("");
      setSaved("✓ Saved. Your instances get the new key (running ones now, stopped ones when they start).");
      await creds.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section
      id="credentials"
      title="Credentials"
      intro={
        <>
          Encrypted before they are stored and never shown again: only the last 4 characters.{" "}
          {platformKey === true ? (
            <>
              Add your own Claude API key to pay only the compute cost; model usage then goes to your Anthropic account. See{" "}
              <Link to="/credits">Credits</Link> for the rates.
            </>
          ) : platformKey === false ? (
            "Your agents answer with your own Claude API key; model usage goes to your Anthropic account."
          ) : null}
        </>
      }
    >
      <ErrorBanner error={creds.error} onRetry={creds.reload} />
      {creds.loading && !creds.data ? <Loading what="your credentials" /> : null}
      {creds.data ? (
        <form onSubmit={submit} noValidate className="cred-form">
          <div className="cred-status" data-testid="claude-key-status">
            {claude ? (
              <>
                <span className="badge state-ready">
                  <span className="dot" aria-hidden="true" />
                  Stored
                </span>{" "}
                Claude API key{" "}
                {claude.last4 ? <code className="last4">…{claude.last4}</code> : <span className="muted">(too short to show its end)</span>}
                <span className="muted"> · updated {timeAgo(claude.updatedAt)} ago</span>
              </>
            ) : platformKey ? (
              <span className="muted">No Claude API key stored: your instances use Tropic's key and pay the model rate on top of compute.</span>
            ) : (
              <span className="cred-missing">
                <strong>No model key: add your Claude API key.</strong>{" "}
                {customModel
                  ? `Your custom model ${customModel} (Settings → Model) needs none, but agents on Claude models cannot answer without it.`
                  : "Without it your agents cannot answer: this Tropic has no key of its own."}
              </span>
            )}
          </div>
          <Field
            label={claude ? "Replace Claude API key" : "Claude API key"}
            error={errorOn(error, "value")}
            hint="Starts with sk-ant-. Write-only: it is encrypted and synced to your instances, never displayed."
          >
            {(id, d) => (
              <input
                id={id}
                aria-describedby={d}
                type="password"
                autoComplete="off"
                spellCheck={false}
                placeholder="sk-ant-…"
                value={value}
                onChange={(e) => {
                  setValue(e.target.value);
                  setSaved(null);
                  setError(null);
                }}
              />
            )}
          </Field>
          <ErrorBanner error={otherError(error, ["value"])} />
          <div className="save-row">
            <button type="submit" className="primary" disabled={busy}>
              {busy ? "Saving…" : "Save key"}
            </button>
            {claude ? (
              <button type="button" className="danger" onClick={() => setRemoving(MODEL_KEY)}>
                Remove key
              </button>
            ) : null}
            <span className="save-status" role="status" aria-live="polite">
              {saved ?? ""}
            </span>
          </div>
        </form>
      ) : null}
      {others.length ? (
        <div className="table-wrap other-creds">
          <table>
            <caption className="muted">Other credentials (from skills you installed)</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Ends in</th>
                <th scope="col">Updated</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {others.map((c) => (
                <tr key={c.name}>
                  <td>
                    <code>{c.name}</code>
                  </td>
                  <td>{c.last4 ? <code>…{c.last4}</code> : "—"}</td>
                  <td>{timeAgo(c.updatedAt)} ago</td>
                  <td className="num">
                    <button type="button" className="small danger" onClick={() => setRemoving(c.name)} aria-label={`Remove ${c.name}`}>
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {removing ? (
        <ConfirmDialog
          title={removing === MODEL_KEY ? "Remove your Claude API key?" : `Remove ${removing}?`}
          confirmLabel="Remove"
          danger
          onCancel={() => setRemoving(null)}
          onConfirm={async () => {
            await del(`/api/v1/credentials/${encodeURIComponent(removing)}`);
            setRemoving(null);
            setSaved(null);
            await creds.reload();
          }}
        >
          {removing === MODEL_KEY ? (
            <p>
              {platformKey
                ? "Your instances switch to Tropic's key and pay the model rate on top of compute."
                : "Your instances are left without a model key: agents on Claude models stop answering until you add one again."}
            </p>
          ) : (
            <p>The skill that uses it stops working until you enter it again.</p>
          )}
        </ConfirmDialog>
      ) : null}
    </Section>
  );
}

// ───────────────────────────── Command blacklist ─────────────────────────────

const TOGGLES = [
  { key: "blockBrowser", label: "Browser Search", desc: "Restricts web browsing (Chrome, Chromium)" },
  { key: "blockCodeExecution", label: "Code Execution", desc: "Restricts Python/Node scripts and dev tools" },
  { key: "blockOsCommands", label: "OS Commands", desc: "Restricts shell access and file system commands" },
] as const;
type ToggleKey = (typeof TOGGLES)[number]["key"];

function BlacklistSection({ settings, onSaved }: { settings: Settings; onSaved: (s: Settings) => void }) {
  const [v, setV] = useState<Record<ToggleKey, boolean>>({
    blockBrowser: settings.blockBrowser,
    blockCodeExecution: settings.blockCodeExecution,
    blockOsCommands: settings.blockOsCommands,
  });
  const s = useSectionSave(onSaved);
  const id = useId();
  const dirty = TOGGLES.some((t) => v[t.key] !== settings[t.key]);
  return (
    <Section
      id="blacklist"
      title="Command blacklist"
      intro="Control what your agent can execute. Each toggle restricts a category of commands. Toggles are off by default (all commands allowed); the change reaches running instances without a restart."
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void s.save(v);
        }}
      >
        <ul className="toggles">
          {TOGGLES.map((t) => (
            <li key={t.key}>
              <label className="switch" htmlFor={`${id}-${t.key}`}>
                <input
                  id={`${id}-${t.key}`}
                  type="checkbox"
                  role="switch"
                  aria-checked={v[t.key]}
                  checked={v[t.key]}
                  aria-describedby={`${id}-${t.key}-d`}
                  onChange={(e) => {
                    setV({ ...v, [t.key]: e.target.checked });
                    s.edited();
                  }}
                />
                <span className="track" aria-hidden="true">
                  <span className="thumb" />
                </span>
                <span className="switch-text">
                  <span className="switch-label">{t.label}</span>
                  <span className="switch-state">{v[t.key] ? "Blocked" : "Allowed"}</span>
                </span>
              </label>
              <div className="muted toggle-desc" id={`${id}-${t.key}-d`}>
                When enabled: {t.desc}.
              </div>
              {errorOn(s.error, t.key) ? (
                <div className="field-error" role="alert">
                  {errorOn(s.error, t.key)}
                </div>
              ) : null}
            </li>
          ))}
        </ul>
        <SaveRow
          busy={s.busy}
          saved={s.saved}
          disabled={!dirty}
          error={otherError(
            s.error,
            TOGGLES.map((t) => t.key),
          )}
        />
      </form>
    </Section>
  );
}

// ───────────────────────────── Limits ─────────────────────────────

/** "" → null (no limit); a whole number → that number; anything else → a message. */
function parseLimit(text: string): number | null | string {
  const t = text.trim().replace(/[,_\s]/g, "");
  if (!t) return null;
  if (!/^\d+$/.test(t)) return "must be a whole number (or empty for no limit)";
  return Number(t);
}

function LimitsSection({ settings, onSaved }: { settings: Settings; onSaved: (s: Settings) => void }) {
  const [cap, setCap] = useState(settings.dailyCreditCap?.toString() ?? "");
  const [mins, setMins] = useState(settings.maxSessionMinutes?.toString() ?? "");
  const s = useSectionSave(onSaved);
  const capV = parseLimit(cap);
  const minsV = parseLimit(mins);
  const [tried, setTried] = useState(false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (typeof capV === "string" || typeof minsV === "string") return;
    void s.save({ dailyCreditCap: capV, maxSessionMinutes: minsV });
  };
  const capErr = (typeof capV === "string" && (tried || cap.trim()) ? capV : null) ?? errorOn(s.error, "dailyCreditCap");
  const minsErr = (typeof minsV === "string" && (tried || mins.trim()) ? minsV : null) ?? errorOn(s.error, "maxSessionMinutes");
  return (
    <Section
      id="limits"
      title="Spending and runtime limits"
      intro="Once a limit is hit, your instances pause until you resume them (or, for the daily cap, until the next day). A session limit is recommended unless you're actively testing, so a runaway agent can't loop forever."
    >
      <form onSubmit={submit} noValidate>
        <div className="two-col">
          <Field label="Daily credit cap" error={capErr} hint="Credits per day, 1 to 1,000,000. Empty: no limit.">
            {(id, d) => (
              <input
                id={id}
                aria-describedby={d}
                aria-invalid={capErr ? "true" : undefined}
                inputMode="numeric"
                placeholder="No limit"
                value={cap}
                onChange={(e) => {
                  setCap(e.target.value);
                  s.edited();
                }}
              />
            )}
          </Field>
          <Field label="Max session runtime (minutes)" error={minsErr} hint="5 to 10,080 minutes (a week). Empty: no limit.">
            {(id, d) => (
              <input
                id={id}
                aria-describedby={d}
                aria-invalid={minsErr ? "true" : undefined}
                inputMode="numeric"
                placeholder="No limit"
                value={mins}
                onChange={(e) => {
                  setMins(e.target.value);
                  s.edited();
                }}
              />
            )}
          </Field>
        </div>
        <SaveRow busy={s.busy} saved={s.saved} error={otherError(s.error, ["dailyCreditCap", "maxSessionMinutes"])} />
      </form>
    </Section>
  );
}

// ───────────────────────────── Model ─────────────────────────────

function ModelSection({ settings, onSaved }: { settings: Settings; onSaved: (s: Settings) => void }) {
  const models = useLoad(() => get<{ items: ModelPreset[] }>("/api/v1/marketplace/models"));
  const [model, setModel] = useState(settings.model);
  const [provider, setProvider] = useState(settings.customModel?.provider ?? "");
  const [modelId, setModelId] = useState(settings.customModel?.modelId ?? "");
  const [baseUrl, setBaseUrl] = useState(settings.customModel?.baseUrl ?? "");
  const s = useSectionSave(onSaved);
  const name = useId();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (model !== "custom") return void s.save({ model });
    void s.save({
      model: "custom",
      customModel: { provider: provider.trim(), modelId: modelId.trim(), ...(baseUrl.trim() ? { baseUrl: baseUrl.trim() } : {}) },
    });
  };
  const edit =
    <T,>(set: (v: T) => void) =>
    (v: T) => {
      set(v);
      s.edited();
    };
  return (
    <Section
      id="model"
      title="Model"
      intro="Pick a preset or enter a custom provider and model id. This applies to all conversations on your instances."
    >
      <ErrorBanner error={models.error} onRetry={models.reload} />
      {models.loading && !models.data ? <Loading what="the models" /> : null}
      {models.data ? (
        <form onSubmit={submit} noValidate>
          <fieldset className="choices">
            <legend className="sr-only">Model</legend>
            {models.data.items.map((m) => (
              <label key={m.id} className={`choice${model === m.id ? " selected" : ""}`}>
                <input type="radio" name={name} value={m.id} checked={model === m.id} onChange={() => edit(setModel)(m.id)} />
                <span>
                  <span className="choice-title">
                    {m.name}
                    {m.default ? <span className="tag">default</span> : null}
                  </span>
                  {m.description ? <span className="muted choice-desc">{m.description}</span> : null}
                  <span className="muted choice-desc">{m.creditsPerHour} credits/hour on top of compute when using Tropic's key</span>
                </span>
              </label>
            ))}
            <label className={`choice${model === "custom" ? " selected" : ""}`}>
              <input type="radio" name={name} value="custom" checked={model === "custom"} onChange={() => edit(setModel)("custom")} />
              <span>
                <span className="choice-title">Custom provider and model</span>
                <span className="muted choice-desc">Any provider OpenClaw supports, or an OpenAI-compatible endpoint.</span>
              </span>
            </label>
          </fieldset>
          {errorOn(s.error, "model") ? (
            <div className="field-error" role="alert">
              {errorOn(s.error, "model")}
            </div>
          ) : null}
          {model === "custom" ? (
            <div className="custom-model">
              <div className="two-col">
                <Field label="Provider" error={errorOn(s.error, "customModel.provider")} hint="A slug like openai or my-llm.">
                  {(id, d) => (
                    <input id={id} aria-describedby={d} value={provider} autoComplete="off" onChange={(e) => edit(setProvider)(e.target.value)} />
                  )}
                </Field>
                <Field label="Model id" error={errorOn(s.error, "customModel.modelId")} hint="Like gpt-5 or llama-3.3-70b.">
                  {(id, d) => (
                    <input id={id} aria-describedby={d} value={modelId} autoComplete="off" onChange={(e) => edit(setModelId)(e.target.value)} />
                  )}
                </Field>
              </div>
              <Field
                label="Base URL (optional)"
                error={errorOn(s.error, "customModel.baseUrl") ?? errorOn(s.error, "customModel")}
                hint="For an OpenAI-compatible or self-hosted endpoint, e.g. https://llm.example.com/v1."
              >
                {(id, d) => (
                  <input
                    id={id}
                    aria-describedby={d}
                    type="url"
                    value={baseUrl}
                    autoComplete="off"
                    onChange={(e) => edit(setBaseUrl)(e.target.value)}
                  />
                )}
              </Field>
            </div>
          ) : null}
          <SaveRow
            busy={s.busy}
            saved={s.saved}
            error={otherError(s.error, ["model", "customModel"])}
            disabled={model === "custom" && (!provider.trim() || !modelId.trim())}
          />
        </form>
      ) : null}
    </Section>
  );
}

// ───────────────────────────── SSH access ─────────────────────────────

function SshSection({ settings, onSaved }: { settings: Settings; onSaved: (s: Settings) => void }) {
  const [list, setList] = useState(settings.sshAllowlist.join("\n"));
  const [days, setDays] = useState(settings.sshRotationDays);
  const [suggestError, setSuggestError] = useState<string | null>(null);
  const key = useLoad(() => get<SshKey>("/api/v1/ssh-key"));
  const [rotating, setRotating] = useState(false);
  const [rotated, setRotated] = useState<string | null>(null);
  const s = useSectionSave((n) => {
    onSaved(n);
    setList(n.sshAllowlist.join("\n"));
    void key.reload();
  });
  const editorId = useId();
  const errId = `${editorId}-err`;
  const hintId = `${editorId}-hint`;
  const entries = useMemo(
    () =>
      list
        .split("\n")
        .map((raw, i) => ({ entry: raw.trim(), line: i + 1 }))
        .filter((x) => x.entry),
    [list],
  );
  const badIndex = indexOf(s.error, "sshAllowlist");
  const badLine = badIndex !== null ? entries[badIndex]?.line : undefined;
  const listErr = errorOn(s.error, "sshAllowlist") ?? (s.error instanceof ApiError && badIndex !== null ? s.error.message : null);

  const fillMyIp = async () => {
    setSuggestError(null);
    try {
      const r = await get<{ ip: string; cidr: string }>("/api/v1/settings/ssh-allowlist/suggestion");
      if (!entries.some((x) => x.entry === r.cidr || x.entry === r.ip)) setList((l) => (l.trim() ? `${l.replace(/\n+$/, "")}\n${r.cidr}` : r.cidr));
      s.edited();
    } catch (e) {
      setSuggestError((e as Error).message);
    }
  };

  return (
    <Section
      id="ssh"
      title="SSH access"
      intro="SSH (port 22) to your cloud instances is allowed only from these addresses. Your current IP is detected when an instance is provisioned; update the list here whenever you need to."
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void s.save({ sshAllowlist: entries.map((x) => x.entry), sshRotationDays: days });
        }}
        noValidate
      >
        <div className={`field${listErr ? " has-error" : ""}`}>
          <label htmlFor={editorId}>Allowed IP addresses and CIDR blocks</label>
          <LineEditor
            id={editorId}
            value={list}
            minRows={4}
            onChange={(v) => {
              setList(v);
              s.edited();
            }}
            errorLines={new Set(badLine ? [badLine] : [])}
            describedBy={[hintId, listErr ? errId : ""].filter(Boolean).join(" ")}
            placeholder={"203.0.113.7\n198.51.100.0/24"}
          />
          <div className="hint" id={hintId}>
            One a line, like 203.0.113.7, 203.0.113.0/24 or 2001:db8::/32. Empty: SSH is closed to everyone.
          </div>
          {listErr ? (
            <div className="field-error" id={errId} role="alert">
              {badLine ? `line ${badLine}: ` : ""}
              {listErr}
            </div>
          ) : null}
          <div className="row use-ip">
            <button type="button" className="small" onClick={() => void fillMyIp()}>
              Use my current IP
            </button>
            {suggestError ? (
              <span className="field-error" role="alert">
                {suggestError}
              </span>
            ) : null}
          </div>
        </div>
        <Field label="Key rotation period" error={errorOn(s.error, "sshRotationDays")} hint="Your SSH key is replaced automatically this often.">
          {(id, d) => (
            <select
              id={id}
              aria-describedby={d}
              className="narrow"
              value={days}
              onChange={(e) => {
                setDays(Number(e.target.value));
                s.edited();
              }}
            >
              <option value={30}>Every 30 days</option>
              <option value={60}>Every 60 days</option>
              <option value={90}>Every 90 days (default)</option>
            </select>
          )}
        </Field>
        <SaveRow busy={s.busy} saved={s.saved} error={otherError(s.error, ["sshAllowlist", "sshRotationDays"])} />
      </form>
      <div className="ssh-key">
        <h3>Your SSH key</h3>
        <ErrorBanner error={key.error} onRetry={key.reload} />
        {key.loading && !key.data ? <Loading what="your SSH key" /> : null}
        {key.data ? (
          <>
            <dl className="facts">
              <dt>Fingerprint</dt>
              <dd>
                <code data-testid="ssh-fingerprint">{key.data.fingerprint}</code>
              </dd>
              <dt>Created</dt>
              <dd>{fmtDate(key.data.createdAt)}</dd>
              <dt>Next rotation</dt>
              <dd>
                {fmtDate(key.data.nextRotationAt)} (every {key.data.rotationDays} days)
              </dd>
            </dl>
            {rotated ? (
              <div className="banner ok" role="status">
                {rotated}
              </div>
            ) : null}
            <div className="row">
              <a className="button" href="/api/v1/ssh-key/private" download="tropic-vm-key.pem">
                Download SSH key
              </a>
              <button type="button" onClick={() => setRotating(true)}>
                Rotate now
              </button>
            </div>
            <p className="muted small-text">
              Then: <code>chmod 600 tropic-vm-key.pem</code> and <code>ssh -i tropic-vm-key.pem ubuntu@your-vm-ip</code>.
            </p>
          </>
        ) : null}
      </div>
      {rotating ? (
        <ConfirmDialog
          title="Rotate your SSH key now?"
          confirmLabel="Rotate key"
          danger
          onCancel={() => setRotating(false)}
          onConfirm={async () => {
            const r = await post<SshKey & { pushedTo: number }>("/api/v1/ssh-key/rotate");
            key.setData(r);
            setRotating(false);
            setRotated(
              `New key created (${r.fingerprint}) and sent to ${r.pushedTo} instance${r.pushedTo === 1 ? "" : "s"}. Download it again: the old key no longer works.`,
            );
          }}
        >
          <p>A new key pair is created and pushed to all your instances. The old private key stops working: you will need to download the new one.</p>
        </ConfirmDialog>
      ) : null}
    </Section>
  );
}

// ───────────────────────────── Phone numbers ─────────────────────────────

const PHONE_MODES = [
  { id: "unrestricted", label: "Unrestricted", desc: "The agent can message anyone. Probably not what you want in production." },
  { id: "allowlist", label: "Allowlist", desc: "Only numbers matching your patterns. Start here." },
  { id: "blocklist", label: "Blocklist", desc: "Everyone except numbers on the list." },
] as const;

function PhoneSection({ settings, onSaved }: { settings: Settings; onSaved: (s: Settings) => void }) {
  const [mode, setMode] = useState(settings.phoneMode);
  const [text, setText] = useState(settings.phonePatterns.join("\n"));
  const s = useSectionSave((n) => {
    onSaved(n);
    setText(n.phonePatterns.join("\n"));
  });
  const name = useId();
  const editorId = useId();
  const errId = `${editorId}-err`;
  const hintId = `${editorId}-hint`;
  const parsed = useMemo(() => parsePatterns(text), [text]);
  const local = parsed.filter((p) => p.problem);
  const serverIndex = indexOf(s.error, "phonePatterns");
  const serverLine = serverIndex !== null ? parsed[serverIndex]?.line : undefined;
  const serverMsg = errorOn(s.error, "phonePatterns") ?? (s.error instanceof ApiError && serverIndex !== null ? s.error.message : null);
  const emptyAllowlist = mode === "allowlist" && parsed.length === 0;
  const errorLines = new Set([...local.map((p) => p.line), ...(serverLine ? [serverLine] : [])]);
  const messages = [
    ...local.map((p) => `line ${p.line}: ${p.problem}`),
    ...(serverMsg ? [`${serverLine ? `line ${serverLine}: ` : ""}${serverMsg}`] : []),
  ];

  return (
    <Section
      id="phones"
      title="Restrict phone numbers"
      intro="Who your agent may message on phone channels (WhatsApp, SMS, Signal…). Numbers use E.164 format; a trailing * is a wildcard."
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (local.length || emptyAllowlist) return;
          void s.save({ phoneMode: mode, phonePatterns: parsed.map((p) => p.pattern) });
        }}
        noValidate
      >
        <fieldset className="choices">
          <legend>Mode</legend>
          {PHONE_MODES.map((m) => (
            <label key={m.id} className={`choice${mode === m.id ? " selected" : ""}`}>
              <input
                type="radio"
                name={name}
                value={m.id}
                checked={mode === m.id}
                onChange={() => {
                  setMode(m.id);
                  s.edited();
                }}
              />
              <span>
                <span className="choice-title">{m.label}</span>
                <span className="muted choice-desc">{m.desc}</span>
              </span>
            </label>
          ))}
        </fieldset>
        {errorOn(s.error, "phoneMode") ? (
          <div className="field-error" role="alert">
            {errorOn(s.error, "phoneMode")}
          </div>
        ) : null}
        {mode === "allowlist" ? (
          <div className="banner info" role="note">
            If you're using allowlist mode, you probably want to add your own number first before testing.
          </div>
        ) : null}
        <div className={`field${messages.length || emptyAllowlist ? " has-error" : ""}`}>
          <label htmlFor={editorId}>Patterns</label>
          <LineEditor
            id={editorId}
            value={text}
            minRows={4}
            onChange={(v) => {
              setText(v);
              s.edited();
            }}
            errorLines={errorLines}
            describedBy={[hintId, messages.length || emptyAllowlist ? errId : ""].filter(Boolean).join(" ")}
            placeholder={"+6591234567\n+65*"}
          />
          <div className="hint" id={hintId}>
            One a line: <code>+6591234567</code> (exact), <code>+65*</code> (all Singapore numbers), <code>+1415*</code> (San Francisco),{" "}
            <code>+44*</code> (UK).
            {mode === "unrestricted" ? " Patterns are kept but not used in unrestricted mode." : ""}
          </div>
          {messages.length || emptyAllowlist ? (
            <div className="field-error" id={errId} role="alert">
              {messages.map((m) => (
                <div key={m}>{m}</div>
              ))}
              {emptyAllowlist ? <div>Allowlist mode needs at least one pattern (add your own number first).</div> : null}
            </div>
          ) : null}
        </div>
        <SaveRow
          busy={s.busy}
          saved={s.saved}
          disabled={local.length > 0 || emptyAllowlist}
          error={otherError(s.error, ["phoneMode", "phonePatterns"])}
        />
      </form>
    </Section>
  );
}
