// Placeholder until this page is built.
export function SettingsPage(_props: { instanceId?: string }) {
  return (
    <div className="page">
      <h1>Settings</h1>
    </div>
  );
}
