// Placeholder until this page is built.
export function ChatPage(_props: { instanceId?: string }) {
  return (
    <div className="page">
      <h1>Chat</h1>
    </div>
  );
}
