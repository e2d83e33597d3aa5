-- Sluice store, step 2: connections (credentials and settings of a connector instance, e.g. one
-- GA4 property), versioned like pipelines. Secret fields hold `${env:..}` / `${file:..}`
-- references only: the store refuses plaintext values (see docs/store.md, "Secrets").

CREATE TABLE IF NOT EXISTS connections (
  name           text PRIMARY KEY,
  latest_version integer NOT NULL DEFAULT 0 CHECK (latest_version >= 0),
  enabled        boolean NOT NULL DEFAULT true,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL,
  removed_at     timestamptz
);

CREATE TABLE IF NOT EXISTS connection_versions (
  name        text NOT NULL REFERENCES connections (name) ON DELETE CASCADE,
  version     integer NOT NULL CHECK (version > 0),
  config      jsonb NOT NULL,
  config_hash text NOT NULL,
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (name, version)
);
