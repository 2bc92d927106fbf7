// Chat: the instance's own OpenClaw Control UI, framed from /i/<id>/ (same origin; the proxy
// injects the gateway token and allows framing on that path only).
import type { Instance } from "../api.ts";
import { listInstances } from "../components/catalog.ts";
import { Empty, ErrorBanner, Loading, useLoad } from "../components/ui.tsx";
import { Link, navigate } from "../router.tsx";
import "./chat.css";

export function ChatPage({ instanceId }: { instanceId?: string }) {
  const data = useLoad(listInstances, [], 10000);
  const all = data.data;
  const running = (all ?? []).filter((i) => i.state === "running");
  const selected: Instance | undefined = instanceId ? all?.find((i) => i.id === instanceId) : running[0];

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
      {!all ? (
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
        <Empty title={`${selected.name} is not running`}>
          <p>
            Start it on the <Link to="/agents">Agents page</Link>; chat opens here once it is running.
          </p>
        </Empty>
      ) : !selected ? (
        <Empty title="No running instance">
          <p>
            Chat talks to the agents on a running instance. <Link to="/agents">Go to Agents</Link> to add or start one.
          </p>
        </Empty>
      ) : (
        <>
          <p className="muted chat-tip">
            To interrupt a running task at once, send <kbd>stop</kbd> (or abort, halt, interrupt, exit) as a message.
          </p>
          <iframe key={selected.id} className="chat-frame" src={`/i/${selected.id}/`} title={`OpenClaw chat on ${selected.name}`} />
        </>
      )}
    </div>
  );
}
