-- Issue 23: an agent acting for a person (a delegated token, RFC 8693). The record names both principals: the agent
-- in actor_id, the person in on_behalf_of (an employee or user of the company, the one accountable for the request,
-- so kept in clear like actor_id; a customer is never a principal). NULL for every other record, and the record hash
-- covers the column only when it is set, so records written before it keep verifying.
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS on_behalf_of text;
CREATE INDEX IF NOT EXISTS audit_log_on_behalf_of_idx ON audit_log (on_behalf_of, recorded_at) WHERE on_behalf_of IS NOT NULL;
