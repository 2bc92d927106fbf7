-- Settings → Connections → Google (issue 19, docs/skills.md): one Google connection per user. The
-- refresh token is sealed like every credential (secrets/envelope.ts, as jsonb) and never leaves the
-- control plane; instances get short-lived access tokens through their agent.
CREATE TABLE google_connections (
  owner_id uuid PRIMARY KEY,
  refresh_token_enc jsonb NOT NULL,
  scope text NOT NULL,
  connected_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- An authorization in progress: the `state` parameter (only its sha256 here), bound to the session that
-- started it, used once, expiring after 10 minutes; the PKCE verifier sealed.
CREATE TABLE oauth_states (
  state_hash text PRIMARY KEY,
  owner_id uuid NOT NULL,
  session_id uuid,
  provider text NOT NULL,
  verifier_enc jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX oauth_states_expires ON oauth_states (expires_at);
