-- Transactional outbox: a service appends its events here in the same transaction as the state
-- change they describe; the outbox relay publishes them in `position` order and marks them.
CREATE TABLE outbox (
  position     bigserial   PRIMARY KEY,
  id           uuid        NOT NULL UNIQUE,
  type         text        NOT NULL,
  subject      text,
  event        jsonb       NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);

-- The relay's only query on the hot path: the oldest unpublished rows. Partial, so it stays as
-- small as the backlog however large the table grows.
CREATE INDEX outbox_pending_idx ON outbox (position) WHERE published_at IS NULL;

-- The purge deletes published rows older than the retention; without this it would scan the whole
-- retention window (hundreds of millions of rows a day at full rate) on every run.
CREATE INDEX outbox_published_at_idx ON outbox (published_at) WHERE published_at IS NOT NULL;
