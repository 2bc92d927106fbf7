-- Host posture (issue 18, docs/hardening.md "Control plane"): every audit the instance agent ran
-- (provision, deploy, daily, manual) with its score and full report, and the integrity incidents
-- it reported (an identity file, the gate's files or the protected config changed since the baseline).
CREATE TABLE instance_audits (
  id          uuid PRIMARY KEY,
  owner_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  instance_id uuid NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
  kind        text NOT NULL CHECK (kind IN ('provision', 'deploy', 'daily', 'manual')),
  score       integer NOT NULL,
  -- {CRIT, HIGH, MED, LOW}: open findings by severity (accepted ones are not counted)
  counts      jsonb NOT NULL,
  -- hardening/src/types.ts Report, as the agent returned it
  report      jsonb NOT NULL,
  -- harden.ts Change[] when this audit hardened the host first (provision), else NULL
  hardened    jsonb,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX instance_audits_instance_created ON instance_audits (instance_id, created_at DESC);

CREATE TABLE integrity_incidents (
  id              uuid PRIMARY KEY,
  owner_id        uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  instance_id     uuid NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
  -- the baseline's name, e.g. workspace/SOUL.md, gate/plugin, config/protected
  name            text NOT NULL,
  path            text NOT NULL,
  change          text NOT NULL CHECK (change IN ('changed', 'deleted', 'added')),
  expected        text,
  actual          text,
  detected_at     timestamptz NOT NULL DEFAULT now(),
  accepted_at     timestamptz,
  accepted_reason text
);
-- A file still changed at the next check is the same incident, not a new one: one open row per
-- (instance, name, current hash). A further edit (another hash) is a new incident.
CREATE UNIQUE INDEX integrity_incidents_open ON integrity_incidents (instance_id, name, COALESCE(actual, ''))
  WHERE accepted_at IS NULL;
CREATE INDEX integrity_incidents_instance ON integrity_incidents (instance_id, detected_at DESC);

-- Scheduled and one-time posture jobs claimed per instance and period (posture/service.ts): the daily
-- audit and the 12-hourly integrity check run once per period even when several control-plane
-- processes queue them (and after pg-boss archived its own singleton rows); `provision` has period 0.
-- A claim not done within a few minutes belongs to a process that died mid-run: it may be taken again.
CREATE TABLE posture_runs (
  instance_id  uuid NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
  job          text NOT NULL CHECK (job IN ('provision', 'daily', 'integrity')),
  period_start timestamptz NOT NULL,
  claimed_at   timestamptz NOT NULL DEFAULT now(),
  done_at      timestamptz,
  PRIMARY KEY (instance_id, job, period_start)
);
