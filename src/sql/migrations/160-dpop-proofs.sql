-- DPoP proofs already used (RFC 9449 §11.1), shared by every broker so that a proof replayed to another replica is
-- refused too (src/identity/dpop-replay.ts). A row lives until its proof's iat window closes: after that the proof is
-- refused as stale whatever this table says, so expired rows are only deleted, now and then, by the brokers.
-- Keyed by the proof key's thumbprint and the proof's jti, so one client's jti never blocks another's.
-- UNLOGGED: no WAL flush per request. A database crash empties the table, which re-opens replay only for proofs
-- still inside their window (seconds) that an attacker already holds: the same trade as agent_rate_limits.
CREATE UNLOGGED TABLE IF NOT EXISTS dpop_proofs_seen (
  jkt         text NOT NULL,
  jti         text NOT NULL,
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (jkt, jti)
);
CREATE INDEX IF NOT EXISTS dpop_proofs_seen_expiry ON dpop_proofs_seen (expires_at);
