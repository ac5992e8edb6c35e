CREATE TABLE cover_authorizations (
    id INTEGER PRIMARY KEY,
    establishment_id INTEGER NOT NULL REFERENCES establishments(id),
    patient_id INTEGER NOT NULL REFERENCES patients(id),
    stay_id INTEGER REFERENCES stays(id),
    planned_admission_date TEXT,
    payer_id INTEGER NOT NULL REFERENCES payers(id),
    number TEXT NOT NULL,
    status TEXT NOT NULL,
    requested_items TEXT NOT NULL,
    requested_days INTEGER NOT NULL,
    estimate_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    sent_at TEXT,
    answered_at TEXT,
    agreement_number TEXT,
    agreed_items TEXT,
    cap_per_day_minor INTEGER,
    max_days INTEGER,
    valid_from TEXT,
    valid_to TEXT,
    answer_note TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL,
    UNIQUE (establishment_id, number)
);
CREATE INDEX cover_authorizations_patient ON cover_authorizations (patient_id);
CREATE INDEX cover_authorizations_stay ON cover_authorizations (stay_id);
CREATE INDEX cover_authorizations_status ON cover_authorizations (establishment_id, status);
