-- Rules versions (issue 22): every accepted set of schema/ and masking-rules/ files, kept whole so that a rule an
-- audit record cites as file:line can be read later exactly as it stood. Shared by every broker: a version is
-- stored once, by its content hash, whichever broker first put it in force.
CREATE TABLE IF NOT EXISTS rules_versions (
  id           bigserial PRIMARY KEY,
  -- SHA-256 over every file's path and bytes, in path order (src/config/rules-versions.ts).
  hash         text NOT NULL UNIQUE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  -- When a broker last put this version in force: the newest is the version in force now.
  in_force_at  timestamptz NOT NULL DEFAULT now(),
  -- The version in force before this one was first stored, which `diff` compares against.
  previous_id  bigint REFERENCES rules_versions (id),
  -- {path relative to the project: text}
  files        jsonb NOT NULL,
  -- {added: [path], removed: [path], changed: [{path, linesAdded, linesRemoved}]}
  diff         jsonb NOT NULL
);

CREATE INDEX IF NOT EXISTS rules_versions_in_force ON rules_versions (in_force_at DESC, id DESC);
