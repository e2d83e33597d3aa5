-- Sluice store, step 8: the source position of a dead letter's input record
-- (`<runId>-<segment>-<offset>`, see docs/architecture.md "Delivery guarantees"). A replay delivers
-- the record with the record key and batch id it first had, so a destination that received it
-- before (a webhook receiver that answered too late, a ledger that holds the batch) recognises it.
-- Letters stored before this step have none: their replay gets positions of its own.

ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS position text;
