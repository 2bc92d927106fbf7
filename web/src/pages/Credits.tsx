// Placeholder until this page is built.
export function CreditsPage(_props: { instanceId?: string }) {
  return (
    <div className="page">
      <h1>Credits</h1>
    </div>
  );
}
