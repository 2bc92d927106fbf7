-- Credits metered every 5 minutes, spending limits (issue 7). See docs/credits.md.
--
-- Exactly once per instance and window: the ledger's unique idempotency_key
-- (compute:<instance>:<window start>, model:<instance>:<agent or ->:<window start>) and, for compute,
-- a unique (instance_id, window_start) as well. A tick killed mid-statement commits nothing; a tick
-- run again, or by a second control-plane process, inserts nothing it already inserted.

-- The end of the last window the meter settled for this instance (exclusive): the next tick starts there.
ALTER TABLE instances ADD COLUMN metered_until timestamptz;
-- Why the meter paused it (daily_cap, session_limit, no_credits, no_rate); NULL when not paused by a limit.
ALTER TABLE instances ADD COLUMN pause_reason text
  CHECK (pause_reason IN ('daily_cap', 'session_limit', 'no_credits', 'no_rate'));
ALTER TABLE instances ADD COLUMN paused_at timestamptz;
-- When it resumes by itself (the next UTC day for daily_cap); NULL: when the limit is raised or cleared.
ALTER TABLE instances ADD COLUMN paused_until timestamptz;
CREATE INDEX instances_paused_idx ON instances (owner_id) WHERE pause_reason IS NOT NULL;

CREATE UNIQUE INDEX credit_ledger_compute_window_key ON credit_ledger (instance_id, window_start) WHERE kind = 'compute';
-- Usage per instance and agent for today and this month.
CREATE INDEX credit_ledger_owner_window_idx ON credit_ledger (owner_id, window_start) WHERE window_start IS NOT NULL;

-- Running totals the meter checks limits against on every tick, so a tick over 10,000 users does not
-- sum the whole ledger. The ledger stays the source of truth (the API's balance is still its sum);
-- these are kept by a statement trigger on every insert into it, whoever inserts (grants, purchases,
-- the meter), in the inserting transaction.
CREATE TABLE credit_balances (
  owner_id      uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  balance_milli bigint NOT NULL DEFAULT 0
);
CREATE TABLE credit_daily_spend (
  owner_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  day         date NOT NULL,                -- the UTC day of the charged window's start
  spent_milli bigint NOT NULL DEFAULT 0,    -- compute + model charges, positive
  PRIMARY KEY (owner_id, day)
);

CREATE FUNCTION credit_ledger_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO credit_balances AS b (owner_id, balance_milli)
    SELECT owner_id, sum(amount_milli) FROM new_rows GROUP BY owner_id ORDER BY owner_id
    ON CONFLICT (owner_id) DO UPDATE SET balance_milli = b.balance_milli + excluded.balance_milli;
  INSERT INTO credit_daily_spend AS d (owner_id, day, spent_milli)
    SELECT owner_id, (window_start AT TIME ZONE 'UTC')::date, -sum(amount_milli) FROM new_rows
     WHERE kind IN ('compute', 'model') AND window_start IS NOT NULL
     GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (owner_id, day) DO UPDATE SET spent_milli = d.spent_milli + excluded.spent_milli;
  RETURN NULL;
END $$;

-- CREATE TRIGGER locks the ledger against inserts until this migration commits, so the backfill
-- below and the trigger see every row exactly once.
CREATE TRIGGER credit_ledger_totals AFTER INSERT ON credit_ledger
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION credit_ledger_totals();

INSERT INTO credit_balances (owner_id, balance_milli)
  SELECT owner_id, sum(amount_milli) FROM credit_ledger GROUP BY owner_id;
INSERT INTO credit_daily_spend (owner_id, day, spent_milli)
  SELECT owner_id, (window_start AT TIME ZONE 'UTC')::date, -sum(amount_milli) FROM credit_ledger
   WHERE kind IN ('compute', 'model') AND window_start IS NOT NULL GROUP BY 1, 2;
