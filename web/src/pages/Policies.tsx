// Placeholder until this page is built.
export function PoliciesPage(_props: { instanceId?: string }) {
  return (
    <div className="page">
      <h1>Policies</h1>
    </div>
  );
}
