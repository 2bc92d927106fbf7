-- SSH keys with rotation (issue 7). One current key per user (retired_at IS NULL), enforced here so
-- two control-plane processes generating a user's first key, or rotating it, cannot both win.
-- A retired key's private half is erased: it can no longer be downloaded, and nothing keeps it.
CREATE UNIQUE INDEX ssh_keys_current_key ON ssh_keys (owner_id) WHERE retired_at IS NULL;
ALTER TABLE ssh_keys ALTER COLUMN private_key_enc DROP NOT NULL;
-- The rotation check looks for current keys older than their owner's rotation period.
CREATE INDEX ssh_keys_current_created_idx ON ssh_keys (created_at) WHERE retired_at IS NULL;
