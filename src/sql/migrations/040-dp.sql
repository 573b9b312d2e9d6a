-- The differential-privacy budget ledger, shared by every broker process.
-- One row per scope ('agent:<id>' or 'dataset:<name>') and period; the spent columns are the components of
-- a composed privacy cost (src/dp/accountant.ts), checked against the limits under a row lock.
CREATE TABLE IF NOT EXISTS dp_budget (
  scope           text NOT NULL,
  period          text NOT NULL,
  epsilon_limit   double precision NOT NULL,
  delta_limit     double precision NOT NULL,
  pure_epsilon    double precision NOT NULL DEFAULT 0,
  pure_rho        double precision NOT NULL DEFAULT 0,
  approx_epsilon  double precision NOT NULL DEFAULT 0,
  approx_delta    double precision NOT NULL DEFAULT 0,
  rho             double precision NOT NULL DEFAULT 0,
  queries         integer NOT NULL DEFAULT 0,
  PRIMARY KEY (scope, period)
);

-- Released answers, so an identical query replays its earlier noise at no cost instead of drawing fresh noise.
CREATE TABLE IF NOT EXISTS dp_answers (
  agent_id      text NOT NULL,
  period        text NOT NULL,
  query_key     text NOT NULL,
  data_version  integer NOT NULL,
  answer        jsonb NOT NULL,
  cost          jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (agent_id, period, query_key, data_version)
);
