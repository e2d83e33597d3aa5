-- Sluice store, step 3: router configuration. Destinations are named, versioned configs shared by
-- pipelines; `pipeline_routes` indexes the routes of every pipeline version (written with the
-- version) so "which pipelines send to destination X" is one query.

CREATE TABLE IF NOT EXISTS destinations (
  name           text PRIMARY KEY,
  latest_version integer NOT NULL DEFAULT 0 CHECK (latest_version >= 0),
  enabled        boolean NOT NULL DEFAULT true,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL,
  removed_at     timestamptz
);

CREATE TABLE IF NOT EXISTS destination_versions (
  name        text NOT NULL REFERENCES destinations (name) ON DELETE CASCADE,
  version     integer NOT NULL CHECK (version > 0),
  config      jsonb NOT NULL,
  config_hash text NOT NULL,
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (name, version)
);

CREATE TABLE IF NOT EXISTS pipeline_routes (
  pipeline     text NOT NULL,
  version      integer NOT NULL,
  route        text NOT NULL,
  -- Position in the pipeline's `routes` list (ties of priority keep config order).
  position     integer NOT NULL,
  priority     integer NOT NULL DEFAULT 0,
  destinations text[] NOT NULL,
  spec         jsonb NOT NULL,
  PRIMARY KEY (pipeline, version, route),
  FOREIGN KEY (pipeline, version) REFERENCES pipeline_versions (name, version) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS pipeline_routes_destinations_idx ON pipeline_routes USING gin (destinations);
