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
import { SecurityPage } from "./pages/Security.tsx";
import { SettingsPage } from "./pages/Settings.tsx";
import { SignInPage } from "./pages/SignIn.tsx";
import { isDashboardPath, Link, navigate, safeNext, usePath } from "./router.tsx";
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
    // Signed out on a page: sign in, then back to that page.
    if (me === null && path !== "/signin" && path !== "/signup")
      navigate(path === "/" ? "/signin" : `/signin?next=${encodeURIComponent(path + location.search + location.hash)}`, true);
    if (me && (path === "/" || path === "/signin" || path === "/signup")) goNext(safeNext(new URLSearchParams(location.search).get("next")));
  }, [me, path]);

  if (me === undefined) return <Loading what="Tropic" />;
  if (me === null)
    return (
      <SignInPage
        mode={path === "/signup" ? "signup" : "signin"}
        next={safeNext(new URLSearchParams(location.search).get("next"))}
        onSignedIn={setMe}
      />
    );

  const page = path.split("/")[1] ?? "";
  // An instance's own pages live under /instances/<id>/… (its Security page); the nav shows them under Agents.
  const instancePage = page === "instances" && path.split("/")[3] === "security" ? path.split("/")[2] : undefined;
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
            <Link
              key={n.to}
              to={n.to}
              className="nav"
              aria-current={`/${page}` === n.to || (instancePage && n.to === "/agents") ? "page" : undefined}
            >
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
              navigate("/signin", true);
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
        {instancePage ? <SecurityPage key={instancePage} instanceId={instancePage} /> : null}
        {!NAV.some((n) => n.to === `/${page}`) && !instancePage ? (
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

/**
 * After sign-in: back to the page the user came from (`next`, already checked by safeNext), else the
 * Agents page. An instance's page (/i/<id>/…) is the gateway proxy's, loaded in full. Should that page
 * send the browser back to sign in at once (it never should: one session cookie for both), the second
 * return within 30 s goes to Agents instead of round again.
 */
function goNext(next: string | null) {
  if (next && !isDashboardPath(next)) {
    const last = sessionStorage.getItem("tropic:returned");
    const [at, to] = last ? [Number(last.slice(0, last.indexOf(" "))), last.slice(last.indexOf(" ") + 1)] : [0, ""];
    if (!(to === next && Date.now() - at < 30_000)) {
      sessionStorage.setItem("tropic:returned", `${Date.now()} ${next}`);
      location.replace(next);
      return;
    }
    next = null;
  }
  navigate(next ?? "/agents", true);
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
