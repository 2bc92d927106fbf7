// Placeholder until this page is built.
export function AgentsPage(_props: { instanceId?: string }) {
  return (
    <div className="page">
      <h1>Agents</h1>
    </div>
  );
}
