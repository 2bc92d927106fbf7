-- A user's own machine as an instance (issue 16, docs/hosts.md). The one-liner carries a one-time
-- enrolment token; only its sha256 is kept. It is bound to its owner and one `byo` instance, lives
-- 15 minutes and is consumed by the exchange (DELETE … RETURNING: one use, on any node).
CREATE TABLE enrolment_tokens (
  token_hash  text PRIMARY KEY,
  owner_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  instance_id uuid NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);
CREATE INDEX enrolment_tokens_instance_id ON enrolment_tokens (instance_id);
CREATE INDEX enrolment_tokens_expires_at ON enrolment_tokens (expires_at);

-- What an enrolled host said about itself ({os, arch, hostname, agentVersion, openclawVersion,
-- agent37, enrolledAt}); NULL until the host enrolled. Last seen is agent_seen_at.
ALTER TABLE instances ADD COLUMN host jsonb;
