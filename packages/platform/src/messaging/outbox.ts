import { type EventData, type EventDefinition, type EventEnvelope, validateEvent } from '@assetops/contracts';
import type { Clock, IdGenerator } from '../clock.js';
import type { PoolClient } from '../db/pool.js';
import { wakeLocalLoopAfterCommit } from './leader-loop.js';

/** The channel the outbox relay listens on; a NOTIFY on it is delivered when the appending transaction commits. */
export const OUTBOX_CHANNEL = 'assetops_outbox';

export interface AppendOptions {
  /**
   * Store the events as ONE outbox row holding them all (in order), instead of one row each. For
   * high-volume producers (the telemetry feed appends hundreds of windows per transaction): the
   * row's insert, its index entries, the relay's claim and mark and the row's vacuum are paid once
   * per append instead of once per event. The relay publishes the events one by one, as if they
   * had been separate rows; readers of the table see them through the `outbox_events` view.
   */
  pack?: boolean;
}

/**
 * Appends events to the transactional outbox, inside the caller's transaction: they are published
 * if and only if that transaction commits. Each event is validated first (throws
 * `EventValidationError`, so an invalid event rolls the whole change back). Events are stored and
 * later published in the order given; callers lock the aggregate row they change before appending,
 * which is what keeps the events of one subject in order across concurrent transactions.
 *
 * The relay is woken when the transaction commits: directly when it runs in this process and the
 * transaction was opened by `withTransaction`, otherwise by a NOTIFY (see
 * {@link wakeLocalLoopAfterCommit} for why not always).
 *
 * @example
 * await withTransaction(pool, async (tx) => {
 *   await tx.query('UPDATE assets SET … WHERE id = $1', [assetId]);
 *   await appendToOutbox(tx, [createEvent(AssetUpdated, data, { subject: assetId, clock, ids })]);
 * });
 */
export async function appendToOutbox(
  tx: PoolClient,
  events: readonly EventEnvelope[],
  opts: AppendOptions = {},
): Promise<void> {
  if (events.length === 0) return;
  const valid = events.map((event) => validateEvent(event));
  // Notifications are queued until COMMIT (and dropped on ROLLBACK), so the relay wakes exactly
  // when the rows become visible; identical notifications of one transaction are folded into one.
  const notifying = wakeLocalLoopAfterCommit(tx, OUTBOX_CHANNEL)
    ? 'SELECT 1'
    : `SELECT pg_notify('${OUTBOX_CHANNEL}', '')`;
  if (opts.pack && valid.length > 1) {
    // One row: its id is the first event's (the column is unique), its type the events' type when
    // they share one, its subject none (they have many).
    const types = new Set(valid.map((e) => e.type));
    await tx.query(
      `WITH appended AS (
         INSERT INTO outbox (id, type, subject, event, events) VALUES ($1::uuid, $2, NULL, $3::jsonb, $4)
         RETURNING 1)
       ${notifying}`,
      [
        valid[0]!.id,
        types.size === 1 ? valid[0]!.type : PACKED_MIXED_TYPE,
        JSON.stringify(valid),
        valid.length,
      ],
    );
    return;
  }
  // One statement, one round trip, for the whole batch: WITH ORDINALITY fixes the order in which
  // positions are drawn, and the NOTIFY rides along. The events travel as ONE JSON array: a
  // jsonb[] parameter would have every event's JSON escaped into an array literal, which cost the
  // client 2-3 times the CPU of the statement itself.
  await tx.query(
    `WITH appended AS (
       INSERT INTO outbox (id, type, subject, event)
       SELECT (u.e->>'id')::uuid, u.e->>'type', u.e->>'subject', u.e
         FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS u(e, ord)
        ORDER BY u.ord
       RETURNING 1)
     ${notifying}`,
    [JSON.stringify(valid)],
  );
}

/** The `type` of a packed outbox row whose events are of several types. */
export const PACKED_MIXED_TYPE = 'assetops.outbox.packed';

/** Where an event comes from and what it belongs to; see {@link createEvent}. */
export interface CreateEventOptions {
  /** The aggregate the event is about (the assetId); events of one subject are kept in order. */
  subject?: string;
  clock: Clock;
  ids: IdGenerator;
  /** The event that caused this one: sets `causationid` to its id and carries its correlation on. */
  causedBy?: Pick<EventEnvelope, 'id' | 'correlationid'>;
  /** Defaults to the cause's correlation, else to the new event's own id (the start of a chain). */
  correlationId?: string;
  /** Defaults to the cause's id when `causedBy` is given. */
  causationId?: string;
  /** W3C trace context of the request that produced the event. */
  traceparent?: string;
}

/**
 * Builds a CloudEvents envelope for a defined event type: a UUIDv7 id from `ids`, `time` from
 * `clock`, `source` and `type` from the definition. It does not validate; {@link appendToOutbox} does.
 *
 * @example
 * const event = createEvent(AssetRegistered, { assetId, name, … }, { subject: assetId, clock, ids });
 * const next = createEvent(AssetStatusChanged, data, { subject: assetId, clock, ids, causedBy: command });
 */
export function createEvent<TDef extends EventDefinition>(
  def: TDef,
  data: EventData<TDef>,
  opts: CreateEventOptions,
): EventEnvelope<EventData<TDef>> {
  const id = opts.ids.next();
  const event: EventEnvelope<EventData<TDef>> = {
    specversion: '1.0',
    id,
    source: def.source,
    type: def.type,
    time: opts.clock.now().toISOString(),
    datacontenttype: 'application/json',
    correlationid: opts.correlationId ?? opts.causedBy?.correlationid ?? opts.causedBy?.id ?? id,
    data,
  };
  // Optional attributes are left out rather than set to undefined: the envelope is stored as JSON
  // and compared by tests, and an absent key is what the schema means by "optional".
  if (opts.subject !== undefined) event.subject = opts.subject;
  const causationId = opts.causationId ?? opts.causedBy?.id;
  if (causationId !== undefined) event.causationid = causationId;
  if (opts.traceparent !== undefined) event.traceparent = opts.traceparent;
  return event;
}
