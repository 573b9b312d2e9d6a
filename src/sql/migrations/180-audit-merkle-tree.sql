-- Issue 15: the audit log as an RFC 9162 Merkle tree beside the HMAC chain (src/audit/provable/). Record seq n is
-- leaf n - 1; its leaf hash is SHA-256(0x00 || canonical JSON of the record as stored, chain hash included).
-- The tree's right edge (its frontier: the perfect subtrees of its size's binary decomposition, largest first) lives
-- in the chain head's row, so the head lock that serialises appenders across brokers serialises the tree too, and
-- extending it costs no statement of its own. tree_size trails seq only in a log written before this migration:
-- the first append (or `ensureAuditTree`) catches it up from the records.
ALTER TABLE audit_head ADD COLUMN IF NOT EXISTS tree_size bigint NOT NULL DEFAULT 0;
ALTER TABLE audit_head ADD COLUMN IF NOT EXISTS tree_frontier jsonb NOT NULL DEFAULT '[]';

-- Every complete perfect subtree: the hash at `level` (0 = leaves) covering leaves [idx * 2^level, (idx + 1) * 2^level).
-- Proofs read O(log n) of them. Kept when records are pruned, so the remaining records keep their proofs.
CREATE TABLE IF NOT EXISTS audit_tree_nodes (
  level  smallint NOT NULL,
  idx    bigint NOT NULL,
  hash   bytea NOT NULL CHECK (octet_length(hash) = 32),
  PRIMARY KEY (level, idx)
);

-- Signed tree heads (C2SP signed-note over a tlog-checkpoint body), one per size: the copy kept in the database.
-- The one that matters is the copy appended to a sink outside it (src/audit/provable/checkpoint-sink.ts).
CREATE TABLE IF NOT EXISTS audit_checkpoints_signed (
  size       bigint PRIMARY KEY,
  root       bytea NOT NULL CHECK (octet_length(root) = 32),
  note       text NOT NULL,
  signed_at  timestamptz NOT NULL
);
