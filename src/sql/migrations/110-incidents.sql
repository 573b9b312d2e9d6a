-- Incidents (issue 14): an agent contained — revoked, with the incident opened in the same transaction — and
-- the officers' investigation of what it received, until someone closes the incident. Closing does not restore
-- the agent: that is its own decision (`keyhole agents restore`).
CREATE TABLE IF NOT EXISTS incidents (
  id         bigserial PRIMARY KEY,
  agent_id   text NOT NULL,
  opened_at  timestamptz NOT NULL DEFAULT now(),
  opened_by  text NOT NULL,
  reason     text NOT NULL,
  status     text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  closed_at  timestamptz,
  closed_by  text,
  note       text,
  CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
-- At most one open incident per agent: opening another while one is open is refused, not piled up.
CREATE UNIQUE INDEX IF NOT EXISTS incidents_one_open ON incidents (agent_id) WHERE status = 'open';
CREATE INDEX IF NOT EXISTS incidents_agent_idx ON incidents (agent_id, opened_at);
