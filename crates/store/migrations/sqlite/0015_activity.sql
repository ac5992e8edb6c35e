-- Activity: the acts of the medico-social centres (CMS) and the annexed services (TV,
-- telephone) of a patient, priced later by the dated tariffs (categories acte_cms, television,
-- telephone_activation, telephone_unite). Nothing here is deleted: an act is cancelled with a
-- reason, a subscription is closed; the triggers refuse any other change.
CREATE TABLE cms_acts (
    id INTEGER PRIMARY KEY,
    establishment_id INTEGER NOT NULL REFERENCES establishments(id),
    site_id INTEGER NOT NULL REFERENCES sites(id),
    patient_id INTEGER NOT NULL REFERENCES patients(id),
    act_date TEXT NOT NULL,
    practitioner TEXT NOT NULL,
    code TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    coefficient_centi INTEGER CHECK (coefficient_centi > 0),
    external_id TEXT,
    cancelled_at TEXT,
    cancel_reason TEXT,
    created_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK ((cancelled_at IS NULL) = (cancel_reason IS NULL))
);
-- A re-import of the same external id is the same act (NULL ids never collide).
CREATE UNIQUE INDEX cms_acts_establishment_id_external_id_key ON cms_acts (establishment_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX cms_acts_patient_date ON cms_acts (patient_id, act_date);

CREATE TRIGGER cms_acts_no_delete BEFORE DELETE ON cms_acts
BEGIN SELECT RAISE(ABORT, 'un acte ne se supprime pas : il s''annule'); END;
CREATE TRIGGER cms_acts_fixed BEFORE UPDATE ON cms_acts
WHEN NEW.establishment_id IS NOT OLD.establishment_id OR NEW.site_id IS NOT OLD.site_id OR NEW.patient_id IS NOT OLD.patient_id
  OR NEW.act_date IS NOT OLD.act_date OR NEW.practitioner IS NOT OLD.practitioner OR NEW.code IS NOT OLD.code
  OR NEW.quantity IS NOT OLD.quantity OR NEW.coefficient_centi IS NOT OLD.coefficient_centi OR NEW.external_id IS NOT OLD.external_id
  OR NEW.created_at IS NOT OLD.created_at OR OLD.cancelled_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'un acte ne change pas : il s''annule'); END;

-- What a site proposes (one offer per site): the tariff codes of the TV day, the telephone
-- activation and the call unit; an empty code: not proposed.
CREATE TABLE service_offers (
    id INTEGER PRIMARY KEY,
    establishment_id INTEGER NOT NULL REFERENCES establishments(id),
    site_id INTEGER NOT NULL REFERENCES sites(id),
    tv_code TEXT NOT NULL DEFAULT '',
    phone_activation_code TEXT NOT NULL DEFAULT '',
    phone_unit_code TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX service_offers_site_id_key ON service_offers (site_id);

CREATE TRIGGER service_offers_no_delete BEFORE DELETE ON service_offers
BEGIN SELECT RAISE(ABORT, 'une offre ne se supprime pas : elle se désactive'); END;

-- A patient's subscription, with the offer's codes copied when it opens (a later change of
-- the offer does not reprice it). The debtor: one of the file's debtors, or a named person,
-- or (both empty) the patient.
CREATE TABLE service_subscriptions (
    id INTEGER PRIMARY KEY,
    establishment_id INTEGER NOT NULL REFERENCES establishments(id),
    site_id INTEGER NOT NULL REFERENCES sites(id),
    patient_id INTEGER NOT NULL REFERENCES patients(id),
    stay_id INTEGER REFERENCES stays(id),
    kind TEXT NOT NULL,
    tv_code TEXT NOT NULL DEFAULT '',
    phone_activation_code TEXT NOT NULL DEFAULT '',
    phone_unit_code TEXT NOT NULL DEFAULT '',
    line_number TEXT NOT NULL DEFAULT '',
    debtor_id INTEGER REFERENCES debtors(id),
    debtor_name TEXT NOT NULL DEFAULT '',
    opened_on TEXT NOT NULL,
    closed_on TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (closed_on IS NULL OR closed_on >= opened_on)
);
CREATE INDEX service_subscriptions_patient ON service_subscriptions (patient_id, opened_on);
CREATE INDEX service_subscriptions_stay ON service_subscriptions (stay_id);

CREATE TRIGGER service_subscriptions_no_delete BEFORE DELETE ON service_subscriptions
BEGIN SELECT RAISE(ABORT, 'un abonnement ne se supprime pas : il se clôt'); END;
CREATE TRIGGER service_subscriptions_fixed BEFORE UPDATE ON service_subscriptions
WHEN NEW.establishment_id IS NOT OLD.establishment_id OR NEW.site_id IS NOT OLD.site_id OR NEW.patient_id IS NOT OLD.patient_id
  OR NEW.kind IS NOT OLD.kind OR NEW.tv_code IS NOT OLD.tv_code OR NEW.phone_activation_code IS NOT OLD.phone_activation_code
  OR NEW.phone_unit_code IS NOT OLD.phone_unit_code OR NEW.opened_on IS NOT OLD.opened_on OR NEW.created_at IS NOT OLD.created_at
BEGIN SELECT RAISE(ABORT, 'un abonnement garde son offre et sa date d''ouverture'); END;

-- Call units of a telephone subscription, entered or imported (external id: idempotent).
CREATE TABLE service_units (
    id INTEGER PRIMARY KEY,
    establishment_id INTEGER NOT NULL REFERENCES establishments(id),
    subscription_id INTEGER NOT NULL REFERENCES service_subscriptions(id),
    used_on TEXT NOT NULL,
    units INTEGER NOT NULL CHECK (units > 0),
    external_id TEXT,
    created_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX service_units_establishment_id_external_id_key ON service_units (establishment_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX service_units_subscription ON service_units (subscription_id, used_on);

CREATE TRIGGER service_units_no_delete BEFORE DELETE ON service_units
BEGIN SELECT RAISE(ABORT, 'des unités ne se suppriment pas'); END;
CREATE TRIGGER service_units_fixed BEFORE UPDATE ON service_units
BEGIN SELECT RAISE(ABORT, 'des unités ne changent pas'); END;
