-- Key-encryption keys that need local material (AWS KMS): a random seed, wrapped by that key, from
-- which every control-plane process derives the same subkeys (cookie signing, fingerprints).
CREATE TABLE kek_seeds (
  kek_id       text PRIMARY KEY,
  wrapped_seed bytea NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

-- Credit purchases through Stripe Checkout. The credits land in credit_ledger (kind 'purchase',
-- idempotency key stripe:<checkout session id>) when Stripe's signed webhook says the session was
-- paid; a replayed or duplicated webhook credits nothing more.
CREATE TABLE purchases (
  id                uuid PRIMARY KEY,
  owner_id          uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  package_id        text NOT NULL,
  credits           integer NOT NULL CHECK (credits > 0),
  price_cents       integer NOT NULL CHECK (price_cents > 0),
  stripe_session_id text UNIQUE,
  state             text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'paid', 'expired')),
  stripe_event_id   text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  paid_at           timestamptz
);
CREATE INDEX purchases_owner_idx ON purchases (owner_id, created_at DESC);
