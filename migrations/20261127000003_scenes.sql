-- Scenes keep the stems of the generation they were saved from (track → object URI) and
-- the settings it ran with, so a new request can start from them.
ALTER TABLE scenes ADD COLUMN IF NOT EXISTS tracks JSONB NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE scenes ADD COLUMN IF NOT EXISTS description TEXT;
