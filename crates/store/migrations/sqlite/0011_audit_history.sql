-- A file's history (its changes, not its views) read newest first without walking its view
-- rows: every view of a file is audited, so a file opened thousands of times would
-- otherwise make each history read scan thousands of rows. The predicate is the history
-- query's own, word for word, so that both planners use the index.
CREATE INDEX audit_log_history ON audit_log (entity, entity_id, seq)
    WHERE action NOT LIKE 'view%' AND action <> 'document_view' AND outcome = 'ok';
