-- Inbox: every event a consumer received, stored before the transport is acknowledged, then
-- processed in `seq` order. The primary key makes redelivered events no-ops; the row turns
-- `processed` in the same transaction as the handler's effects, so effects happen exactly once.
CREATE TABLE inbox (
  seq             bigserial   NOT NULL,
  consumer        text        NOT NULL,
  event_id        uuid        NOT NULL,
  type            text        NOT NULL,
  subject         text,
  event           jsonb       NOT NULL,
  status          text        NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'processed', 'dead')),
  attempts        integer     NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  last_error      text,
  received_at     timestamptz NOT NULL DEFAULT now(),
  processed_at    timestamptz,
  PRIMARY KEY (consumer, event_id)
);

-- The worker claims the oldest pending rows of its consumer.
CREATE INDEX inbox_pending_idx ON inbox (consumer, seq) WHERE status = 'pending';

-- Per-subject ordering: the worker skips a row while an earlier pending row of the same subject is
-- waiting for its retry; this index answers that question for each candidate row.
CREATE INDEX inbox_pending_subject_idx ON inbox (consumer, subject, seq) WHERE status = 'pending';

-- The purge of processed rows older than the retention.
CREATE INDEX inbox_processed_at_idx ON inbox (consumer, processed_at) WHERE status = 'processed';
