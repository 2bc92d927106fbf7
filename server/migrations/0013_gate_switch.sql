-- The gate's switch (issue 19, docs/security.md "Turning the gate off"): the desired state of each
-- instance's tool-call gate, which the instance's agent enforces in openclaw.json
-- (plugins.entries.tropic-gate.config.enabled and .packs). On, with the base pack, by default.
ALTER TABLE instances ADD COLUMN gate_enabled boolean NOT NULL DEFAULT true;
ALTER TABLE instances ADD COLUMN gate_packs jsonb NOT NULL DEFAULT '{"base": true, "system": false, "owasp": false}'::jsonb;
