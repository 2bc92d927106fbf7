-- Several control-plane nodes on one PostgreSQL (issue 20, docs/scaling.md). Each `tropic serve`
-- registers itself with the address other nodes reach it on and a heartbeat; a node silent for
-- longer than the expiry is gone (its row is removed by any live node). Only the sha256 of the
-- node's internal credential is kept: another node presents the credential itself.
CREATE TABLE cluster_nodes (
  id            uuid PRIMARY KEY,
  internal_url  text NOT NULL,
  token_hash    text NOT NULL,
  started_at    timestamptz NOT NULL DEFAULT now(),
  heartbeat_at  timestamptz NOT NULL DEFAULT now(),
  draining      boolean NOT NULL DEFAULT false
);

-- Which node holds the instance's agent connection now (NULL: none). No foreign key: a dead node's
-- rows outlive it until its agents reconnect elsewhere; readers join on a live node.
ALTER TABLE instances ADD COLUMN agent_node_id uuid;
CREATE INDEX instances_agent_node_id ON instances (agent_node_id) WHERE agent_node_id IS NOT NULL;
