-- Packed outbox rows: `appendToOutbox(tx, events, { pack: true })` stores a transaction's events as
-- ONE row whose `event` is the JSON array of them (high-volume producers: one insert, one mark and
-- one dead tuple per append instead of per event). `events` is how many a row holds, so that the
-- relay can claim rows up to a number of events without reading them.
ALTER TABLE outbox ADD COLUMN events integer NOT NULL DEFAULT 1;

-- Every event as a row of its own, packed or not, in publication order (position, then ord).
CREATE VIEW outbox_events AS
SELECT o.position, e.ord::integer AS ord, (e.event->>'id')::uuid AS id, e.event->>'type' AS type,
       e.event->>'subject' AS subject, e.event, o.created_at, o.published_at
  FROM outbox o
 CROSS JOIN LATERAL jsonb_array_elements(
         CASE WHEN jsonb_typeof(o.event) = 'array' THEN o.event ELSE jsonb_build_array(o.event) END
       ) WITH ORDINALITY AS e(event, ord);
