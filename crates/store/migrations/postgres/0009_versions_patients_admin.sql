-- Versions for the records people edit in the patients, establishments and users
-- capabilities: a stale write (the version read is no longer current) is a 409.
-- Existing rows start at version 1.
ALTER TABLE debtors ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE establishments ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE sites ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE numbering_series ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
