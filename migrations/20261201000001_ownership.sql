-- Ownership: the id of the API token (from the token configuration of `resonantgen serve`)
-- that submitted the work. NULL for work submitted with the CLI, which only admin tokens see
-- through the API. A token sees, streams and cancels only its own work unless it is admin.
ALTER TABLE generations ADD COLUMN IF NOT EXISTS owner TEXT;
ALTER TABLE batches ADD COLUMN IF NOT EXISTS owner TEXT;
ALTER TABLE scenes ADD COLUMN IF NOT EXISTS owner TEXT;

-- The concurrent-job quota counts a token's queued and running generations.
CREATE INDEX IF NOT EXISTS generations_owner_active ON generations (owner)
    WHERE owner IS NOT NULL AND status IN ('queued', 'running');

-- Idempotency keys and catalog fingerprints are unique per owner, not globally: two tokens
-- may use the same key (or submit the same catalog) without one receiving the other's
-- generation. COALESCE folds the CLI's NULL owner into one namespace ('' is never a token id).
-- Inserts name these indexes with ON CONFLICT ((COALESCE(owner, '')), <column>).
ALTER TABLE generations DROP CONSTRAINT IF EXISTS generations_idempotency_key_key;
CREATE UNIQUE INDEX IF NOT EXISTS generations_owner_idempotency_key
    ON generations ((COALESCE(owner, '')), idempotency_key);
ALTER TABLE batches DROP CONSTRAINT IF EXISTS batches_catalog_key_key;
CREATE UNIQUE INDEX IF NOT EXISTS batches_owner_catalog_key
    ON batches ((COALESCE(owner, '')), catalog_key);
