-- Officer panels without scanning the log (issue 22): summaries the audit writer's own statement keeps up to date.
-- Statement-level triggers with transition tables fold every batch into them inside the batch's statement, so a
-- rolled-back batch leaves no trace in them, no extra round trip is made, and records written by any path (the
-- writer, erasure, bulk SQL) are counted. Pruning subtracts what it deletes. Hours and days are UTC.

-- Everything here is derived from the log and rebuilt from it below: a changed version of this file starts over.
-- Appenders (any broker) wait until it has, so that no batch slips between the rebuild and the new triggers.
LOCK TABLE audit_head IN EXCLUSIVE MODE;
-- Brokers' memories of reach keys (src/audit/known-reach.ts) hold only while the key epoch stands: the table is rebuilt.
UPDATE audit_head SET key_epoch = key_epoch + 1;
DROP TABLE IF EXISTS audit_summary, audit_flow_summary, audit_subject_reach, audit_actor_reach, audit_field_summary, audit_finding_summary, audit_finding_records, audit_withheld_summary;

-- Per hour and record key: what agentSummaries, accessCount, accessesByDay and decisionBreakdown add up.
CREATE TABLE audit_summary (
  hour            timestamptz NOT NULL,
  actor_kind      text NOT NULL,
  actor_id        text,
  purpose         text,
  actor_location  text,
  decision        text NOT NULL,
  code            text,
  records         bigint NOT NULL,
  row_count       bigint NOT NULL,
  -- Rows transfer rules kept out of allowed answers (src/officer/sql-values.ts withheldRowsOf).
  withheld_rows   float8 NOT NULL,
  -- Σε the records declare.
  epsilon         float8 NOT NULL,
  UNIQUE NULLS NOT DISTINCT (hour, actor_kind, actor_id, purpose, actor_location, decision, code)
);

-- Per hour, record key and subject jurisdiction: how many records carried subjects of that jurisdiction (crossBorderFlows).
CREATE TABLE audit_flow_summary (
  hour            timestamptz NOT NULL,
  actor_kind      text NOT NULL,
  actor_id        text,
  purpose         text,
  actor_location  text,
  decision        text NOT NULL,
  jurisdiction    text,
  records         bigint NOT NULL,
  UNIQUE NULLS NOT DISTINCT (hour, actor_kind, actor_id, purpose, actor_location, decision, jurisdiction)
);

-- Each subject (pseudonym) an actor received, per actor location and subject jurisdiction, with the last UTC day it
-- did: distinct subjects since a day are counted from it without reading the subject lists, per actor
-- (agentSummaries) and per agent, location and jurisdiction (flows). Not pruned: readers use it only from the latest
-- prune's cut-off on. '' stands for an absent value, so that a batch finds the subjects already counted today by
-- plain equality on the key, reading the index only, and writes (and locks) nothing for them. The audit writer of a
-- broker keeps the keys it has committed in memory (src/audit/known-reach.ts) and writes, in its own statement,
-- only the others, naming the seqs it covered in `keyhole.reach_written`; the subject lists' trigger covers every
-- other list (SQL-only writers), probing the key once per subject: the key starts with the subject and compares
-- bytes (COLLATE "C"), so that a probe descends on one random, cheaply compared column.
CREATE TABLE audit_subject_reach (
  subject         text COLLATE "C" NOT NULL,
  actor_kind      text COLLATE "C" NOT NULL,
  actor_id        text COLLATE "C" NOT NULL,
  actor_location  text COLLATE "C" NOT NULL,
  jurisdiction    text COLLATE "C" NOT NULL,
  last_day        date NOT NULL,
  PRIMARY KEY (subject, actor_kind, actor_id, actor_location, jurisdiction) INCLUDE (last_day)
);

-- Per hour, record key and field returned: specialCategoryAccess (fieldAccessCounts).
CREATE TABLE audit_field_summary (
  hour            timestamptz NOT NULL,
  actor_kind      text NOT NULL,
  actor_id        text,
  purpose         text,
  decision        text NOT NULL,
  field_key       text,
  table_name      text,
  field_name      text,
  mask            text NOT NULL,
  records         bigint NOT NULL,
  row_count       bigint NOT NULL,
  UNIQUE NULLS NOT DISTINCT (hour, actor_kind, actor_id, purpose, decision, field_key, table_name, field_name, mask)
);

