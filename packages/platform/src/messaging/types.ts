import type { EventEnvelope } from '@assetops/contracts';
import type { PoolClient } from '../db/pool.js';

/**
 * The transport between services. Both implementations (in-process, NATS JetStream) are
 * at-least-once; the outbox on the producing side and the inbox on the consuming side turn that
 * into exactly-once effects. Services never call it directly: the outbox relay publishes and the
 * event consumer subscribes.
 *
 * @example
 * const bus = env.NATS_URL ? await createNatsBus({ servers: env.NATS_URL, name, logger }) : createInProcessBus();
 */
export interface EventBus {
  /** `inprocess` or `nats`. */
  readonly kind: string;
  /**
   * Publishes a batch of events of one producing service, in order. Resolves only when every event
   * is durably accepted by the transport (JetStream ack; in-process: stored in every subscribed
   * consumer's inbox). Rejects if any was not: the caller republishes the batch, which is safe.
   */
  publish(events: readonly EventEnvelope[]): Promise<void>;
  /**
   * Starts delivering the events of the given producing services to `deliver`, in batches and in
   * publish order per producer. A batch is acknowledged to the transport when `deliver` resolves; if
   * it rejects the batch is redelivered later.
   */
  subscribe(subscription: BusSubscription): Promise<BusSubscriptionHandle>;
  close(): Promise<void>;
}

/** What {@link EventBus.subscribe} delivers, and to whom. */
export interface BusSubscription {
  /** The consuming service (durable consumer name), e.g. `telemetry`. */
  consumer: string;
  /** Producing services whose events to receive, e.g. `['asset']`. */
  sources: readonly string[];
  /** Only these CloudEvents types are delivered (others are acknowledged and dropped). */
  types: readonly string[];
  deliver(batch: readonly EventEnvelope[]): Promise<void>;
  /**
   * Called with a message that is not even JSON (a transport that carries bytes, like NATS, can
   * receive one from a foreign publisher). Resolving it acknowledges the message for good; rejecting
   * it retries like a rejected `deliver`. Without it the transport logs and drops such a message.
   * Messages that parse but are not valid events go to `deliver`: the consumer validates them.
   */
  onMalformed?(message: MalformedMessage): Promise<void>;
  /**
   * The subscriber stores what it receives (an inbox) and must not miss events between a stop and
   * its next start. A transport that keeps nothing itself (in-process) then refuses to publish the
   * events of a stopped durable subscription instead of dropping them, so they stay in the
   * producer's outbox. Transports that store events (JetStream) are durable anyway.
   */
  durable?: boolean;
}

/** A message a transport could not turn into an event. */
export interface MalformedMessage {
  /** The transport subject or channel it arrived on. */
  subject: string;
  /** The raw payload as text (invalid UTF-8 replaced). */
  raw: string;
  /** Why it could not be parsed. */
  reason: string;
}

/** Ends a subscription: no `deliver` call starts after `stop()` resolves. */
export interface BusSubscriptionHandle {
  stop(): Promise<void>;
}

/**
 * An event handler: applies one event's effects using the consumer's transaction `tx`. Its effects
 * and the inbox's processed record commit together, so a redelivered event has no second effect.
 * Throw an AppError with `retryable: false` for a permanent failure (dead-lettered at once);
 * anything else is retried with backoff. Handlers must not have effects outside `tx` (or must make
 * them idempotent): a handler may run again after a failure later in its batch.
 *
 * @example
 * const onRegistered: EventHandler<AssetRegisteredData> = async (tx, event) => {
 *   await tx.query('INSERT INTO known_assets (id, type) VALUES ($1, $2) ON CONFLICT DO NOTHING',
 *     [event.data.assetId, event.data.type]);
 * };
 */
export interface EventHandler<TData = unknown> {
  (tx: PoolClient, event: EventEnvelope<TData>): Promise<void>;
  /**
   * Optional: the same effects for a run of consecutive events of the handler's type at once (see
   * {@link BatchEventHandler}). Attach it with `eventHandler(def, handler, batch)` or
   * `withBatchHandler(handler, batch)`.
   */
  readonly batch?: BatchEventHandler<TData>;
}

/**
 * Handles several events of one type in one call, in the consumer's transaction `tx` — for hot event
 * types whose per-event statements cost more than the work itself. The consumer calls it with a run
 * of consecutive inbox rows of that type (two or more, in inbox order), so events of other types
 * keep their place around the run. Its effects must be those of the per-event handler applied to
 * each event in turn. If it throws, the consumer rolls the round back and handles those events one
 * by one with the per-event handler for the rest of the pass, so a failing event is found and
 * retried or dead-lettered on its own, exactly as without a batch handler.
 *
 * @example
 * const onReadings: BatchEventHandler<ReadingData> = async (tx, events) => {
 *   await tx.query('INSERT INTO latest (asset_id, value) SELECT * FROM unnest($1::uuid[], $2::float8[]) …',
 *     [events.map((e) => e.data.assetId), events.map((e) => e.data.value)]);
 * };
 */
export type BatchEventHandler<TData = unknown> = (
  tx: PoolClient,
  events: readonly EventEnvelope<TData>[],
) => Promise<void>;
