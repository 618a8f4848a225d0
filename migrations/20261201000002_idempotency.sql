-- The fingerprint (sha256 of the request without its idempotency key) of each generation's
-- request, beside its idempotency key: the same key with the same request is a retry and
-- returns the generation; the same key with a different request is refused (409). NULL on
-- rows from before: those are taken as the same request.
ALTER TABLE generations ADD COLUMN IF NOT EXISTS request_hash TEXT;