-- Per hour, record key and withheld entry of allowed answers: withheldRows. `records` counts each record once per group.
CREATE TABLE audit_withheld_summary (
  hour            timestamptz NOT NULL,
  actor_kind      text NOT NULL,
  actor_id        text,
  purpose         text,
  decision        text NOT NULL,
  actor_location  text,
  table_name      text,
  jurisdictions   jsonb,
  records         bigint NOT NULL,
  row_count       float8 NOT NULL,
  UNIQUE NULLS NOT DISTINCT (hour, actor_kind, actor_id, purpose, decision, actor_location, table_name, jurisdictions)
);

-- Per hour, record key and finding: findingCounts and findingGroups. `records` counts each record once per group.
-- The greatest rule and the first and last times are kept as they grow; pruning recomputes them from the records left.
CREATE TABLE audit_finding_summary (
  hour          timestamptz NOT NULL,
  actor_kind    text NOT NULL,
  actor_id      text,
  purpose       text,
  decision      text NOT NULL,
  check_name    text,
  outcome       text,
  jurisdiction  text,
  findings      bigint NOT NULL,
  records       bigint NOT NULL,
  rule          text,
  first_seen    timestamptz NOT NULL,
  last_seen     timestamptz NOT NULL,
  UNIQUE NULLS NOT DISTINCT (hour, actor_kind, actor_id, purpose, decision, check_name, outcome, jurisdiction)
);

-- Each record with findings, once per finding group it falls in (src/officer/finding-groups.ts: agent, check, outcome
-- and jurisdiction, '' for an absent value as finding_acks keeps them): a group's newest records, and its findings
-- after an acknowledgement, are read from the group's end of the key instead of from the whole log.
CREATE TABLE audit_finding_records (
  agent_id      text NOT NULL,
  check_name    text NOT NULL,
  outcome       text NOT NULL,
  jurisdiction  text NOT NULL,
  seq           bigint NOT NULL,
  recorded_at   timestamptz NOT NULL,
  actor_kind    text NOT NULL,
  actor_id      text,
  purpose       text,
  decision      text NOT NULL,
  findings      integer NOT NULL,
  PRIMARY KEY (agent_id, check_name, outcome, jurisdiction, seq)
);

