-- Sluice store, step 6: the run each webhook delivery started. A copy of a delivery already
-- received (a sender's retry, or a replay) is answered with the run of the first copy instead of
-- starting another; the PRIMARY KEY (pipeline, delivery_id) of step 4 decides which copy is first.
-- Rows written before this step have no run id: the scheduler derives it from the delivery id.

ALTER TABLE webhook_deliveries ADD COLUMN IF NOT EXISTS run_id text;
