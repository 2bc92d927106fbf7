// The Skills drawer of one instance: the catalog, what is installed and in which state, install
// with the credentials a skill needs, enable/disable and uninstall.
import { type FormEvent, useState } from "react";
import { ApiError, del, get, type Instance, patch, post } from "../api.ts";
import type { Skill, SkillInstall } from "./catalog.ts";
import { useGoogleConnection } from "./Connections.tsx";
import { GateEntry } from "./GateSwitch.tsx";
import { Icon } from "./icons.tsx";
import { Link } from "../router.tsx";
import { Drawer, ErrorBanner, Field, fieldError, Loading, StateBadge, useAction, useLoad } from "./ui.tsx";
import "./skills.css";

export function SkillsDrawer({ instance, onClose, onChanged }: { instance: Instance; onClose: () => void; onChanged?: () => void }) {
  const catalog = useLoad(() => get<{ items: Skill[] }>("/api/v1/marketplace/skills").then((r) => r.items), []);
  const [pollFast, setPollFast] = useState(false);
  const installed = useLoad(
    async () => {
      const items = (await get<{ items: SkillInstall[] }>(`/api/v1/instances/${instance.id}/skills`)).items;
      setPollFast(items.some((i) => i.state !== "installed" && i.state !== "failed"));
      return items;
    },
    [instance.id, pollFast],
    pollFast ? 2500 : undefined,
  );
  const [open, setOpen] = useState<string | null>(null);
  const { pending: busy, error: actionError, run } = useAction();
  const act = (slug: string, fn: () => Promise<unknown>) =>
    run(slug, async () => {
      await fn();
      await installed.reload();
    });

  const bySlug = new Map((installed.data ?? []).map((i) => [i.skillSlug, i]));
  return (
    <Drawer title={`Skills on ${instance.name}`} onClose={onClose}>
      <p className="muted small-text">
        Skills give the agents on this instance third-party integrations. Credentials you enter are encrypted and written only to this instance; the
        gateway restarts to pick up a change.
      </p>
      {instance.state !== "running" ? (
        <div className="banner info" role="status">
          This instance is not running: changes are applied when it starts.
        </div>
      ) : null}
      {/* Sondera, the tool-call gate, comes first: instance-wide, with its rule packs */}
      <GateEntry instance={instance} onChanged={onChanged} />
      <ErrorBanner
        error={catalog.error ?? installed.error}
        onRetry={() => {
          void catalog.reload();
          void installed.reload();
        }}
      />
      <ErrorBanner error={actionError} />
      {!catalog.data || !installed.data ? (
        catalog.error || installed.error ? null : (
          <Loading what="skills" />
        )
      ) : (
        <ul className="skill-list">
          {catalog.data.map((s) => {
            const inst = bySlug.get(s.slug);
            return (
              <li key={s.slug} className="skill" data-skill={s.slug}>
                <div className="spread">
                  <h3 className="skill-name">
                    <span className="skill-icon">
                      <Icon name={s.icon} size={18} />
                    </span>
                    {s.name}
                  </h3>
                  {inst ? (
                    <span className="row">
                      <StateBadge state={inst.state} />
                      {!inst.enabled ? <span className="tag">Disabled</span> : null}
                    </span>
                  ) : null}
                </div>
                <p className="muted skill-desc">{s.description}</p>
                {inst ? (
                  <div className="row">
                    <button
                      type="button"
                      className="small"
                      disabled={busy === s.slug}
                      onClick={() => act(s.slug, () => patch(`/api/v1/instances/${instance.id}/skills/${s.slug}`, { enabled: !inst.enabled }))}
                    >
                      {inst.enabled ? `Disable ${s.name}` : `Enable ${s.name}`}
                    </button>
                    <button
                      type="button"
                      className="small danger"
                      disabled={busy === s.slug}
                      onClick={() => act(s.slug, () => del(`/api/v1/instances/${instance.id}/skills/${s.slug}`))}
                    >
                      Uninstall
                    </button>
                  </div>
                ) : s.auth === "google-oauth" && open !== s.slug ? (
                  <GoogleSkillInstall onInstall={() => setOpen(s.slug)} name={s.name} />
                ) : open === s.slug ? (
                  <InstallForm
                    instance={instance}
                    skill={s}
                    onCancel={() => setOpen(null)}
                    onInstalled={async () => {
                      setOpen(null);
                      await installed.reload();
                    }}
                  />
                ) : (
                  <button type="button" className="small" onClick={() => setOpen(s.slug)} aria-label={`Install ${s.name}`}>
                    Install
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </Drawer>
  );
}

function InstallForm(props: { instance: Instance; skill: Skill; onCancel: () => void; onInstalled: () => Promise<void> }) {
  const { skill } = props;
  const [values, setValues] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await post(`/api/v1/instances/${props.instance.id}/skills`, { slug: skill.slug, credentials: values });
      await props.onInstalled();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const general = error instanceof ApiError && !error.field?.startsWith("credentials.") ? error.message : null;
  return (
    <form className="install-form" onSubmit={submit} noValidate aria-label={`Install ${skill.name}`}>
      {skill.auth === "google-oauth" ? (
        <p className="hint-line">No credentials to enter: it uses your Google connection (Settings → Connections).</p>
      ) : skill.credentials.length === 0 ? (
        <p className="hint-line">No credentials needed.</p>
      ) : null}
      {skill.credentials.map((c) => (
        <Field
          key={c.env}
          label={c.label}
          error={fieldError(error, `credentials.${c.env}`)}
          hint={
            <>
              {c.help}
              {c.format ? ` Expected: ${c.format}.` : ""}
              {c.required ? "" : " Optional."}
            </>
          }
        >
          {(id, d) => (
            <input
              id={id}
              aria-describedby={d}
              type={c.secret ? "password" : "text"}
              autoComplete="off"
              spellCheck={false}
              required={c.required}
              value={values[c.env] ?? ""}
              onChange={(e) => setValues({ ...values, [c.env]: e.target.value })}
            />
          )}
        </Field>
      ))}
      {general ? (
        <div className="banner error" role="alert">
          {general}
        </div>
      ) : null}
      <div className="row">
        <button type="submit" className="primary small" disabled={busy}>
          {busy ? "Installing…" : "Confirm install"}
        </button>
        <button type="button" className="small" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** A Google skill: no credentials to enter; it needs the account's Google connection (read from the control plane). */
function GoogleSkillInstall(props: { name: string; onInstall: () => void }) {
  const conn = useGoogleConnection();
  const connected = conn.data?.connected === true;
  return (
    <div className="google-skill">
      <p className="hint-line" data-testid="google-skill-note">
        No credentials to enter: it uses your Google connection.{" "}
        {conn.data && !connected ? (
          <>
            Google is not connected yet: <Link to="/settings#connections">connect Google in Settings → Connections</Link> first.
          </>
        ) : null}
        {connected ? "Google is connected." : null}
      </p>
      <button type="button" className="small" onClick={props.onInstall} aria-label={`Install ${props.name}`}>
        Install
      </button>
    </div>
  );
}
