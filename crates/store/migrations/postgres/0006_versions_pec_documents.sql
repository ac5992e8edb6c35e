-- Versions for what people edit in the document plan and the readiness rules
-- (a stale form is a 409); existing rows start at version 1.
ALTER TABLE document_classes ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE readiness_rules ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
