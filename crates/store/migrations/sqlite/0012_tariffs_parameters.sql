-- Dated tariffs and rule parameters per establishment (billing engine). A price or a rule
-- changes by a new row from a date; the row valid on a day prices that day. Rows are never
-- deleted, and once written only their last day (valid_to, when a later version starts) and
-- version change: the triggers refuse anything else, so a valued day keeps its price.
CREATE TABLE tariffs (
    id INTEGER PRIMARY KEY,
    establishment_id INTEGER NOT NULL REFERENCES establishments(id),
    site_id INTEGER REFERENCES sites(id),
    service TEXT NOT NULL DEFAULT '',
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    category TEXT NOT NULL,
    unit TEXT NOT NULL,
    price_minor INTEGER NOT NULL CHECK (price_minor >= 0),
    coefficient_centi INTEGER CHECK (coefficient_centi > 0),
    valid_from TEXT NOT NULL,
    valid_to TEXT,
    source TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
-- One version per scope and first day (two indexes: NULL site ids never collide in a unique index).
CREATE UNIQUE INDEX tariffs_establishment_id_code_site_id_service_valid_from_key ON tariffs (establishment_id, code, site_id, service, valid_from);
CREATE UNIQUE INDEX tariffs_establishment_id_code_service_valid_from_key ON tariffs (establishment_id, code, service, valid_from) WHERE site_id IS NULL;
CREATE INDEX tariffs_establishment_category ON tariffs (establishment_id, category, code);

CREATE TRIGGER tariffs_no_delete BEFORE DELETE ON tariffs
BEGIN SELECT RAISE(ABORT, 'un tarif ne se supprime pas'); END;
CREATE TRIGGER tariffs_fixed BEFORE UPDATE ON tariffs
WHEN NEW.establishment_id IS NOT OLD.establishment_id OR NEW.site_id IS NOT OLD.site_id OR NEW.service IS NOT OLD.service
  OR NEW.code IS NOT OLD.code OR NEW.label IS NOT OLD.label OR NEW.category IS NOT OLD.category OR NEW.unit IS NOT OLD.unit
  OR NEW.price_minor IS NOT OLD.price_minor OR NEW.coefficient_centi IS NOT OLD.coefficient_centi
  OR NEW.valid_from IS NOT OLD.valid_from OR NEW.source IS NOT OLD.source OR NEW.created_at IS NOT OLD.created_at
BEGIN SELECT RAISE(ABORT, 'un tarif ne change pas : une nouvelle version le remplace'); END;

CREATE TABLE billing_parameters (
    id INTEGER PRIMARY KEY,
    establishment_id INTEGER NOT NULL REFERENCES establishments(id),
    key TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    value TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to TEXT,
    source TEXT NOT NULL,
    created_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX billing_parameters_establishment_id_key_subject_valid_from_key ON billing_parameters (establishment_id, key, subject, valid_from);

CREATE TRIGGER billing_parameters_no_delete BEFORE DELETE ON billing_parameters
BEGIN SELECT RAISE(ABORT, 'un paramètre de facturation ne se supprime pas'); END;
CREATE TRIGGER billing_parameters_fixed BEFORE UPDATE ON billing_parameters
WHEN NEW.establishment_id IS NOT OLD.establishment_id OR NEW.key IS NOT OLD.key OR NEW.subject IS NOT OLD.subject
  OR NEW.value IS NOT OLD.value OR NEW.valid_from IS NOT OLD.valid_from OR NEW.source IS NOT OLD.source OR NEW.created_at IS NOT OLD.created_at
BEGIN SELECT RAISE(ABORT, 'un paramètre de facturation ne change pas : une nouvelle version le remplace'); END;