-- The statements that add a set of records (`sign` 1) or take it away (-1), as text over the relation that holds
-- them: a trigger's transition table, or the whole log when backfilling. Text rather than functions over row types,
-- which would tie the log's tables to these functions (a migration could then no longer rebuild them).
CREATE OR REPLACE FUNCTION audit_summary_sql(records text, sign integer) RETURNS text[] LANGUAGE sql IMMUTABLE AS $f$
  SELECT ARRAY[format($q$
    INSERT INTO audit_summary AS s (hour, actor_kind, actor_id, purpose, actor_location, decision, code, records, row_count, withheld_rows, epsilon)
    SELECT date_trunc('hour', a.recorded_at, 'UTC'), a.actor_kind, a.actor_id, a.purpose, a.actor_location, a.decision, a.code,
           %2$s * count(*), %2$s * coalesce(sum(a.row_count), 0),
           %2$s * coalesce(sum(CASE WHEN a.decision = 'allowed' THEN (
             SELECT coalesce(sum(CASE WHEN jsonb_typeof(w.value->'rows') = 'number' THEN (w.value->>'rows')::float8 END), 0)
               FROM jsonb_array_elements(CASE WHEN jsonb_typeof(a.details->'withheld') = 'array' THEN a.details->'withheld' ELSE '[]'::jsonb END) AS w(value)
           ) ELSE 0 END), 0),
           %2$s * coalesce(sum(CASE WHEN jsonb_typeof(a.privacy_cost->'epsilon') = 'number' THEN (a.privacy_cost->>'epsilon')::float8 END), 0)
      FROM %1$I AS a
     GROUP BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (hour, actor_kind, actor_id, purpose, actor_location, decision, code) DO UPDATE
       SET records = s.records + EXCLUDED.records, row_count = s.row_count + EXCLUDED.row_count,
           withheld_rows = s.withheld_rows + EXCLUDED.withheld_rows, epsilon = s.epsilon + EXCLUDED.epsilon$q$, records, sign),
  format($q$
    INSERT INTO audit_field_summary AS s (hour, actor_kind, actor_id, purpose, decision, field_key, table_name, field_name, mask, records, row_count)
    SELECT date_trunc('hour', a.recorded_at, 'UTC'), a.actor_kind, a.actor_id, a.purpose, a.decision,
           (f.value->>'table') || '.' || (f.value->>'field'), f.value->>'table', f.value->>'field', coalesce(f.value->>'mask', 'clear'),
           %2$s * count(*), %2$s * coalesce(sum(a.row_count), 0)
      FROM %1$I AS a CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(a.fields) = 'array' THEN a.fields ELSE '[]'::jsonb END) AS f(value)
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
    ON CONFLICT (hour, actor_kind, actor_id, purpose, decision, field_key, table_name, field_name, mask) DO UPDATE
       SET records = s.records + EXCLUDED.records, row_count = s.row_count + EXCLUDED.row_count$q$, records, sign),
  format($q$
    INSERT INTO audit_finding_summary AS s (hour, actor_kind, actor_id, purpose, decision, check_name, outcome, jurisdiction, findings, records, rule, first_seen, last_seen)
    SELECT date_trunc('hour', a.recorded_at, 'UTC'), a.actor_kind, a.actor_id, a.purpose, a.decision,
           f.value->>'check', f.value->>'outcome', f.value->>'jurisdiction', %2$s * count(*), %2$s * count(DISTINCT a.seq),
           max(f.value->>'rule'), min(a.recorded_at), max(a.recorded_at)
      FROM %1$I AS a CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(a.findings) = 'array' THEN a.findings ELSE '[]'::jsonb END) AS f(value)
     WHERE jsonb_typeof(f.value) = 'object'
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (hour, actor_kind, actor_id, purpose, decision, check_name, outcome, jurisdiction) DO UPDATE
       SET findings = s.findings + EXCLUDED.findings, records = s.records + EXCLUDED.records, rule = greatest(s.rule, EXCLUDED.rule),
           first_seen = least(s.first_seen, EXCLUDED.first_seen), last_seen = greatest(s.last_seen, EXCLUDED.last_seen)$q$, records, sign),
  format($q$
    INSERT INTO audit_withheld_summary AS s (hour, actor_kind, actor_id, purpose, decision, actor_location, table_name, jurisdictions, records, row_count)
    SELECT date_trunc('hour', a.recorded_at, 'UTC'), a.actor_kind, a.actor_id, a.purpose, a.decision, a.actor_location,
           w.value->>'table', w.value->'jurisdictions', %2$s * count(DISTINCT a.seq),
           %2$s * coalesce(sum(CASE WHEN jsonb_typeof(w.value->'rows') = 'number' THEN (w.value->>'rows')::float8 END), 0)
      FROM %1$I AS a
     CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(a.details->'withheld') = 'array' THEN a.details->'withheld' ELSE '[]'::jsonb END) AS w(value)
     WHERE a.decision = 'allowed' AND jsonb_typeof(w.value) = 'object'
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (hour, actor_kind, actor_id, purpose, decision, actor_location, table_name, jurisdictions) DO UPDATE
       SET records = s.records + EXCLUDED.records, row_count = s.row_count + EXCLUDED.row_count$q$, records, sign)]
    || CASE WHEN sign < 0 THEN ARRAY['DELETE FROM audit_summary WHERE records <= 0', 'DELETE FROM audit_field_summary WHERE records <= 0',
                                     'DELETE FROM audit_finding_summary WHERE findings <= 0', 'DELETE FROM audit_withheld_summary WHERE records <= 0', format($q$
    DELETE FROM audit_finding_records r USING %1$I AS a CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(a.findings) = 'array' THEN a.findings ELSE '[]'::jsonb END) AS f(value)
     WHERE jsonb_typeof(f.value) = 'object' AND r.seq = a.seq AND r.agent_id = coalesce(a.actor_id, '') AND r.check_name = coalesce(f.value->>'check', '')
       AND r.outcome = coalesce(f.value->>'outcome', '') AND r.jurisdiction = coalesce(f.value->>'jurisdiction', '')$q$, records), format($q$
    UPDATE audit_finding_summary s SET rule = x.rule, first_seen = x.first_seen, last_seen = x.last_seen
      FROM (SELECT date_trunc('hour', a.recorded_at, 'UTC') AS hour, a.actor_kind, a.actor_id, a.purpose, a.decision, f.value->>'check' AS check_name,
                   f.value->>'outcome' AS outcome, f.value->>'jurisdiction' AS jurisdiction, max(f.value->>'rule') AS rule,
                   min(a.recorded_at) AS first_seen, max(a.recorded_at) AS last_seen
              FROM audit_log a CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(a.findings) = 'array' THEN a.findings ELSE '[]'::jsonb END) AS f(value)
             WHERE jsonb_typeof(f.value) = 'object'
               AND a.recorded_at >= (SELECT date_trunc('hour', min(recorded_at), 'UTC') FROM %1$I)
               AND a.recorded_at < (SELECT date_trunc('hour', max(recorded_at), 'UTC') + interval '1 hour' FROM %1$I)
               AND date_trunc('hour', a.recorded_at, 'UTC') IN (SELECT date_trunc('hour', recorded_at, 'UTC') FROM %1$I)
             GROUP BY 1, 2, 3, 4, 5, 6, 7, 8) AS x
     WHERE s.hour = x.hour AND s.actor_kind = x.actor_kind AND s.actor_id IS NOT DISTINCT FROM x.actor_id AND s.purpose IS NOT DISTINCT FROM x.purpose
       AND s.decision = x.decision AND s.check_name IS NOT DISTINCT FROM x.check_name AND s.outcome IS NOT DISTINCT FROM x.outcome
       AND s.jurisdiction IS NOT DISTINCT FROM x.jurisdiction$q$, records)] ELSE ARRAY[format($q$
    INSERT INTO audit_finding_records (agent_id, check_name, outcome, jurisdiction, seq, recorded_at, actor_kind, actor_id, purpose, decision, findings)
    SELECT coalesce(a.actor_id, ''), coalesce(f.value->>'check', ''), coalesce(f.value->>'outcome', ''), coalesce(f.value->>'jurisdiction', ''),
           a.seq, a.recorded_at, a.actor_kind, a.actor_id, a.purpose, a.decision, count(*)
      FROM %1$I AS a CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(a.findings) = 'array' THEN a.findings ELSE '[]'::jsonb END) AS f(value)
     WHERE jsonb_typeof(f.value) = 'object'
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10$q$, records)] END
$f$;

