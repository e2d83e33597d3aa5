-- Sluice store, step 11: finished runs by the time they finished. The dashboard's overview sums
-- the counts of each pipeline's runs of the last 24 hours (`RunStore.countsSince`, issue 22) on
-- every refresh; the index keeps that read to the window, not the whole run history.

CREATE INDEX IF NOT EXISTS runs_finished_idx ON runs (finished_at) WHERE finished_at IS NOT NULL;
