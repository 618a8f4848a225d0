-- ResonantGen's own tables. apalis-postgres keeps its job tables in schema `apalis`.

CREATE TABLE IF NOT EXISTS batches (
    id          TEXT PRIMARY KEY,
    name        TEXT,
    total       INTEGER NOT NULL DEFAULT 0,
    meta        JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS generations (
    id               TEXT PRIMARY KEY,            -- ULID; also the apalis task id
    status           TEXT NOT NULL
                     CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    prompt           TEXT NOT NULL,
    request          JSONB NOT NULL,
    response         JSONB,
    error            TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    worker           TEXT,
    batch_id         TEXT REFERENCES batches (id),
    external_id      TEXT,
    idempotency_key  TEXT UNIQUE,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ,
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS generations_status_created ON generations (status, created_at);
CREATE INDEX IF NOT EXISTS generations_batch ON generations (batch_id) WHERE batch_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS scenes (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL UNIQUE,
    source_generation  TEXT REFERENCES generations (id),
    request            JSONB NOT NULL,
    context            JSONB,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
