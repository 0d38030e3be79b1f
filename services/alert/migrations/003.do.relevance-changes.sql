-- The relevance index (evaluation/relevance.ts) keeps in memory which (asset, metric) and (type,
-- metric) pairs any enabled rule watches, and each known asset's type. Reloading all rules and
-- assets every second cost ~60 ms of CPU with 10,000 assets; instead, every statement that changes
-- rules or known assets draws from this sequence, and the index reloads only when it moved.
-- Sequences are not transactional (no lock, no wait), so the reader also reloads for a short while
-- after each change and on a slow timer: a change drawn before its commit is still picked up.
CREATE SEQUENCE relevance_changes;

CREATE FUNCTION note_relevance_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM nextval('relevance_changes');
  RETURN NULL;
END;
$$;

CREATE TRIGGER rules_relevance_change
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rules
  FOR EACH STATEMENT EXECUTE FUNCTION note_relevance_change();

CREATE TRIGGER known_assets_relevance_change
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON known_assets
  FOR EACH STATEMENT EXECUTE FUNCTION note_relevance_change();
