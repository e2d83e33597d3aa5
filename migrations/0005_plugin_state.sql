-- Sluice store, step 5: durable key/value state of plugin instances (`ctx.state`), e.g. the
-- alerts a Slack destination already posted and the thread of each alert. One namespace per
-- plugin instance (`destination:<kind>:<name>`, `connector:<kind>:<pipeline>`). A key whose
-- expires_at has passed is invisible and deleted lazily by the store.

CREATE TABLE IF NOT EXISTS plugin_state (
  namespace  text NOT NULL,
  key        text NOT NULL,
  value      jsonb NOT NULL,
  expires_at timestamptz,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (namespace, key)
);
CREATE INDEX IF NOT EXISTS plugin_state_expires_idx ON plugin_state (expires_at) WHERE expires_at IS NOT NULL;
