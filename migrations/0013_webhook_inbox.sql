-- Sluice store, step 13: the webhook inbox (issue 20). A pipeline whose webhook trigger has
-- `delivery: inbox` appends each verified delivery's records here, in one statement that also
-- claims the delivery id in webhook_deliveries (a copy is absorbed there, also after its inbox
-- row was delivered and deleted). Drain runs read a pipeline's rows after its inbox checkpoint in
-- `position` order and delete them once that checkpoint is committed. `records` is `json`, not
-- `jsonb`, so the records keep their key order (see step 7).

CREATE TABLE IF NOT EXISTS webhook_inbox (
  position    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  pipeline    text NOT NULL,
  delivery_id text NOT NULL,
  received_at timestamptz NOT NULL,
  records     json NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_inbox_pipeline_position_idx ON webhook_inbox (pipeline, position);
