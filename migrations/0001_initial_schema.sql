-- Sluice store, step 1: pipelines and their versions, runs and their logs, state checkpoints,
-- dead letters. Table names are unqualified: the migration runner sets `search_path` to the
-- store's schema (default `sluice`). Every statement is idempotent (IF NOT EXISTS) so the file
-- can be re-run by hand; the runner also records it in `sluice_migrations` and applies it once.
-- Timestamps are timestamptz written by the application (millisecond precision, UTC).

CREATE TABLE IF NOT EXISTS pipelines (
  name           text PRIMARY KEY,
  latest_version integer NOT NULL DEFAULT 0 CHECK (latest_version >= 0),
  enabled        boolean NOT NULL DEFAULT true,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL,
  -- Soft removal keeps the versions that past runs refer to.
  removed_at     timestamptz
);

CREATE TABLE IF NOT EXISTS pipeline_versions (
  name        text NOT NULL REFERENCES pipelines (name) ON DELETE CASCADE,
  version     integer NOT NULL CHECK (version > 0),
  config      jsonb NOT NULL,
  -- sha256 of the canonical JSON (sorted keys): an unchanged save writes no new version.
  config_hash text NOT NULL,
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (name, version)
);

CREATE TABLE IF NOT EXISTS runs (
  id                    text PRIMARY KEY,
  -- Insertion order, the keyset of "newest first" pages.
  seq                   bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  pipeline              text NOT NULL,
  pipeline_version      integer,
  trigger               text NOT NULL CHECK (trigger IN ('cron', 'webhook', 'api', 'replay', 'cli')),
  status                text NOT NULL DEFAULT 'queued'
                        CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  params                jsonb NOT NULL DEFAULT '{}'::jsonb,
  queued_at             timestamptz NOT NULL,
  started_at            timestamptz,
  finished_at           timestamptz,
  records_read          bigint NOT NULL DEFAULT 0,
  records_delivered     bigint NOT NULL DEFAULT 0,
  records_dead_lettered bigint NOT NULL DEFAULT 0,
  records_dropped       bigint NOT NULL DEFAULT 0,
  records_failed        bigint NOT NULL DEFAULT 0,
  error                 jsonb,
  attempt               integer NOT NULL DEFAULT 1 CHECK (attempt > 0),
  cancel_requested_at   timestamptz,
  parent_run_id         text REFERENCES runs (id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS runs_pipeline_seq_idx ON runs (pipeline, seq DESC);
CREATE INDEX IF NOT EXISTS runs_status_seq_idx ON runs (status, seq DESC);
CREATE INDEX IF NOT EXISTS runs_parent_idx ON runs (parent_run_id) WHERE parent_run_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS run_logs (
  -- Global order; per run it increases, which is all a tailing client needs.
  seq     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id  text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  at      timestamptz NOT NULL,
  level   text NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
  message text NOT NULL,
  fields  jsonb
);
CREATE INDEX IF NOT EXISTS run_logs_run_seq_idx ON run_logs (run_id, seq);

CREATE TABLE IF NOT EXISTS checkpoints (
  pipeline   text NOT NULL,
  -- '' is the pipeline-wide checkpoint (no stream).
  stream     text NOT NULL DEFAULT '',
  state      jsonb NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (pipeline, stream)
);

CREATE TABLE IF NOT EXISTS dead_letters (
  id            text PRIMARY KEY,
  seq           bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  pipeline      text NOT NULL,
  run_id        text NOT NULL,
  route         text NOT NULL,
  destination   text NOT NULL,
  record        jsonb NOT NULL,
  original      jsonb,
  error         jsonb NOT NULL,
  attempts      integer NOT NULL CHECK (attempts >= 0),
  failed_at     timestamptz NOT NULL,
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'replayed', 'discarded')),
  created_at    timestamptz NOT NULL,
  replay_run_id text,
  replayed_at   timestamptz,
  discarded_at  timestamptz
);
CREATE INDEX IF NOT EXISTS dead_letters_pipeline_status_seq_idx ON dead_letters (pipeline, status, seq DESC);
CREATE INDEX IF NOT EXISTS dead_letters_status_seq_idx ON dead_letters (status, seq DESC);
CREATE INDEX IF NOT EXISTS dead_letters_run_idx ON dead_letters (run_id);