-- Flows join the lists to their records: prune deletes the lists before the records (src/audit/prune.ts). Each list
-- looks its record up by seq (OFFSET 0 keeps the lookup a nested loop): a trigger plans once per session, when
-- the log may still be small, and a hash join planned then would read the whole log on every later batch.
CREATE OR REPLACE FUNCTION audit_flows_sql(lists text, sign integer) RETURNS text[] LANGUAGE sql IMMUTABLE AS $f$
  SELECT ARRAY[format($q$
    INSERT INTO audit_flow_summary AS s (hour, actor_kind, actor_id, purpose, actor_location, decision, jurisdiction, records)
    SELECT date_trunc('hour', a.recorded_at, 'UTC'), a.actor_kind, a.actor_id, a.purpose, a.actor_location, a.decision, j.jurisdiction, %2$s * count(*)
      FROM %1$I AS l CROSS JOIN LATERAL (SELECT * FROM audit_log WHERE seq = l.audit_seq OFFSET 0) AS a
     CROSS JOIN LATERAL (SELECT DISTINCT x AS jurisdiction FROM unnest(l.jurisdictions) AS x) AS j
     GROUP BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (hour, actor_kind, actor_id, purpose, actor_location, decision, jurisdiction) DO UPDATE SET records = s.records + EXCLUDED.records$q$,
    lists, sign)]
    || CASE WHEN sign < 0 THEN ARRAY['DELETE FROM audit_flow_summary WHERE records <= 0'] ELSE ARRAY[format($q$
    INSERT INTO audit_subject_reach AS r (subject, actor_kind, actor_id, actor_location, jurisdiction, last_day)
    SELECT x.* FROM (
      SELECT s.subject, a.actor_kind, coalesce(a.actor_id, ''), coalesce(a.actor_location, ''), coalesce(s.jurisdiction, ''),
             max((a.recorded_at AT TIME ZONE 'UTC')::date)
        FROM %1$I AS l CROSS JOIN LATERAL (SELECT * FROM audit_log WHERE seq = l.audit_seq OFFSET 0) AS a
       CROSS JOIN LATERAL unnest(l.subjects, l.jurisdictions) AS s (subject, jurisdiction)
       WHERE NOT coalesce(l.audit_seq <@ nullif(current_setting('keyhole.reach_written', true), '')::int8range, false)
       GROUP BY 1, 2, 3, 4, 5) AS x (subject, actor_kind, actor_id, actor_location, jurisdiction, last_day)
     WHERE NOT EXISTS (SELECT 1 FROM audit_subject_reach o
                        WHERE o.subject = x.subject AND o.actor_kind = x.actor_kind AND o.actor_id = x.actor_id
                          AND o.actor_location = x.actor_location AND o.jurisdiction = x.jurisdiction AND o.last_day >= x.last_day)
    ON CONFLICT (subject, actor_kind, actor_id, actor_location, jurisdiction) DO UPDATE SET last_day = EXCLUDED.last_day
       WHERE r.last_day < EXCLUDED.last_day$q$, lists)] END
