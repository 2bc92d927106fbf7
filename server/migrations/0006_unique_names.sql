-- Names people type (`tropic instances stop home`, `tropic policy set safe …`) are unique per user:
-- an instance's name among that owner's instances that are not deleted, a policy's name among that
-- owner's policies. (Agents already have a per-instance unique name for addressing: their slug,
-- agents_instance_slug_key; their display names may repeat.)
--
-- Databases from before this migration may hold duplicates. The oldest row of each group keeps its
-- name; each later one (by created_at, then id) is renamed "<name> (2)", "<name> (3)", … taking the
-- first suffix no other row of that owner uses, so the result is the same on every replay.
DO $$
DECLARE
  r record;
  n integer;
  candidate text;
BEGIN
  FOR r IN
    SELECT id, owner_id, name FROM (
      SELECT id, owner_id, name, row_number() OVER (PARTITION BY owner_id, name ORDER BY created_at, id) AS rn
        FROM instances WHERE deleted_at IS NULL
    ) d WHERE rn > 1 ORDER BY owner_id, name, rn
  LOOP
    n := 2;
    LOOP
      candidate := r.name || ' (' || n || ')';
      EXIT WHEN NOT EXISTS (SELECT 1 FROM instances WHERE owner_id = r.owner_id AND name = candidate AND deleted_at IS NULL);
      n := n + 1;
    END LOOP;
    UPDATE instances SET name = candidate WHERE id = r.id;
  END LOOP;

  FOR r IN
    SELECT id, owner_id, name FROM (
      SELECT id, owner_id, name, row_number() OVER (PARTITION BY owner_id, name ORDER BY created_at, id) AS rn
        FROM policies
    ) d WHERE rn > 1 ORDER BY owner_id, name, rn
  LOOP
    n := 2;
    LOOP
      candidate := r.name || ' (' || n || ')';
      EXIT WHEN NOT EXISTS (SELECT 1 FROM policies WHERE owner_id = r.owner_id AND name = candidate);
      n := n + 1;
    END LOOP;
    UPDATE policies SET name = candidate WHERE id = r.id;
  END LOOP;
END
$$;

CREATE UNIQUE INDEX instances_owner_name_key ON instances (owner_id, name) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX policies_owner_name_key ON policies (owner_id, name);
