-- A record's data subjects as one row of two parallel arrays instead of one row per person (issue 12): a
-- support-bot page named 50 people, so every request wrote 50 rows and 100 B-tree entries at random places of
-- indexes that grow with the log. One row per record, and a GIN index (its pending list takes new entries as
-- an append) that still finds every record naming a subject (`subjects @> ARRAY[pseudonym]`).
CREATE TABLE IF NOT EXISTS audit_subject_lists (
  audit_seq      bigint PRIMARY KEY REFERENCES audit_log (seq),
  subjects       text[] NOT NULL,
  -- jurisdictions[i] is subjects[i]'s jurisdiction (NULL when its table has none).
  jurisdictions  text[] NOT NULL,
  CHECK (cardinality(subjects) = cardinality(jurisdictions))
);
CREATE INDEX IF NOT EXISTS audit_subject_lists_subjects_idx ON audit_subject_lists USING gin (subjects);

DO $$
BEGIN
  IF (SELECT relkind FROM pg_class WHERE oid = to_regclass('audit_subjects')) = 'r' THEN
    INSERT INTO audit_subject_lists (audit_seq, subjects, jurisdictions)
      SELECT audit_seq, array_agg(subject ORDER BY subject), array_agg(jurisdiction ORDER BY subject) FROM audit_subjects GROUP BY audit_seq;
    DROP TABLE audit_subjects;
  END IF;
END $$;

-- One row per (record, subject), as officers' queries and reports read them.
CREATE OR REPLACE VIEW audit_subjects AS
  SELECT l.audit_seq, s.subject, s.jurisdiction
    FROM audit_subject_lists l CROSS JOIN LATERAL unnest(l.subjects, l.jurisdictions) AS s (subject, jurisdiction);

-- Bumped whenever subject keys are destroyed (erasure), under the head lock: a broker that keeps subjects'
-- pseudonyms in memory drops them when it sees a new epoch, so no record is written under an erased key.
ALTER TABLE audit_head ADD COLUMN IF NOT EXISTS key_epoch bigint NOT NULL DEFAULT 0;
