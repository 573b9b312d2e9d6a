-- Human approvals for fields a policy marks `requireApproval`. A request touching such a field without an
-- active approval is refused (APPROVAL_REQUIRED) and leaves a pending approval for an officer to decide.
CREATE TABLE IF NOT EXISTS approvals (
  id            bigserial PRIMARY KEY,
  agent_id      text NOT NULL,
  purpose       text NOT NULL,
  table_name    text NOT NULL,
  field_name    text NOT NULL,
  status        text NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
  requested_at  timestamptz NOT NULL DEFAULT now(),
  request_id    text,
  decided_at    timestamptz,
  decided_by    text,
  reason        text,
  expires_at    timestamptz
);
-- At most one open request per agent, purpose and field: repeated attempts do not pile up.
CREATE UNIQUE INDEX IF NOT EXISTS approvals_one_pending ON approvals (agent_id, purpose, table_name, field_name) WHERE status = 'pending';
