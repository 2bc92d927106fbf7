-- One-time hand-off tickets to an instance's own origin (docs/proxy.md): the dashboard's origin issues
-- one inside an auto-submitted form, the instance origin exchanges it once for its proxy cookie. Only
-- the hash is kept; a ticket lives 60 seconds and is bound to the dashboard session it came from.
CREATE TABLE proxy_tickets (
  token_hash text PRIMARY KEY,
  owner_id uuid NOT NULL,
  instance_id uuid NOT NULL,
  session_id uuid NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX proxy_tickets_expires_at ON proxy_tickets (expires_at);
