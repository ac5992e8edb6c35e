CREATE TABLE patients (
    id INTEGER PRIMARY KEY,
    establishment_id INTEGER NOT NULL REFERENCES establishments(id),
    ipp TEXT NOT NULL,
    birth_name TEXT NOT NULL,
    used_name TEXT,
    birth_first_names TEXT NOT NULL,
    first_name TEXT NOT NULL,
    used_first_name TEXT,
    birth_date TEXT NOT NULL,
    birth_date_incomplete BOOLEAN NOT NULL,
    sex TEXT NOT NULL,
    birth_place_code TEXT,
    birth_place_label TEXT,
    identity_status TEXT NOT NULL,
    doc_type TEXT,
    doc_number TEXT,
    doc_expiry TEXT,
    insi_checked BOOLEAN NOT NULL,
    attributes TEXT NOT NULL,
    nir TEXT,
    cafat_number TEXT,
    address_line1 TEXT,
    address_line2 TEXT,
    postcode TEXT,
    city TEXT,
    country TEXT,
    phone TEXT,
    mobile TEXT,
    email TEXT,
    language TEXT,
    legal_rep_name TEXT,
    legal_rep_relation TEXT,
    legal_rep_phone TEXT,
    date_of_death TEXT,
    non_disclosure BOOLEAN NOT NULL,
    birth_name_key TEXT NOT NULL,
    used_name_key TEXT,
    first_name_key TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL,
    UNIQUE (establishment_id, ipp)
);
CREATE INDEX patients_birth_name ON patients (establishment_id, birth_name_key, first_name_key);
CREATE INDEX patients_used_name ON patients (establishment_id, used_name_key, first_name_key) WHERE used_name_key IS NOT NULL;
CREATE INDEX patients_birth_date ON patients (establishment_id, birth_date);
CREATE INDEX patients_nir ON patients (nir) WHERE nir IS NOT NULL;
CREATE INDEX patients_cafat ON patients (cafat_number) WHERE cafat_number IS NOT NULL;

CREATE TABLE patient_sites (
    patient_id INTEGER NOT NULL REFERENCES patients(id),
    site_id INTEGER NOT NULL REFERENCES sites(id),
    PRIMARY KEY (patient_id, site_id)
);
CREATE INDEX patient_sites_site ON patient_sites (site_id);

CREATE TABLE patient_identifiers (
    id INTEGER PRIMARY KEY,
    patient_id INTEGER NOT NULL REFERENCES patients(id),
    issuer TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (patient_id, issuer, value)
);
CREATE INDEX patient_identifiers_value ON patient_identifiers (value);

CREATE TABLE debtors (
    id INTEGER PRIMARY KEY,
    patient_id INTEGER NOT NULL REFERENCES patients(id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    relationship TEXT,
    address_line1 TEXT,
    address_line2 TEXT,
    postcode TEXT,
    city TEXT,
    country TEXT,
    phone TEXT,
    email TEXT,
    guarantees TEXT NOT NULL,
    is_default BOOLEAN NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX debtors_patient ON debtors (patient_id);
