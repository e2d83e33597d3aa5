-- Sluice store, step 12: each run's counts per route, per destination and per expectation
-- (issues 21 and 22). The five totals stay in their columns (sums, the activity view); the
-- breakdown is the run view's detail, written once when the run finishes. Older runs keep NULL.

ALTER TABLE runs ADD COLUMN IF NOT EXISTS breakdown jsonb;
