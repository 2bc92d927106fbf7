-- Tropic data model. Every user-owned row carries owner_id; every query filters by it.
-- Secrets are only ever stored as envelope-encrypted blobs (ciphertext + wrapped data key).

CREATE TABLE users (
  id            uuid PRIMARY KEY,
  email         text NOT NULL,
  password_hash text,                       -- scrypt, self-describing; NULL for OIDC-only accounts
  oidc_issuer   text,
  oidc_subject  text,
  is_admin      boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_email_lower CHECK (email = lower(email))
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE UNIQUE INDEX users_oidc_key ON users (oidc_issuer, oidc_subject) WHERE oidc_subject IS NOT NULL;

CREATE TABLE sessions (
  id           uuid PRIMARY KEY,
  owner_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash   text NOT NULL UNIQUE,        -- sha256 of the cookie value; the value itself is never stored
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  user_agent   text,
  ip           text
);
CREATE INDEX sessions_owner_idx ON sessions (owner_id);

CREATE TABLE api_tokens (
  id           uuid PRIMARY KEY,
  owner_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name         text NOT NULL,
  token_hash   text NOT NULL UNIQUE,
  prefix       text NOT NULL,               -- first characters, to tell tokens apart in lists
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at   timestamptz
);
CREATE INDEX api_tokens_owner_idx ON api_tokens (owner_id);

CREATE TABLE instances (
  id             uuid PRIMARY KEY,
  owner_id       uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name           text NOT NULL,
  provider       text NOT NULL CHECK (provider IN ('local', 'aws', 'byo')),
  region         text NOT NULL,
  instance_type  text NOT NULL,
  desired_state  text NOT NULL CHECK (desired_state IN ('running', 'stopped', 'deleted')),
  state          text NOT NULL CHECK (state IN ('provisioning', 'initializing', 'running', 'stopping', 'stopped', 'failed', 'deleting', 'deleted')),
  state_reason   text,
  provider_ref   text,                      -- e.g. the EC2 instance id; saved before waiting on it
  addresses      jsonb NOT NULL DEFAULT '{}'::jsonb,
  uses_platform_key boolean NOT NULL DEFAULT false,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  started_at     timestamptz,
  stopped_at     timestamptz,
  last_health_at timestamptz,
  deleted_at     timestamptz
);
CREATE INDEX instances_owner_idx ON instances (owner_id, created_at DESC, id);

CREATE TABLE policies (
  id          uuid PRIMARY KEY,
  owner_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name        text NOT NULL,
  text        text NOT NULL,
  compiled    jsonb NOT NULL,               -- compiler output: cedar text, rule explanations
  version     integer NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX policies_owner_idx ON policies (owner_id, created_at DESC, id);

CREATE TABLE agents (
  id          uuid PRIMARY KEY,
  owner_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  instance_id uuid NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
  slug        text NOT NULL,
  name        text NOT NULL,
  template_id text NOT NULL,
  model       text NOT NULL,
  policy_id   uuid REFERENCES policies(id) ON DELETE SET NULL,
  state       text NOT NULL CHECK (state IN ('provisioning', 'ready', 'stopped', 'failed')),
  state_reason text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX agents_instance_slug_key ON agents (instance_id, slug);
CREATE INDEX agents_owner_idx ON agents (owner_id, created_at DESC, id);

CREATE TABLE skills (
  slug        text PRIMARY KEY,             -- the shipped catalog, upserted at start
  name        text NOT NULL,
  description text NOT NULL,
  auth        text NOT NULL,
  manifest    jsonb NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE skill_installs (
  id          uuid PRIMARY KEY,
  owner_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  instance_id uuid NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
  skill_slug  text NOT NULL REFERENCES skills(slug),
  enabled     boolean NOT NULL DEFAULT true,
  state       text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'installed', 'failed', 'removing')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX skill_installs_instance_skill_key ON skill_installs (instance_id, skill_slug);

CREATE TABLE credentials (
  id          uuid PRIMARY KEY,
  owner_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name        text NOT NULL,                -- e.g. ANTHROPIC_API_KEY or skill:notion:NOTION_API_KEY
  ciphertext  bytea NOT NULL,               -- AES-256-GCM under a per-secret data key
  iv          bytea NOT NULL,
  auth_tag    bytea NOT NULL,
  wrapped_key bytea NOT NULL,               -- the data key, wrapped by the key-encryption key
  kek_id      text NOT NULL,
  last4       text NOT NULL,
  fingerprint text NOT NULL,                -- keyed HMAC, so short secrets cannot be brute-forced from it
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX credentials_owner_name_key ON credentials (owner_id, name);

CREATE TABLE ssh_keys (
  id              uuid PRIMARY KEY,
  owner_id        uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  public_key      text NOT NULL,
  fingerprint     text NOT NULL,
  private_key_enc jsonb NOT NULL,           -- envelope-encrypted OpenSSH private key
  created_at      timestamptz NOT NULL DEFAULT now(),
  retired_at      timestamptz
);
CREATE INDEX ssh_keys_owner_idx ON ssh_keys (owner_id, created_at DESC);

CREATE TABLE credit_ledger (
  id              bigserial PRIMARY KEY,
  owner_id        uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  kind            text NOT NULL CHECK (kind IN ('purchase', 'grant', 'compute', 'model', 'refund', 'adjustment')),
  amount_milli    bigint NOT NULL,          -- thousandths of a credit, so 5-minute pro-rata charges stay exact
  instance_id     uuid,
  agent_id        uuid,
  window_start    timestamptz,
  idempotency_key text NOT NULL,            -- e.g. compute:<instance>:<window>; a replay inserts nothing
  note            text,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX credit_ledger_idem_key ON credit_ledger (idempotency_key);
CREATE INDEX credit_ledger_owner_idx ON credit_ledger (owner_id, id DESC);

CREATE TABLE user_settings (
  owner_id              uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  block_browser         boolean NOT NULL DEFAULT false,
  block_code_execution  boolean NOT NULL DEFAULT false,
  block_os_commands     boolean NOT NULL DEFAULT false,
  daily_credit_cap      integer,
  max_session_minutes   integer,
  model                 text NOT NULL DEFAULT 'anthropic/claude-sonnet-4-6',
  custom_model          jsonb,
  default_instance_type text NOT NULL DEFAULT 't3.micro',
  ssh_allowlist         jsonb NOT NULL DEFAULT '[]'::jsonb,
  ssh_rotation_days     integer NOT NULL DEFAULT 90 CHECK (ssh_rotation_days IN (30, 60, 90)),
  phone_mode            text NOT NULL DEFAULT 'unrestricted' CHECK (phone_mode IN ('unrestricted', 'allowlist', 'blocklist')),
  phone_patterns        jsonb NOT NULL DEFAULT '[]'::jsonb,
  updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_events (
  id          bigserial PRIMARY KEY,
  owner_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  actor_id    uuid,
  action      text NOT NULL,                -- e.g. instance.create, policy.update, auth.signin
  object_type text,
  object_id   text,
  details     jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_owner_idx ON audit_events (owner_id, id DESC);
