-- Messages a consumer gave up on: events whose handler kept failing or failed permanently, events
-- that do not match their schema, and (later) device payloads that cannot be parsed. Generic on
-- purpose: `event_id` is null when the message is not an event that can be redriven.
CREATE TABLE dead_letters (
  id          bigserial   PRIMARY KEY,
  consumer    text        NOT NULL,
  event_id    uuid,
  type        text,
  subject     text,
  payload     jsonb       NOT NULL,
  reason      text        NOT NULL,
  attempts    integer     NOT NULL DEFAULT 0,
  dead_at     timestamptz NOT NULL DEFAULT now(),
  redriven_at timestamptz
);

-- Operators list what is still dead, per consumer, newest first.
CREATE INDEX dead_letters_open_idx ON dead_letters (consumer, id) WHERE redriven_at IS NULL;
