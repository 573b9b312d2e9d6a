-- The ledger's spent components as exact decimals: a request's total is added in numeric arithmetic, so the
-- ledger equals the sum of the charges the audit records list (double precision drifted with every addition).
DO $$
BEGIN
  IF (SELECT data_type FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'dp_budget' AND column_name = 'pure_epsilon') <> 'numeric' THEN
    ALTER TABLE dp_budget
      ALTER COLUMN pure_epsilon TYPE numeric,
      ALTER COLUMN pure_rho TYPE numeric,
      ALTER COLUMN approx_epsilon TYPE numeric,
      ALTER COLUMN approx_delta TYPE numeric,
      ALTER COLUMN rho TYPE numeric;
  END IF;
END $$;
