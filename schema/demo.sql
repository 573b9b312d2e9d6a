-- The demo world: a bank-and-insurer with customers in eight jurisdictions.
-- Created by `npx keyhole db init --demo` (and on first start of the embedded database).
-- Column meanings and classifications live in catalog.yaml; keep the two in step.

CREATE TABLE IF NOT EXISTS customers (
  id            bigint PRIMARY KEY,
  full_name     text NOT NULL,
  email         text NOT NULL,
  phone         text NOT NULL,
  national_id   text NOT NULL,
  birth_date    date NOT NULL,
  gender        text NOT NULL CHECK (gender IN ('F', 'M', 'X')),
  postal_code   text NOT NULL,
  city          text NOT NULL,
  residency     text NOT NULL,
  segment       text NOT NULL,
  created_at    timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS customers_residency_idx ON customers (residency);
-- Who-has-seen lookups (src/officer/subject-queries.ts matchSubject), on exactly the expressions it compares.
CREATE INDEX IF NOT EXISTS customers_email_lookup_idx ON customers (lower(btrim(email)));
CREATE INDEX IF NOT EXISTS customers_national_id_idx ON customers (national_id);
CREATE INDEX IF NOT EXISTS customers_name_birth_lookup_idx ON customers (lower(btrim(full_name)), birth_date);

CREATE TABLE IF NOT EXISTS accounts (
  id            bigint PRIMARY KEY,
  customer_id   bigint NOT NULL REFERENCES customers (id),
  kind          text NOT NULL,
  currency      text NOT NULL,
  balance       numeric(14, 2) NOT NULL,
  opened_on     date NOT NULL
);
CREATE INDEX IF NOT EXISTS accounts_customer_idx ON accounts (customer_id);

CREATE TABLE IF NOT EXISTS transactions (
  id                 bigint PRIMARY KEY,
  account_id         bigint NOT NULL REFERENCES accounts (id),
  amount             numeric(12, 2) NOT NULL,
  merchant_category  text NOT NULL,
  occurred_at        timestamptz NOT NULL,
  note               text
);
CREATE INDEX IF NOT EXISTS transactions_account_idx ON transactions (account_id);

CREATE TABLE IF NOT EXISTS health_claims (
  id              bigint PRIMARY KEY,
  customer_id     bigint NOT NULL REFERENCES customers (id),
  diagnosis_code  text NOT NULL,
  claim_amount    numeric(12, 2) NOT NULL,
  submitted_on    date NOT NULL,
  status          text NOT NULL
);
CREATE INDEX IF NOT EXISTS health_claims_customer_idx ON health_claims (customer_id);

CREATE TABLE IF NOT EXISTS employees (
  id                 bigint PRIMARY KEY,
  full_name          text NOT NULL,
  email              text NOT NULL,
  department         text NOT NULL,
  work_jurisdiction  text NOT NULL,
  -- Plaintext salary: the broker's views never expose it (catalog: encrypted-only); stewards encrypt it
  -- into the encrypted column store with `keyhole he encrypt-column` and may then drop it.
  salary             integer
);
