-- Agent controls shared by every broker process: a revoked agent is refused everywhere at once.
CREATE TABLE IF NOT EXISTS agent_status (
  agent_id    text PRIMARY KEY,
  revoked_at  timestamptz,
  revoked_by  text,
  reason      text
);
