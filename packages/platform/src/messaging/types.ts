import type { EventEnvelope } from '@assetops/contracts';
import type { PoolClient } from '../db/pool.js';

/**
 * The transport between services. Both implementations (in-process, NATS JetStream) are
 * at-least-once; the outbox on the producing side and the inbox on the consuming side turn that
 * into exactly-once effects.
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

export interface BusSubscriptionHandle {
  stop(): Promise<void>;
}

/**
 * An event handler: applies one event's effects using the consumer's transaction `tx`. Its effects
 * and the inbox's processed record commit together, so a redelivered event has no second effect.
 * Throw an AppError with `retryable: false` for a permanent failure (dead-lettered at once);
 * anything else is retried with backoff.
 */
export type EventHandler<TData = unknown> = (tx: PoolClient, event: EventEnvelope<TData>) => Promise<void>;
