// Policies: the user's plain-text policies (ALLOW / REQUIRE CONFIRM / DENY), an editor that checks
// every line as you type (errors on their line numbers, the compiler's explanation per rule), save,
// delete, and which agents each policy is attached to.
import { type FormEvent, useCallback, useEffect, useId, useMemo, useRef, useState } from "react";
import { type Agent, ApiError, del, get, type Page, patch, post, put } from "../api.ts";
import { ConfirmDialog } from "../components/confirm-dialog.tsx";
import { LineEditor } from "../components/line-editor.tsx";
import { Empty, ErrorBanner, Field, fieldError, Loading, Notice, timeAgo, useLoad } from "../components/ui.tsx";
import { Link } from "../router.tsx";
import "./policies.css";

interface Rule {
  id: string;
  line: number;
  effect: string;
  text: string;
  explanation: string;
}
interface Policy {
  id: string;
  name: string;
  text: string;
  version: number;
  mode: string;
  rules: Rule[];
  createdAt: string;
  updatedAt: string;
}
interface LineError {
  line: number;
  message: string;
  suggestions?: string[];
}

/** The seed's example policy (marketplace SEED_POLICY_RULES), offered as a starting template. */
const EXAMPLE_POLICY = [
  "ALLOW: browse any public website",
  "ALLOW: read files in workspace directory",
  "ALLOW: execute code in sandbox environment",
  "REQUIRE CONFIRM: download files larger than 10MB",
  "REQUIRE CONFIRM: send WhatsApp messages",
  "DENY: access /etc/passwd or system credentials",
  "DENY: run sudo or elevated commands",
  "DENY: outbound connections on port 22",
].join("\n");

const EFFECT_TEXT: Record<string, string> = { allow: "ALLOW", confirm: "REQUIRE CONFIRM", deny: "DENY" };

/** The per-line errors of a refused policy (validate, create and update all answer the same way). */
function lineErrors(e: unknown): LineError[] | null {
  if (!(e instanceof ApiError) || e.field !== "text") return null;
  const errors = (e.details as { errors?: LineError[] } | undefined)?.errors;
  return Array.isArray(errors) ? errors : [{ line: 0, message: e.message }];
}

type Editing = { kind: "new"; template: string } | { kind: "existing"; id: string } | null;

