-- Sluice store, step 10: the schema-change log (issue 21). Every table change a destination makes
-- under its schema policy (a table created, a column added, a column widened) is recorded once it
-- is committed, with the DDL that ran, and listed by `GET /api/v1/schema-changes` newest first.

CREATE TABLE IF NOT EXISTS schema_changes (
  seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  destination text NOT NULL,
  kind        text NOT NULL,
  table_name  text NOT NULL,
  change      text NOT NULL CHECK (change IN ('create_table', 'add_column', 'widen_column')),
  column_name text,
  from_type   text,
  to_type     text,
  statement   text,
  changed_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS schema_changes_destination_seq_idx ON schema_changes (destination, seq DESC);
