-- Sluice store, step 4: what the scheduler keeps besides its pg-boss queue (pg-boss manages its
-- own schema and migrations): schedules (versioned configs), the last fired tick of each
-- schedule (one fire per tick across instances, catch-up after downtime) and received webhook
-- delivery ids (replay protection).

CREATE TABLE IF NOT EXISTS schedules (
  name           text PRIMARY KEY,
  latest_version integer NOT NULL DEFAULT 0 CHECK (latest_version >= 0),
  enabled        boolean NOT NULL DEFAULT true,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL,
  removed_at     timestamptz
);

CREATE TABLE IF NOT EXISTS schedule_versions (
  name        text NOT NULL REFERENCES schedules (name) ON DELETE CASCADE,
  version     integer NOT NULL CHECK (version > 0),
  config      jsonb NOT NULL,
  config_hash text NOT NULL,
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (name, version)
);

CREATE TABLE IF NOT EXISTS schedule_ticks (
  pipeline   text NOT NULL,
  schedule   text NOT NULL,
  last_tick  timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (pipeline, schedule)
);

CREATE TABLE IF NOT EXISTS webhook_deliveries (
  pipeline    text NOT NULL,
  delivery_id text NOT NULL,
  received_at timestamptz NOT NULL,
  PRIMARY KEY (pipeline, delivery_id)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_received_idx ON webhook_deliveries (received_at);
