// Sign in / sign up with email and password, and the OIDC button when the server has one.
import { type FormEvent, useEffect, useState } from "react";
import { ApiError, get, type Me, post } from "../api.ts";
import { Field, fieldError, Logo } from "../components/ui.tsx";
import { Link } from "../router.tsx";

/** `next`: where to go after signing in (a same-origin path, checked by the caller), kept across sign-in ⇄ sign-up and single sign-on. */
export function SignInPage({ mode, next, onSignedIn }: { mode: "signin" | "signup"; next: string | null; onSignedIn: (me: Me) => void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [oidc, setOidc] = useState<{ name: string; start: string } | null>(null);

  useEffect(() => {
    get<{ oidc: { name: string; start: string } | null }>("/api/v1/auth/providers").then(
      (p) => setOidc(p.oidc),
      () => {},
    );
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const me = await post<Me>(mode === "signup" ? "/api/v1/auth/signup" : "/api/v1/auth/signin", { email, password });
      onSignedIn(me);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const keep = next ? `?next=${encodeURIComponent(next)}` : "";
  const general = error instanceof ApiError && !error.field ? error.message : error && !(error instanceof ApiError) ? String(error) : null;

  return (
    <div className="auth">
      <form className="card auth-card" onSubmit={submit} noValidate>
        <h1>
          <Logo size={30} /> Tropic
        </h1>
        <p className="muted">
          {mode === "signup"
            ? "Create your account: your own managed, policy-gated OpenClaw agent."
            : next
              ? "Sign in to continue where you were."
              : "Sign in to your agents."}
        </p>
        <Field label="Email" error={fieldError(error, "email")}>
          {(id, d) => (
            <input id={id} aria-describedby={d} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
          )}
        </Field>
        <Field label="Password" error={fieldError(error, "password")} hint={mode === "signup" ? "At least 10 characters." : undefined}>
          {(id, d) => (
            <input
              id={id}
              aria-describedby={d}
              type="password"
              autoComplete={mode === "signup" ? "new-password" : "current-password"}
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </Field>
        {general ? (
          <div className="banner error" role="alert">
            {general}
          </div>
        ) : null}
        <button type="submit" className="primary wide" disabled={busy}>
          {busy ? "One moment…" : mode === "signup" ? "Create account" : "Sign in"}
        </button>
        {oidc ? (
          <a className="button wide" href={next ? `${oidc.start}?returnTo=${encodeURIComponent(next)}` : oidc.start}>
            {oidc.name}
          </a>
        ) : null}
        <p className="muted center">
          {mode === "signup" ? (
            <>
              Have an account? <Link to={`/signin${keep}`}>Sign in</Link>
            </>
          ) : (
            <>
              New here? <Link to={`/signup${keep}`}>Create an account</Link>
            </>
          )}
        </p>
      </form>
    </div>
  );
}
