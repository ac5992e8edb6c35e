CREATE TABLE payers (
    id INTEGER PRIMARY KEY,
    establishment_id INTEGER NOT NULL REFERENCES establishments(id),
    code TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    identifier TEXT,
    address_line1 TEXT,
    address_line2 TEXT,
    postcode TEXT,
    city TEXT,
    country TEXT,
    phone TEXT,
    email TEXT,
    contact_name TEXT,
    payment_terms_days INTEGER NOT NULL,
    statement_period TEXT NOT NULL,
    statement_deadline_days INTEGER NOT NULL,
    channel TEXT NOT NULL,
    accounting_account TEXT,
    active BOOLEAN NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (establishment_id, code)
);

-- Dated default rates of a payer by category of charge (basis points); a coverage
-- opened at a date takes the rates valid at that date unless given explicitly.
CREATE TABLE payer_rates (
    id INTEGER PRIMARY KEY,
    payer_id INTEGER NOT NULL REFERENCES payers(id),
    category TEXT NOT NULL,
    rate_bp INTEGER NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    valid_from TEXT NOT NULL,
    valid_to TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX payer_rates_payer ON payer_rates (payer_id, category, valid_from);

CREATE TABLE stays (
    id INTEGER PRIMARY KEY,
    patient_id INTEGER NOT NULL REFERENCES patients(id),
    establishment_id INTEGER NOT NULL REFERENCES establishments(id),
    site_id INTEGER NOT NULL REFERENCES sites(id),
    admission_at TEXT NOT NULL,
    planned_discharge_date TEXT,
    discharge_at TEXT,
    discharge_mode TEXT,
    care_mode TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX stays_patient ON stays (patient_id);
CREATE INDEX stays_site_open ON stays (establishment_id, site_id, discharge_at);

CREATE TABLE coverages (
    id INTEGER PRIMARY KEY,
    patient_id INTEGER NOT NULL REFERENCES patients(id),
    payer_id INTEGER NOT NULL REFERENCES payers(id),
    role TEXT NOT NULL,
    member_number TEXT,
    beneficiary TEXT NOT NULL,
    insured_patient_id INTEGER REFERENCES patients(id),
    insured_name TEXT,
    valid_from TEXT NOT NULL,
    valid_to TEXT,
    rate_sejour_bp INTEGER NOT NULL,
    rate_actes_bp INTEGER NOT NULL,
    rate_fj_bp INTEGER NOT NULL,
    rate_cp_bp INTEGER NOT NULL,
    rate_annexes_bp INTEGER NOT NULL,
    exemptions TEXT NOT NULL,
    priority INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX coverages_patient ON coverages (patient_id);

-- Billing-readiness rules of an establishment (defaults apply without a row).
CREATE TABLE readiness_rules (
    establishment_id INTEGER PRIMARY KEY REFERENCES establishments(id),
    min_identity_status TEXT,
    birth_place_required BOOLEAN NOT NULL,
    debtor_required BOOLEAN NOT NULL,
    debtor_address_required BOOLEAN NOT NULL,
    compulsory_coverage_required BOOLEAN NOT NULL,
    complementary_care_modes TEXT NOT NULL,
    pec_required BOOLEAN NOT NULL,
    pec_answer_days INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