$f$;

-- One trigger function per table and change, its statements written out from the text above so that PL/pgSQL plans
-- them once per session rather than on every batch. `added_*`/`removed_*` are the triggers' transition tables.
DO $$
DECLARE
  made record;
BEGIN
  FOR made IN SELECT * FROM (VALUES
      ('audit_log_added', audit_summary_sql('added_records', 1)),
      ('audit_log_removed', audit_summary_sql('removed_records', -1)),
      ('audit_subject_lists_added', audit_flows_sql('added_lists', 1)),
      ('audit_subject_lists_removed', audit_flows_sql('removed_lists', -1))) AS f (name, statements) LOOP
    EXECUTE format('CREATE OR REPLACE FUNCTION %I() RETURNS trigger LANGUAGE plpgsql AS %L', made.name,
                   'BEGIN ' || array_to_string(made.statements, '; ') || '; RETURN NULL; END');
  END LOOP;
END $$;

DROP TRIGGER IF EXISTS audit_log_summary_insert ON audit_log;
CREATE TRIGGER audit_log_summary_insert AFTER INSERT ON audit_log REFERENCING NEW TABLE AS added_records
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_added();
DROP TRIGGER IF EXISTS audit_log_summary_delete ON audit_log;
CREATE TRIGGER audit_log_summary_delete AFTER DELETE ON audit_log REFERENCING OLD TABLE AS removed_records
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_removed();
DROP TRIGGER IF EXISTS audit_subject_lists_summary_insert ON audit_subject_lists;
CREATE TRIGGER audit_subject_lists_summary_insert AFTER INSERT ON audit_subject_lists REFERENCING NEW TABLE AS added_lists
  FOR EACH STATEMENT EXECUTE FUNCTION audit_subject_lists_added();
DROP TRIGGER IF EXISTS audit_subject_lists_summary_delete ON audit_subject_lists;
CREATE TRIGGER audit_subject_lists_summary_delete AFTER DELETE ON audit_subject_lists REFERENCING OLD TABLE AS removed_lists
  FOR EACH STATEMENT EXECUTE FUNCTION audit_subject_lists_removed();

-- Emptying the log (tests, a fresh start) empties what is derived from it; TRUNCATE fires no DELETE trigger.
CREATE OR REPLACE FUNCTION audit_summary_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'audit_log' THEN
    TRUNCATE audit_summary, audit_field_summary, audit_finding_summary, audit_finding_records, audit_withheld_summary;
    DELETE FROM audit_verified_point;
  ELSE
    TRUNCATE audit_flow_summary, audit_subject_reach;
  END IF;
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS audit_log_summary_truncate ON audit_log;
CREATE TRIGGER audit_log_summary_truncate AFTER TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_summary_truncate();
DROP TRIGGER IF EXISTS audit_subject_lists_summary_truncate ON audit_subject_lists;
CREATE TRIGGER audit_subject_lists_summary_truncate AFTER TRUNCATE ON audit_subject_lists FOR EACH STATEMENT EXECUTE FUNCTION audit_summary_truncate();

-- Backfill from the log as it is.
DO $$
DECLARE
  statement text;
BEGIN
  FOREACH statement IN ARRAY audit_summary_sql('audit_log', 1) || audit_flows_sql('audit_subject_lists', 1) LOOP
    EXECUTE statement;
  END LOOP;
END $$;
-- Plans read the rebuilt tables at once (the officer's panels), before autovacuum would have counted them.
ANALYZE audit_summary, audit_flow_summary, audit_subject_reach, audit_field_summary, audit_finding_summary, audit_finding_records, audit_withheld_summary;

-- Incremental chain verification (src/audit/verified-point.ts): where the last verification of the officer's
-- panel ended, signed with the audit key, and when a full verification last passed.
CREATE TABLE IF NOT EXISTS audit_verified_point (
  id                integer PRIMARY KEY CHECK (id = 1),
  seq               bigint NOT NULL,
  hash              text NOT NULL,
  verified_at       timestamptz NOT NULL,
  full_verified_at  timestamptz,
  signature         text NOT NULL
);