export function PoliciesPage(_props: { instanceId?: string }) {
  const list = useLoad(() => get<Page<Policy>>("/api/v1/policies?limit=100"));
  const agents = useLoad(() => get<Page<Agent>>("/api/v1/agents?limit=100"));
  const [editing, setEditing] = useState<Editing>(null);
  const [flash, setFlash] = useState<string | null>(null);
  const policies = list.data?.items ?? [];

  // Open the first policy when the list first arrives; an open policy that is gone closes.
  const opened = useRef(false);
  useEffect(() => {
    if (!list.data) return;
    if (!opened.current) {
      opened.current = true;
      if (list.data.items[0]) setEditing((e) => e ?? { kind: "existing", id: list.data!.items[0]!.id });
    } else if (editing?.kind === "existing" && !list.data.items.some((p) => p.id === editing.id)) setEditing(null);
  }, [list.data, editing]);

  const current = editing?.kind === "existing" ? policies.find((p) => p.id === editing.id) : undefined;
  const startNew = (template: string) => {
    setFlash(null);
    setEditing({ kind: "new", template });
  };

  return (
    <div className="page policies-page">
      <div className="page-head">
        <h1>Policies</h1>
        {policies.length ? (
          <div className="row">
            <button type="button" className="primary" onClick={() => startNew("")}>
              New policy
            </button>
            <button type="button" onClick={() => startNew(EXAMPLE_POLICY)}>
              New from example
            </button>
          </div>
        ) : null}
      </div>
      <p className="muted intro">
        Guardrails for what an agent may do. One rule a line: <code>ALLOW:</code> runs freely, <code>REQUIRE CONFIRM:</code> waits for your approval,{" "}
        <code>DENY:</code> is blocked. The most restrictive matching rule wins. Each agent can have one policy.
      </p>
      {flash ? <Notice kind="ok">{flash}</Notice> : null}
      <ErrorBanner error={list.error} onRetry={list.reload} />
      {list.loading && !list.data ? <Loading what="your policies" /> : null}
      {list.data && !policies.length && editing === null ? (
        <Empty title="No policies yet">
          <p>
            A policy is a few lines of plain text. Start from the example (browse the web, read the workspace, confirm WhatsApp messages, deny sudo
            and credentials) and adjust it, or start from a blank page.
          </p>
          <div className="row center-row">
            <button type="button" className="primary" onClick={() => startNew(EXAMPLE_POLICY)}>
              Start from the example policy
            </button>
            <button type="button" onClick={() => startNew("")}>
              Start from a blank policy
            </button>
          </div>
        </Empty>
      ) : null}
      {list.data && (policies.length || editing) ? (
        <div className="policies-layout">
          <nav className="card policy-list" aria-label="Your policies">
            <h2>Your policies</h2>
            {policies.length ? (
              <ul>
                {policies.map((p) => {
                  const attached = agents.data?.items.filter((a) => a.policyId === p.id).length ?? 0;
                  const active = editing?.kind === "existing" && editing.id === p.id;
                  return (
                    <li key={p.id}>
                      <button
                        type="button"
                        className={active ? "policy-item active" : "policy-item"}
                        aria-current={active ? "true" : undefined}
                        onClick={() => {
                          setFlash(null);
                          setEditing({ kind: "existing", id: p.id });
                        }}
                      >
                        <span className="policy-name">{p.name}</span>
                        <span className="muted small-text">
                          {p.rules.length} rule{p.rules.length === 1 ? "" : "s"} · v{p.version} · {attached} agent{attached === 1 ? "" : "s"} · edited{" "}
                          {timeAgo(p.updatedAt)} ago
                        </span>
                      </button>
                    </li>
                  );
                })}
              </ul>
            ) : (
              <p className="muted">Nothing saved yet.</p>
            )}
            {editing?.kind === "new" ? <p className="muted small-text">A new policy is open in the editor; save it to add it here.</p> : null}
          </nav>
          <div className="policy-main">
            {editing?.kind === "new" ? (
              <PolicyEditor
                key={`new-${editing.template.length}`}
                initialName={editing.template ? "Example policy" : ""}
                initialText={editing.template}
                onSaved={async (p) => {
                  await list.reload();
                  setFlash(`Saved "${p.name}". Attach it to your agents below.`);
                  setEditing({ kind: "existing", id: p.id });
                }}
                onCancel={() => setEditing(policies[0] ? { kind: "existing", id: policies[0].id } : null)}
              />
            ) : null}
            {current ? (
              <>
                <PolicyEditor
                  key={`${current.id}-${current.version}`}
                  policy={current}
                  initialName={current.name}
                  initialText={current.text}
                  onSaved={async (p) => {
                    await list.reload();
                    setFlash(`Saved "${p.name}" (version ${p.version}). Agents using it get the new rules without a restart.`);
                  }}
                  onDeleted={async () => {
                    setFlash(`Deleted "${current.name}".`);
                    await Promise.all([list.reload(), agents.reload()]);
                  }}
                />
                <AttachToAgents
                  policy={current}
                  policies={policies}
                  agents={agents.data?.items}
                  error={agents.error}
                  reload={agents.reload}
                  onChanged={(a) =>
                    agents.setData((d) => (d ? { ...d, items: d.items.map((x) => (x.id === a.id ? { ...x, policyId: a.policyId } : x)) } : d))
                  }
                />
              </>
            ) : null}
          </div>
        </div>
      ) : null}
    </div>
  );
}

