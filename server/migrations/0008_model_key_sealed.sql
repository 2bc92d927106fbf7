-- The instance's model-proxy credential, sealed under the key-encryption key like the gateway token, so
-- the instance agent can be sent the same credential again (at every start, after a reconnect) without
-- a new one each time; the hash (0007) stays what the proxy checks. Revoking clears both.
ALTER TABLE instances ADD COLUMN model_key_enc jsonb;
