-- What happens during a stay (billing engine): movements and periods, and the costly acts
-- that bring the participation forfaitaire. Never deleted: a mistaken row is cancelled with a
-- reason. Both are versioned through their stay (adding or cancelling one bumps stays.version).
CREATE TABLE stay_movements (
    id INTEGER PRIMARY KEY,
    stay_id INTEGER NOT NULL REFERENCES stays(id),
    kind TEXT NOT NULL,
    start_at TEXT NOT NULL,
    end_at TEXT,
    service TEXT NOT NULL DEFAULT '',
    unit TEXT NOT NULL DEFAULT '',
    written_request BOOLEAN NOT NULL DEFAULT FALSE,
    external_id TEXT,
    cancelled_at TEXT,
    cancel_reason TEXT,
    created_at TEXT NOT NULL,
    CHECK (end_at IS NULL OR end_at > start_at),
    CHECK ((cancelled_at IS NULL) = (cancel_reason IS NULL))
);
CREATE INDEX stay_movements_stay ON stay_movements (stay_id, start_at);
CREATE UNIQUE INDEX stay_movements_external ON stay_movements (stay_id, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE stay_acts (
    id INTEGER PRIMARY KEY,
    stay_id INTEGER NOT NULL REFERENCES stays(id),
    performed_on TEXT NOT NULL,
    code TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
    coefficient_centi INTEGER CHECK (coefficient_centi > 0),
    external_id TEXT,
    cancelled_at TEXT,
    cancel_reason TEXT,
    created_at TEXT NOT NULL,
    CHECK ((cancelled_at IS NULL) = (cancel_reason IS NULL))
);
CREATE INDEX stay_acts_stay ON stay_acts (stay_id);
CREATE UNIQUE INDEX stay_acts_external ON stay_acts (stay_id, external_id) WHERE external_id IS NOT NULL;

-- The patient-management software's id of a stay, for idempotent imports.
ALTER TABLE stays ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX stays_external ON stays (establishment_id, external_id) WHERE external_id IS NOT NULL;

-- Rows are cancelled, never deleted, and only their cancellation is ever written after insert.
CREATE TRIGGER stay_movements_no_delete BEFORE DELETE ON stay_movements
BEGIN SELECT RAISE(ABORT, 'un mouvement ne se supprime pas : il s''annule avec un motif'); END;
CREATE TRIGGER stay_movements_fixed BEFORE UPDATE ON stay_movements
WHEN NEW.stay_id IS NOT OLD.stay_id OR NEW.kind IS NOT OLD.kind OR NEW.start_at IS NOT OLD.start_at OR NEW.end_at IS NOT OLD.end_at
  OR NEW.service IS NOT OLD.service OR NEW.unit IS NOT OLD.unit OR NEW.written_request IS NOT OLD.written_request
  OR NEW.external_id IS NOT OLD.external_id OR NEW.created_at IS NOT OLD.created_at OR OLD.cancelled_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'un mouvement ne change pas : il s''annule et un autre le remplace'); END;
CREATE TRIGGER stay_acts_no_delete BEFORE DELETE ON stay_acts
BEGIN SELECT RAISE(ABORT, 'un acte ne se supprime pas : il s''annule avec un motif'); END;
CREATE TRIGGER stay_acts_fixed BEFORE UPDATE ON stay_acts
WHEN NEW.stay_id IS NOT OLD.stay_id OR NEW.performed_on IS NOT OLD.performed_on OR NEW.code IS NOT OLD.code OR NEW.label IS NOT OLD.label
  OR NEW.amount_minor IS NOT OLD.amount_minor OR NEW.coefficient_centi IS NOT OLD.coefficient_centi
  OR NEW.external_id IS NOT OLD.external_id OR NEW.created_at IS NOT OLD.created_at OR OLD.cancelled_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'un acte ne change pas : il s''annule et un autre le remplace'); END;
