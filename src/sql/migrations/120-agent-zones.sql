-- Security zones (docs/agent-controls.md): the zone each agent is served in, as an officer approved it, shared by
-- every broker. schema/agents.yaml says which zone the steward asks for; when that differs from the zone here, the
-- request waits in requested_zone for an officer's decision, and the agent is served in the stricter of the two.
CREATE TABLE IF NOT EXISTS agent_zones (
  agent_id        text PRIMARY KEY,
  zone            text NOT NULL CHECK (zone IN ('sandbox', 'production')),
  -- NULL for the sandbox a new agent starts in, which nobody has to approve.
  approved_by     text,
  approved_at     timestamptz,
  requested_zone  text CHECK (requested_zone IN ('sandbox', 'production')),
  requested_at    timestamptz,
  request_status  text CHECK (request_status IN ('pending', 'denied')),
  -- The last decision on a request: who, when, why.
  decided_by      text,
  decided_at      timestamptz,
  reason          text,
  CHECK ((requested_zone IS NULL) = (request_status IS NULL)),
  CHECK (requested_zone IS DISTINCT FROM zone)
);
