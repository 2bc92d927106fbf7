-- The model proxy (issue 14, docs/models.md): instances without a Claude key of their own get a
-- per-instance credential (tmk_…) for an Anthropic-Messages-compatible endpoint the control plane
-- serves, which forwards to Anthropic with the platform key. The platform key never reaches an instance.

-- Only the credential's sha256 is kept; issuing a new one replaces it (rotation), NULL revokes it.
ALTER TABLE instances ADD COLUMN model_key_hash text;
CREATE UNIQUE INDEX instances_model_key_hash_key ON instances (model_key_hash) WHERE model_key_hash IS NOT NULL;

-- Tokens counted per request through the proxy, per instance and agent. Shown beside the hourly
-- rates, which stay the charge (credits/meter.ts); nothing here is billed. No foreign keys: the rows
-- outlive a deleted instance, like the ledger's.
CREATE TABLE model_usage (
  id            uuid PRIMARY KEY,
  owner_id      uuid NOT NULL,
  instance_id   uuid NOT NULL,
  agent         text,                 -- the x-tropic-agent request header; NULL when not sent
  model         text NOT NULL,        -- as the upstream reported it ('unknown' when it did not)
  input_tokens  integer NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
  output_tokens integer NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX model_usage_instance_idx ON model_usage (instance_id, created_at);
CREATE INDEX model_usage_owner_idx ON model_usage (owner_id, created_at);
