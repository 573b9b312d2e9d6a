-- Crypto-shredding of data subjects in the audit log (src/audit/subject-keys.ts). audit_subjects records each
-- subject as HMAC(its own random key, its reference); erasing the subject destroys the key, which leaves every
-- past record about them unlinkable while the records and their digests stay as the chain hashed them.
-- subject_ref is the broker-wide keyed pseudonym of (kind, id), so this table lists no raw ids.
CREATE TABLE IF NOT EXISTS subject_keys (
  subject_ref  text PRIMARY KEY,
  -- NULL once erased: the row stays as a tombstone saying when.
  key          bytea CHECK (key IS NULL OR octet_length(key) = 32),
  created_at   timestamptz NOT NULL DEFAULT now(),
  erased_at    timestamptz
);

-- Retention (src/audit/prune.ts): pruning records 1..seq leaves a checkpoint signed with the audit key, holding
-- the last pruned record's hash, so the chain verifies from seq + 1. Append-only like the log: one row per
-- pruned batch, each seq = the previous checkpoint's seq + pruned_count.
CREATE TABLE IF NOT EXISTS audit_checkpoints (
  seq            bigint PRIMARY KEY,
  hash           text NOT NULL,
  pruned_count   bigint NOT NULL,
  pruned_before  timestamptz NOT NULL,
  created_at     timestamptz NOT NULL,
  signature      text NOT NULL
);