function PolicyEditor(props: {
  policy?: Policy;
  initialName: string;
  initialText: string;
  onSaved: (p: Policy) => Promise<void>;
  onDeleted?: () => Promise<void>;
  onCancel?: () => void;
}) {
  const { policy } = props;
  const [name, setName] = useState(props.initialName);
  const [text, setText] = useState(props.initialText);
  const [check, setCheck] = useState<{
    state: "idle" | "checking" | "ok" | "errors" | "failed";
    rules: Rule[];
    errors: LineError[];
    message?: string;
  }>({ state: "idle", rules: policy?.rules ?? [], errors: [] });
  const [saveError, setSaveError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const seq = useRef(0);
  const editorId = useId();
  const errorsId = `${editorId}-errors`;
  const hintId = `${editorId}-hint`;

  // Live validation: 300 ms after the last keystroke; an answer for older text is dropped.
  useEffect(() => {
    const n = ++seq.current;
    if (!text.trim()) {
      setCheck({ state: "idle", rules: [], errors: [] });
      return;
    }
    setCheck((c) => ({ ...c, state: "checking" }));
    const t = setTimeout(async () => {
      try {
        const r = await post<{ mode: string; rules: Rule[] }>("/api/v1/policies/validate", { text });
        if (n === seq.current) setCheck({ state: "ok", rules: r.rules, errors: [] });
      } catch (e) {
        if (n !== seq.current) return;
        const errs = lineErrors(e);
        if (errs) setCheck({ state: "errors", rules: [], errors: errs });
        else setCheck({ state: "failed", rules: [], errors: [], message: (e as Error).message });
      }
    }, 300);
    return () => clearTimeout(t);
  }, [text]);

  const saveLineErrors = lineErrors(saveError);
  const errors = saveLineErrors ?? check.errors;
  const errorLines = useMemo(() => new Set(errors.map((e) => e.line).filter((l) => l > 0)), [errors]);
  const dirty = name !== props.initialName || text !== props.initialText;

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setSaving(true);
    setSaveError(null);
    try {
      const saved = policy
        ? await put<Policy>(`/api/v1/policies/${policy.id}`, { name, text })
        : await post<Policy>("/api/v1/policies", { name, text });
      await props.onSaved(saved);
    } catch (err) {
      setSaveError(err);
    } finally {
      setSaving(false);
    }
  };
  const generalSaveError = saveError && !fieldError(saveError, "text") && !fieldError(saveError, "name") ? (saveError as Error) : null;

  return (
    <form className="card policy-editor" onSubmit={save} noValidate aria-label={policy ? `Edit policy ${policy.name}` : "New policy"}>
      <div className="spread">
        <h2>{policy ? `Edit “${policy.name}”` : "New policy"}</h2>
        {policy ? <span className="tag">version {policy.version}</span> : null}
      </div>
      <Field label="Name" error={fieldError(saveError, "name")} hint="Shown when you pick a policy for an agent.">
        {(id, d) => (
          <input
            id={id}
            aria-describedby={d}
            value={name}
            maxLength={100}
            placeholder="e.g. Safe browsing"
            onChange={(e) => {
              setName(e.target.value);
              setSaveError(null);
            }}
          />
        )}
      </Field>
      <div className="field">
        <label htmlFor={editorId}>Rules</label>
        <LineEditor
          id={editorId}
          value={text}
          onChange={(v) => {
            setText(v);
            setSaveError(null);
          }}
          errorLines={errorLines}
          describedBy={[hintId, errors.length ? errorsId : ""].filter(Boolean).join(" ")}
          placeholder={"ALLOW: browse any public website\nREQUIRE CONFIRM: send WhatsApp messages\nDENY: run sudo or elevated commands"}
        />
        <div className="hint" id={hintId}>
          One rule a line, starting with <code>ALLOW:</code>, <code>REQUIRE CONFIRM:</code> or <code>DENY:</code>. <code>#</code> starts a comment.
          Optional first line <code>MODE: lockdown</code> denies everything no ALLOW rule names.
        </div>
        <div className="check-status" aria-live="polite">
          {check.state === "checking" ? (
            <span className="muted">Checking…</span>
          ) : errors.length ? (
            <span className="bad-text">
              {errors.length} line{errors.length === 1 ? "" : "s"} to fix before saving
            </span>
          ) : check.state === "ok" ? (
            <span className="ok-text">
              ✓ {check.rules.length} rule{check.rules.length === 1 ? "" : "s"}, all understood
            </span>
          ) : check.state === "failed" ? (
            <span className="bad-text">Could not check the rules: {check.message}</span>
          ) : null}
        </div>
        {errors.length ? (
          <ul className="line-errors" id={errorsId}>
            {errors.map((e) => (
              <li key={`${e.line}-${e.message}`} data-line={e.line}>
                {/^line \d+:/.test(e.message) ? e.message : e.line ? `line ${e.line}: ${e.message}` : e.message}
                {e.suggestions?.length ? (
                  <span className="suggest">
                    {" "}
                    Known phrasings:{" "}
                    {e.suggestions.slice(0, 3).map((s, i) => (
                      <span key={s}>
                        {i ? ", " : ""}
                        <code>{s}</code>
                      </span>
                    ))}
                  </span>
                ) : null}
              </li>
            ))}
          </ul>
        ) : null}
      </div>
      {!errors.length && check.rules.length ? (
        <section aria-label="What each rule does" className="rule-explanations">
          <h3>What each rule does</h3>
          <ol>
            {check.rules.map((r) => (
              <li key={r.id} className="rule-item" data-line={r.line}>
                <span className="rule-line">line {r.line}</span>
                <span className={`effect effect-${r.effect}`}>{EFFECT_TEXT[r.effect] ?? r.effect}</span>
                <span className="rule-text">{r.text}</span>
                <span className="rule-explain">{r.explanation}</span>
              </li>
            ))}
          </ol>
        </section>
      ) : null}
      <ErrorBanner error={generalSaveError} />
      <div className="spread editor-actions">
        <div className="row">
          <button type="submit" className="primary" disabled={saving || !name.trim() || (!dirty && Boolean(policy))}>
            {saving ? "Saving…" : policy ? "Save changes" : "Save policy"}
          </button>
          {props.onCancel ? (
            <button type="button" onClick={props.onCancel}>
              Cancel
            </button>
          ) : null}
          {policy && dirty ? (
            <button
              type="button"
              className="link"
              onClick={() => {
                setName(props.initialName);
                setText(props.initialText);
                setSaveError(null);
              }}
            >
              Discard changes
            </button>
          ) : null}
        </div>
        {policy ? (
          <button type="button" className="danger" onClick={() => setConfirmDelete(true)}>
            Delete policy
          </button>
        ) : null}
      </div>
      {!name.trim() ? <p className="muted small-text">Give the policy a name to save it.</p> : null}
      {confirmDelete && policy ? (
        <ConfirmDialog
          title={`Delete “${policy.name}”?`}
          confirmLabel="Delete policy"
          danger
          onCancel={() => setConfirmDelete(false)}
          onConfirm={async () => {
            await del(`/api/v1/policies/${policy.id}`);
            setConfirmDelete(false);
            await props.onDeleted?.();
          }}
        >
          <p>The policy is removed. Agents that use it keep running without it (only the built-in packs and your Settings apply to them).</p>
        </ConfirmDialog>
      ) : null}
    </form>
  );
}

