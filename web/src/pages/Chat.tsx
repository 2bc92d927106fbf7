// Chat: the instance's own OpenClaw Control UI, framed from /i/<id>/ (same origin; the proxy
// injects the gateway token and allows framing on that path only). Without any model to answer
// (no Claude key of the user's or the platform's, no custom model in Settings) it says so first and
// points to Settings → Credentials, where the key is encrypted and given to every instance (OpenClaw's
// own "Connect an AI provider" is refused by the proxy: server/src/proxy/ws-guard.ts). Opening OpenClaw
// anyway stays one click away.
import { useState } from "react";
import type { Instance } from "../api.ts";
import { listInstances, loadModelAccess } from "../components/catalog.ts";
import { Empty, ErrorBanner, Loading, useLoad } from "../components/ui.tsx";
import { Link, navigate } from "../router.tsx";
import "./chat.css";

const CREDENTIALS = "/settings#credentials";

export function ChatPage({ instanceId }: { instanceId?: string }) {
  const data = useLoad(listInstances, [], 10000);
  const access = useLoad(loadModelAccess, [], 30000);
  const [openAnyway, setOpenAnyway] = useState<string | null>(null);
  const all = data.data;
  const running = (all ?? []).filter((i) => i.state === "running");
  const selected: Instance | undefined = instanceId ? all?.find((i) => i.id === instanceId) : running[0];
  const a = access.data;
  // An Agent37 machine answers with Agent37's models and keys: no model key of Tropic's to ask for.
  const noModel = a !== undefined && !a.ready && selected?.host?.agent37 !== true;

  return (
    <div className="page chat-page">
      <div className="page-head chat-head">
        <h1>Chat</h1>
        {running.length > 0 ? (
          <div className="row">
            <label htmlFor="chat-instance">Instance</label>
            <select
              id="chat-instance"
              value={selected && selected.state === "running" ? selected.id : ""}
              onChange={(e) => navigate(`/chat/${e.target.value}`)}
            >
              {selected?.state !== "running" ? <option value="">Choose an instance…</option> : null}
              {running.map((i) => (
                <option key={i.id} value={i.id}>
                  {i.name}
                </option>
              ))}
            </select>
          </div>
        ) : null}
      </div>
      <ErrorBanner error={data.error} onRetry={() => void data.reload()} />
      <ErrorBanner error={access.error} onRetry={() => void access.reload()} />
      {!all || (!a && !access.error) ? (
        data.error ? null : (
          <Loading what="your instances" />
        )
      ) : instanceId && !selected ? (
        <Empty title="Instance not found">
          <p>
            There is no instance with this address. <Link to="/chat">Pick one of yours</Link>.
          </p>
        </Empty>
      ) : selected && selected.state !== "running" ? (
        <>
          {noModel ? <NoModelNote /> : null}
          <Empty title={`${selected.name} is not running`}>
            <p>
              Start it on the <Link to="/agents">Agents page</Link>; chat opens here once it is running.
            </p>
          </Empty>
        </>
      ) : !selected ? (
        <>
          {noModel ? <NoModelNote /> : null}
          <Empty title="No running instance">
            <p>
              Chat talks to the agents on a running instance. <Link to="/agents">Go to Agents</Link> to add or start one.
            </p>
          </Empty>
        </>
      ) : noModel && openAnyway !== selected.id ? (
        <NoModelGuide name={selected.name} onOpen={() => setOpenAnyway(selected.id)} />
      ) : (
        <>
          {noModel ? (
            <p className="muted chat-tip" data-testid="no-model-key-tip">
              No model key yet: OpenClaw will say no provider credential is configured. Add your key in{" "}
              <Link to={CREDENTIALS}>Settings → Credentials</Link>: it is encrypted and every instance of yours gets it.
            </p>
          ) : null}
          <p className="muted chat-tip">
            To interrupt a running task at once, send <kbd>stop</kbd> (or abort, halt, interrupt, exit) as a message.
          </p>
          <iframe key={selected.id} className="chat-frame" src={`/i/${selected.id}/`} title={`OpenClaw chat on ${selected.name}`} />
        </>
      )}
    </div>
  );
}

/** In place of the Control UI while no model can answer. */
function NoModelGuide({ name, onOpen }: { name: string; onOpen: () => void }) {
  return (
    <section className="card chat-key" aria-labelledby="chat-key-title" data-testid="no-model-key">
      <h2 id="chat-key-title">Add a model key before you chat</h2>
      <p>
        Your agents on {name} have no model to answer with: you have not added a Claude API key, and this Tropic has no key of its own to lend them.
        OpenClaw would only tell you that no provider credential is configured.
      </p>
      <p>
        Add your key in <Link to={CREDENTIALS}>Settings → Credentials</Link>: it is encrypted, never shown again, and given to every instance you
        have. OpenClaw's own "Connect an AI provider" is turned off here, so keys never sit unencrypted inside one instance.
      </p>
      <div className="row">
        <Link to={CREDENTIALS} className="button primary">
          Add your Claude API key
        </Link>
        <button type="button" onClick={onOpen}>
          Open OpenClaw anyway
        </button>
      </div>
      <p className="muted chat-key-note">
        A model of your own needs no Claude key: choose a custom provider or endpoint in <Link to="/settings#model">Settings → Model</Link> and Chat
        opens OpenClaw at once. Open it anyway to look around; agents on Claude models answer once a key is added.
      </p>
    </section>
  );
}

/** Above the empty states: the same fact, shorter. */
function NoModelNote() {
  return (
    <div className="banner warn" role="status" data-testid="no-model-key-note">
      <span>
        No model key yet: your agents cannot answer until you add your Claude API key in <Link to={CREDENTIALS}>Settings → Credentials</Link>.
      </span>
    </div>
  );
}
