-- The bounds every value of a batch was checked against when it was encrypted. The overflow guard trusts these,
-- not the catalog's current bounds, which a steward may have tightened since. Batches stored before this
-- migration have NULL bounds: queries over them are refused (fail closed) until the column is re-encrypted.
ALTER TABLE he_batches ADD COLUMN IF NOT EXISTS min_value numeric;
ALTER TABLE he_batches ADD COLUMN IF NOT EXISTS max_value numeric;
