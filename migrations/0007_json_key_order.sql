-- Sluice store, step 7: record-carrying columns keep the JSON text as written. jsonb orders object
-- keys by length and bytes, so records posted through a webhook trigger (run params) and stored
-- dead letters came back with their keys reordered, and CSV columns (first-seen order) with them.
-- `json` keeps the text, and so the key order, exactly; nothing queries inside these columns.
-- Values stored before this step keep the order jsonb gave them.

ALTER TABLE runs ALTER COLUMN params DROP DEFAULT;
ALTER TABLE runs ALTER COLUMN params TYPE json USING params::json;
ALTER TABLE runs ALTER COLUMN params SET DEFAULT '{}'::json;
ALTER TABLE dead_letters ALTER COLUMN record TYPE json USING record::json;
ALTER TABLE dead_letters ALTER COLUMN original TYPE json USING original::json;
