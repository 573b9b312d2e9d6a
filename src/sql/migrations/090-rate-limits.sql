-- Per-agent rate limits shared by every broker process (docs/agent-controls.md, src/agent-controls/rate-limit).
-- One row per agent holding two leaky buckets: how many requests and how many rows returned are in the bucket as
-- of drained_at, each draining at its limit per minute, so that a full bucket is one minute's allowance.
-- UNLOGGED: a counter needs no WAL, so its update commits without waiting for a WAL flush, and the row lock every
-- broker takes to count an agent's requests is held for microseconds. A database crash empties the table and agents
-- start afresh: the audit log, not this table, is the record of what they did.
CREATE UNLOGGED TABLE IF NOT EXISTS agent_rate_limits (
  agent_id        text PRIMARY KEY,
  requests_level  double precision NOT NULL,
  rows_level      double precision NOT NULL,
  drained_at      timestamptz NOT NULL
);

-- Charges `returned_rows` (rows answered since the broker last charged, never refused) and then takes up to
-- `requests` requests from an agent's buckets, atomically under its row's lock, so that concurrent takes on every
-- broker see each other's. Requests are granted while the rows bucket has room for one more row and the requests
-- bucket has room: as many whole requests as fit, at most `requests` (a broker takes a few ahead of use, see
-- src/agent-controls/rate-limit). With none granted the take is refused and says which bucket is full and in how
-- many seconds a request fits (retry_after). rows_spent says the rows bucket has no room for a row. So N requests
-- pass at once, the N+1st is refused, then N per minute pass; and once a minute's rows have been returned, the next
-- request is refused until a row fits again. The clock is the database's, the one clock every broker shares.
-- A function rather than a statement sent by the broker: its plans are cached per connection (measured: parsing and
-- planning an unnamed statement of this shape costs more than running it).
CREATE OR REPLACE FUNCTION rate_limit_take(
  agent text, requests_per_minute float8, rows_per_minute float8, requests integer, returned_rows float8,
  OUT granted integer, OUT refused_by text, OUT retry_after float8, OUT rows_spent boolean
) LANGUAGE plpgsql AS $$
DECLARE
  bucket agent_rate_limits;
  moment timestamptz;
  minutes float8;
  drained_requests float8;
  drained_rows float8;
  request_wait float8;
  row_wait float8;
BEGIN
  SELECT * INTO bucket FROM agent_rate_limits WHERE agent_id = agent FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO agent_rate_limits VALUES (agent, 0, 0, clock_timestamp()) ON CONFLICT (agent_id) DO NOTHING;
    SELECT * INTO bucket FROM agent_rate_limits WHERE agent_id = agent FOR UPDATE;
  END IF;
  -- Read once the lock is held, so that the moments of one agent's takes follow the order they took the lock in.
  moment := greatest(clock_timestamp(), bucket.drained_at);
  minutes := extract(epoch FROM moment - bucket.drained_at) / 60;
  drained_requests := greatest(0, bucket.requests_level - minutes * requests_per_minute);
  drained_rows := greatest(0, bucket.rows_level - minutes * rows_per_minute) + returned_rows;
  request_wait := (drained_requests + 1 - requests_per_minute) * 60 / requests_per_minute;
  row_wait := (drained_rows + 1 - rows_per_minute) * 60 / rows_per_minute;
  rows_spent := row_wait > 0;
  granted := CASE WHEN rows_spent THEN 0 ELSE greatest(0, least(requests, floor(requests_per_minute - drained_requests)::integer)) END;
  IF requests > 0 AND granted = 0 THEN
    refused_by := CASE WHEN request_wait >= row_wait THEN 'requests' ELSE 'rows' END;
    retry_after := greatest(request_wait, row_wait);
  END IF;
  IF granted > 0 OR returned_rows > 0 THEN
    UPDATE agent_rate_limits
    SET requests_level = drained_requests + granted, rows_level = drained_rows, drained_at = moment
    WHERE agent_id = agent;
  END IF;
END
$$;
