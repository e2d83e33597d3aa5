-- Sluice store, step 9: the queued runs of each pipeline, indexed on their own. The scheduler's
-- back-pressure bound (`maxQueuedRuns`, issue 20) counts them on every webhook delivery and API
-- trigger; a partial index keeps that count proportional to the backlog, not to the run history.

CREATE INDEX IF NOT EXISTS runs_queued_idx ON runs (pipeline) WHERE status = 'queued';
