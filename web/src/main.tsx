// The dashboard: sign-in, then the pages of the product in one layout with a navigation bar.
import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { get, type Me } from "./api.ts";
import { Loading, Logo } from "./components/ui.tsx";
import { AgentsPage } from "./pages/Agents.tsx";
import { AuditPage } from "./pages/Audit.tsx";
import { ChatPage } from "./pages/Chat.tsx";
import { CreditsPage } from "./pages/Credits.tsx";
import { MarketplacePage } from "./pages/Marketplace.tsx";
import { PoliciesPage } from "./pages/Policies.tsx";
import { SettingsPage } from "./pages/Settings.tsx";
import { SignInPage } from "./pages/SignIn.tsx";
import { Link, navigate, usePath } from "./router.tsx";
import "./styles.css";

const NAV = [
  { to: "/agents", label: "Agents" },
  { to: "/marketplace", label: "Marketplace" },
  { to: "/chat", label: "Chat" },
  { to: "/policies", label: "Policies" },
  { to: "/settings", label: "Settings" },
  { to: "/credits", label: "Credits" },
  { to: "/audit", label: "Audit" },
];

function App() {
  const path = usePath();
  const [me, setMe] = useState<Me | null | undefined>(undefined);

  useEffect(() => {
    get<Me>("/api/v1/me").then(setMe, () => setMe(null));
    const out = () => setMe(null);
    window.addEventListener("tropic:signed-out", out);
    return () => window.removeEventListener("tropic:signed-out", out);
  }, []);

  useEffect(() => {
    if (me === null && path !== "/signin" && path !== "/signup") navigate(`/signin`, true);
    if (me && (path === "/" || path === "/signin" || path === "/signup")) navigate("/agents", true);
  }, [me, path]);

  if (me === undefined) return <Loading what="Tropic" />;
  if (me === null) return <SignInPage mode={path === "/signup" ? "signup" : "signin"} onSignedIn={setMe} />;

  const page = path.split("/")[1] ?? "";
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/agents" className="brand">
          <Logo /> Tropic
        </Link>
        <nav aria-label="Main">
          {NAV.map((n) => (
            <Link key={n.to} to={n.to} className="nav" aria-current={`/${page}` === n.to ? "page" : undefined}>
              {n.label}
            </Link>
          ))}
        </nav>
        <div className="me">
          <span title={me.email}>{me.email}</span>
          <button
            type="button"
            className="link"
            onClick={async () => {
              await fetch("/api/v1/auth/signout", { method: "POST", credentials: "same-origin" });
              setMe(null);
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page === "agents" ? <AgentsPage /> : null}
        {page === "marketplace" ? <MarketplacePage /> : null}
        {page === "chat" ? <ChatPage instanceId={path.split("/")[2]} /> : null}
        {page === "policies" ? <PoliciesPage /> : null}
        {page === "settings" ? <SettingsPage /> : null}
        {page === "credits" ? <CreditsPage /> : null}
        {page === "audit" ? <AuditPage /> : null}
        {!NAV.some((n) => n.to === `/${page}`) ? (
          <div className="page">
            <h1>Not found</h1>
            <p>
              There is no page at <code>{path}</code>. <Link to="/agents">Go to your agents</Link>.
            </p>
          </div>
        ) : null}
      </main>
    </div>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
