-- A counter of an establishment's configuration that every page reads (its sites, readiness
-- rules, required document classes, tariffs and billing parameters): each change of them
-- bumps it in its own transaction, so a process keeps that configuration in memory and
-- checks it against the counter read with the establishment, in the same snapshot.
ALTER TABLE establishments ADD COLUMN config_version BIGINT NOT NULL DEFAULT 1;
