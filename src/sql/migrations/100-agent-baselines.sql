-- Behavioural baselines (src/agent-controls/baselines), shared by every broker: each agent's recent behaviour
-- per purpose, the anomalies found against it, and (derived from those) which agents are quarantined.

-- How far the evaluator has read the audit log. One broker at a time holds this row (FOR UPDATE SKIP LOCKED) while
-- it reads the records after `seq`, updates the baselines and raises anomalies, and moves it on in the same
-- transaction. It starts at the log's head: baselines learn from what agents do from now on.
CREATE TABLE IF NOT EXISTS agent_baseline_cursor (
  id          integer PRIMARY KEY CHECK (id = 1),
  seq         bigint NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO agent_baseline_cursor (id, seq) SELECT 1, seq FROM audit_head WHERE id = 1 ON CONFLICT (id) DO NOTHING;

-- Per agent and purpose: recent per-request values, recent windows, requests per hour of day, the window under way
-- (src/agent-controls/baselines/baseline.ts, BaselineState).
CREATE TABLE IF NOT EXISTS agent_baselines (
  agent_id    text NOT NULL,
  purpose     text NOT NULL,
  state       jsonb NOT NULL,
  -- The cursor of the evaluation that wrote it. Evaluations commit one after the other in cursor order, so a broker
  -- refreshing its copy reads what is newer than the last version it saw and misses nothing.
  version     bigint NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (agent_id, purpose)
);
CREATE INDEX IF NOT EXISTS agent_baselines_version_idx ON agent_baselines (version);

-- The fields (`table.field`) each agent has been answered under each purpose, since when; an officer clearing a
-- new-field anomaly adds its field here too.
CREATE TABLE IF NOT EXISTS agent_baseline_fields (
  agent_id       text NOT NULL,
  purpose        text NOT NULL,
  field          text NOT NULL,
  first_seen_at  timestamptz NOT NULL,
  -- The audit record that first returned it (null when an officer accepted it).
  first_seq      bigint,
  -- As agent_baselines.version; for an accepted field, the cursor when it was accepted (brokers reload an agent's
  -- fields when its quarantine ends, so they never miss one).
  version        bigint NOT NULL,
  PRIMARY KEY (agent_id, purpose, field)
);
CREATE INDEX IF NOT EXISTS agent_baseline_fields_version_idx ON agent_baseline_fields (version);

-- The distinct data subjects (recorded pseudonyms) of the window under way, per agent and purpose: counted here
-- rather than kept in the baseline, and dropped when the window ends.
CREATE TABLE IF NOT EXISTS agent_window_subjects (
  agent_id      text NOT NULL,
  purpose       text NOT NULL,
  window_start  timestamptz NOT NULL,
  subject       text NOT NULL,
  PRIMARY KEY (agent_id, purpose, window_start, subject)
);

CREATE TABLE IF NOT EXISTS agent_anomalies (
  id               bigserial PRIMARY KEY,
  agent_id         text NOT NULL,
  purpose          text NOT NULL,
  -- request, window, new_field or unusual_hour.
  kind             text NOT NULL,
  -- e.g. rowsPerRequest, subjectsPerWindow, newField, unusualHour.
  statistic        text NOT NULL,
  -- The new field, or the hour; '' otherwise.
  detail           text NOT NULL DEFAULT '',
  value            double precision NOT NULL,
  -- In the statistic's unit; null for a new field.
  threshold        double precision,
  -- The robust z-score, and what it was computed against (median, MAD, spread, observations, z threshold).
  score            double precision,
  baseline         jsonb,
  window_start     timestamptz,
  window_end       timestamptz,
  detected_at      timestamptz NOT NULL DEFAULT now(),
  -- The request that raised it: its id always, its audit record's seq when found in the log (not on the request path).
  request_id       text,
  audit_seq        bigint,
  -- The anomaly's own audit record.
  record_seq       bigint,
  -- The agent's policy quarantined it for this anomaly.
  quarantines      boolean NOT NULL,
  -- Raised again while open: how often, and the last time.
  occurrences      integer NOT NULL DEFAULT 1,
  last_seen_at     timestamptz NOT NULL DEFAULT now(),
  status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'cleared')),
  cleared_by       text,
  cleared_at       timestamptz,
  note             text
);
-- One open anomaly per agent, purpose, statistic and detail: a harvest raises one, counted again, not hundreds.
CREATE UNIQUE INDEX IF NOT EXISTS agent_anomalies_one_open ON agent_anomalies (agent_id, purpose, statistic, detail) WHERE status = 'open';
CREATE INDEX IF NOT EXISTS agent_anomalies_agent_idx ON agent_anomalies (agent_id, detected_at);

-- An agent is quarantined (approval-required mode) while an anomaly raised under a quarantining policy is open.
CREATE OR REPLACE VIEW agent_quarantine AS
  SELECT agent_id, min(detected_at) AS since, array_agg(id ORDER BY id) AS anomalies
    FROM agent_anomalies WHERE status = 'open' AND quarantines GROUP BY agent_id;
