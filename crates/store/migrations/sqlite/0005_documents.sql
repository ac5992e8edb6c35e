-- Classification plan: classes of filed documents, with retention and requirements.
CREATE TABLE document_classes (
    id INTEGER PRIMARY KEY,
    establishment_id INTEGER NOT NULL REFERENCES establishments(id),
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    retention_years INTEGER NOT NULL,
    confidentiality TEXT NOT NULL,
    required_for TEXT NOT NULL,
    position INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (establishment_id, code)
);

-- Filed documents (metadata); the content is in document_contents or in the configured folder.
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    establishment_id INTEGER NOT NULL REFERENCES establishments(id),
    patient_id INTEGER NOT NULL REFERENCES patients(id),
    target_kind TEXT NOT NULL,
    target_id INTEGER NOT NULL,
    class_id INTEGER NOT NULL REFERENCES document_classes(id),
    confidentiality TEXT NOT NULL,
    title TEXT NOT NULL,
    file_name TEXT NOT NULL,
    mime TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    storage TEXT NOT NULL,
    document_date TEXT NOT NULL,
    retention_until TEXT,
    uploaded_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    withdrawn_at TEXT,
    withdrawn_reason TEXT,
    version INTEGER NOT NULL
);
CREATE INDEX documents_patient ON documents (patient_id);
CREATE INDEX documents_target ON documents (target_kind, target_id);
CREATE INDEX documents_retention ON documents (establishment_id, retention_until);

CREATE TABLE document_contents (
    document_id INTEGER PRIMARY KEY REFERENCES documents(id),
    content BLOB NOT NULL
);

ALTER TABLE readiness_rules ADD COLUMN documents_required BOOLEAN NOT NULL DEFAULT TRUE;
