// Placeholder until this page is built.
export function AuditPage(_props: { instanceId?: string }) {
  return (
    <div className="page">
      <h1>Audit</h1>
    </div>
  );
}
