-- Instances that run (issue 5): tokens, the instance agent's channel, and the command queue.
-- Tokens are stored envelope-encrypted (jsonb of base64 fields, like ssh_keys.private_key_enc);
-- the instance API token also as a sha256 digest, which is what an agent's connection is looked up by.

ALTER TABLE instances ADD COLUMN gateway_token_enc jsonb;      -- 48 hex characters, sealed
ALTER TABLE instances ADD COLUMN agent_token_enc jsonb;        -- 64 characters, sealed (re-handed to an idempotent create)
ALTER TABLE instances ADD COLUMN agent_token_hash text;        -- sha256 of the instance API token
ALTER TABLE instances ADD COLUMN agent_seen_at timestamptz;    -- last frame from the instance agent
ALTER TABLE instances ADD COLUMN metrics jsonb NOT NULL DEFAULT '{}'::jsonb;  -- the agent's last status report
CREATE UNIQUE INDEX instances_agent_token_hash_key ON instances (agent_token_hash) WHERE agent_token_hash IS NOT NULL;

-- Commands for an instance agent, in order (seq). Kept while the instance is offline and delivered when
-- its agent connects; acknowledged with a result. Secret values are never stored here: a payload names
-- them ({"$credential": "<name>"}) and they are decrypted only to be sent.
CREATE TABLE instance_commands (
  id          uuid PRIMARY KEY,
  seq         bigserial NOT NULL,
  owner_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  instance_id uuid NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
  agent_id    uuid REFERENCES agents(id) ON DELETE SET NULL,
  kind        text NOT NULL,
  payload     jsonb NOT NULL DEFAULT '{}'::jsonb,
  on_done     text,                         -- what an ack completes: agent_ready, agent_stopped, skill_installed, skill_removed
  state       text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'done', 'failed', 'cancelled')),
  result      jsonb,
  error       text,
  attempts    integer NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL DEFAULT now(),
  sent_at     timestamptz,
  done_at     timestamptz
);
CREATE INDEX instance_commands_open_idx ON instance_commands (instance_id, seq) WHERE state IN ('pending', 'sent');
CREATE INDEX instance_commands_owner_idx ON instance_commands (owner_id, created_at DESC);
