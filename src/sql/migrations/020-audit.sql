-- The audit log: append-only, HMAC-chained (see src/audit/chain.ts). One row per request.
CREATE TABLE IF NOT EXISTS audit_log (
  seq              bigint PRIMARY KEY,
  recorded_at      timestamptz NOT NULL,
  request_id       text NOT NULL,
  actor_kind       text NOT NULL,
  actor_id         text,
  purpose          text,
  actor_location   text,
  operation_kind   text NOT NULL,
  operation_name   text,
  operation_hash   text,
  decision         text NOT NULL,
  code             text,
  reason           text,
  tables           text[] NOT NULL,
  fields           jsonb NOT NULL,
  row_count        integer NOT NULL,
  subject_count    integer NOT NULL,
  subjects_digest  text NOT NULL,
  jurisdictions    text[] NOT NULL,
  privacy_cost     jsonb,
  findings         jsonb NOT NULL,
  details          jsonb NOT NULL,
  prev_hash        text NOT NULL,
  hash             text NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_actor_idx ON audit_log (actor_id, recorded_at);
CREATE INDEX IF NOT EXISTS audit_log_time_idx ON audit_log (recorded_at);

-- The data subjects whose rows a request returned, as keyed pseudonyms (never raw ids), so an officer can
-- answer "who has seen this person's data" without the log itself identifying anyone: audit_subject_lists and
-- its view audit_subjects (080-audit-subject-lists.sql, which also moves a table of one row per subject that an
-- earlier version of this file made).

-- The chain head: appenders lock this one row, so records from every broker process form one chain.
CREATE TABLE IF NOT EXISTS audit_head (
  id    integer PRIMARY KEY CHECK (id = 1),
  seq   bigint NOT NULL,
  hash  text NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, 'genesis') ON CONFLICT (id) DO NOTHING;
