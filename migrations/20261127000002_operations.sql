-- Operations: batches that can be found again by their catalog, progress events, cancellation.

-- A catalog's fingerprint (sha256 of its validated requests): submitting the same catalog
-- again finds this batch instead of making a new one.
ALTER TABLE batches ADD COLUMN IF NOT EXISTS catalog_key TEXT UNIQUE;
ALTER TABLE batches ADD COLUMN IF NOT EXISTS source TEXT;

-- External ids are unique within a batch (the export joins on them).
CREATE INDEX IF NOT EXISTS generations_external ON generations (batch_id, external_id)
    WHERE external_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS generations_finished ON generations (finished_at)
    WHERE finished_at IS NOT NULL;

-- When a cancel was asked for: a running job sees it at its next stage boundary.
ALTER TABLE generations ADD COLUMN IF NOT EXISTS cancel_requested_at TIMESTAMPTZ;

-- Progress events of generations, in order (id). Workers insert them and NOTIFY
-- 'resonantgen_events' with the row id; the API's event stream replays from this table, so
-- a client that connects late (or reconnects with Last-Event-ID) misses nothing.
CREATE TABLE IF NOT EXISTS generation_events (
    id             BIGSERIAL PRIMARY KEY,
    generation_id  TEXT NOT NULL,
    kind           TEXT NOT NULL,
    payload        JSONB NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS generation_events_by_generation ON generation_events (generation_id, id);