function AttachToAgents(props: {
  policy: Policy;
  policies: Policy[];
  agents: Agent[] | undefined;
  error: Error | null;
  reload: () => Promise<void>;
  onChanged: (a: Agent) => void;
}) {
  const [status, setStatus] = useState<Record<string, { busy?: boolean; saved?: boolean; error?: string }>>({});
  const setOne = useCallback((id: string, s: { busy?: boolean; saved?: boolean; error?: string }) => setStatus((m) => ({ ...m, [id]: s })), []);

  const change = async (agent: Agent, policyId: string | null) => {
    setOne(agent.id, { busy: true });
    try {
      const a = await patch<Agent>(`/api/v1/agents/${agent.id}`, { policyId });
      props.onChanged(a);
      setOne(agent.id, { saved: true });
    } catch (e) {
      setOne(agent.id, { error: (e as Error).message });
    }
  };

  return (
    <section className="card attach" aria-labelledby="attach-h">
      <h2 id="attach-h">Attach to agents</h2>
      <p className="muted">Each agent has at most one policy. Changing it takes effect on a running agent without a restart.</p>
      <ErrorBanner error={props.error} onRetry={props.reload} />
      {!props.agents && !props.error ? <Loading what="your agents" /> : null}
      {props.agents && !props.agents.length ? (
        <Empty title="No agents yet">
          <p>
            Deploy an agent from the <Link to="/marketplace">Marketplace</Link>, then attach this policy to it here.
          </p>
        </Empty>
      ) : null}
      {props.agents?.length ? (
        <ul className="attach-list">
          {props.agents.map((a) => {
            const s = status[a.id] ?? {};
            const selectId = `attach-${a.id}`;
            return (
              <li key={a.id} className="attach-row">
                <label htmlFor={selectId}>
                  <span className="policy-name">{a.name}</span>
                  <span className="muted small-text">
                    {" "}
                    {a.slug} · {a.state}
                  </span>
                </label>
                <div className="row">
                  <select
                    id={selectId}
                    value={a.policyId ?? ""}
                    disabled={s.busy}
                    aria-describedby={s.error ? `${selectId}-err` : undefined}
                    onChange={(e) => void change(a, e.target.value || null)}
                  >
                    <option value="">No policy</option>
                    {props.policies.map((p) => (
                      <option key={p.id} value={p.id}>
                        {p.name}
                        {p.id === props.policy.id ? " (this policy)" : ""}
                      </option>
                    ))}
                  </select>
                  {a.policyId !== props.policy.id ? (
                    <button type="button" className="small" disabled={s.busy} onClick={() => void change(a, props.policy.id)}>
                      Use this policy
                    </button>
                  ) : (
                    <span className="tag attached">Attached</span>
                  )}
                  <span aria-live="polite" className="small-text">
                    {s.busy ? "Saving…" : s.saved ? <span className="ok-text">Saved</span> : null}
                  </span>
                </div>
                {s.error ? (
                  <div className="field-error" id={`${selectId}-err`} role="alert">
                    {s.error}
                  </div>
                ) : null}
              </li>
            );
          })}
        </ul>
      ) : null}
    </section>
  );
}
