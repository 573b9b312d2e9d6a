-- Homomorphic encryption: the key registry (public parts only; secret keys never reach the broker)
-- and the encrypted column store, one ciphertext per batch of up to slot-count rows.
CREATE TABLE IF NOT EXISTS he_keys (
  name        text PRIMARY KEY,
  scheme      text NOT NULL CHECK (scheme IN ('bfv', 'ckks')),
  params_id   text NOT NULL,
  fingerprint text NOT NULL,
  public_key  bytea NOT NULL,
  relin_keys  bytea NOT NULL,
  galois_keys bytea NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS he_batches (
  table_name  text NOT NULL,
  column_name text NOT NULL,
  key_name    text NOT NULL REFERENCES he_keys (name),
  batch_no    integer NOT NULL CHECK (batch_no >= 0),
  -- The row id held by each slot, in slot order.
  row_ids     bigint[] NOT NULL,
  ciphertext  bytea NOT NULL,
  PRIMARY KEY (table_name, column_name, key_name, batch_no)
);

-- Ciphertexts and keys are random bytes: skip TOAST's compression attempt, store them out of line as is.
ALTER TABLE he_keys ALTER COLUMN galois_keys SET STORAGE EXTERNAL;
ALTER TABLE he_keys ALTER COLUMN relin_keys SET STORAGE EXTERNAL;
ALTER TABLE he_keys ALTER COLUMN public_key SET STORAGE EXTERNAL;
ALTER TABLE he_batches ALTER COLUMN ciphertext SET STORAGE EXTERNAL;
