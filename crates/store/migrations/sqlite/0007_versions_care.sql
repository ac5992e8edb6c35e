-- Versions of care's edited entities (issue 8, one write path): a stale form or API
-- request is refused with a 409 instead of silently reverting another agent's change.
-- Stays already carry a version. Dated payer rates are append-only rows (a new rate
-- closes the open one of its category): they are versioned through their payer.
ALTER TABLE coverages ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE payers ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
