-- Issue 15: when, and to which sink, each signed checkpoint was appended outside the database. A checkpoint is signed
-- (inserted here) before its note is appended; a broker that stops in between leaves sunk_at NULL, and any broker
-- appends it on its next poll. `audit verify --checkpoints` names a checkpoint appended to the sink it reads that the
-- sink no longer holds: it was deleted there. Checkpoints signed before these columns had been appended when they were
-- signed, to a sink not recorded.
ALTER TABLE audit_checkpoints_signed ADD COLUMN IF NOT EXISTS sunk_at timestamptz;
ALTER TABLE audit_checkpoints_signed ADD COLUMN IF NOT EXISTS sunk_to text;
UPDATE audit_checkpoints_signed SET sunk_at = signed_at WHERE sunk_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM keyhole_migrations WHERE name = '190-audit-checkpoints-sunk.sql');
CREATE INDEX IF NOT EXISTS audit_checkpoints_unsunk_idx ON audit_checkpoints_signed (size) WHERE sunk_at IS NULL;
