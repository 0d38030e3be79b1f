-- The saga-state gauges (assetops_sagas) count sagas by type and status on every scrape: an
-- index-only scan of this index instead of the whole table.
CREATE INDEX sagas_type_status_idx ON sagas (type, status);
