-- Issue 22: an officer acknowledges or resolves a group of compliance findings (one agent, check, outcome and
-- jurisdiction; '' stands for an absent value). Each decision covers the group's findings up to through_seq, so
-- a later finding of the same group shows as new. Rows are only ever added: the latest one per group is in force.
CREATE TABLE IF NOT EXISTS finding_acks (
  id           bigserial PRIMARY KEY,
  agent_id     text NOT NULL,
  check_name   text NOT NULL,
  outcome      text NOT NULL,
  jurisdiction text NOT NULL,
  status       text NOT NULL CHECK (status IN ('acknowledged', 'resolved')),
  through_seq  bigint NOT NULL,
  note         text NOT NULL,
  decided_by   text NOT NULL,
  decided_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS finding_acks_group_idx ON finding_acks (agent_id, check_name, outcome, jurisdiction, id);
