// Placeholder until this page is built.
export function MarketplacePage(_props: { instanceId?: string }) {
  return (
    <div className="page">
      <h1>Marketplace</h1>
    </div>
  );
}
