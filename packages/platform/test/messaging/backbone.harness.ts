import { AssetUpdated, type EventEnvelope } from '@assetops/contracts';
import {
  appendToOutbox,
  createEvent,
  createEventConsumer,
  createLogger,
  createOutboxRelay,
  type EventBus,
  type EventConsumer,
  type EventConsumerOptions,
  type EventHandler,
  messagingMigrations,
  type OutboxRecord,
  type OutboxRelay,
  type OutboxRelayOptions,
  type PoolClient,
  runMigrations,
  systemClock,
  uuidV7Ids,
  withTransaction,
} from '../../src/index.js';
import { createTestDatabase, type TestDatabase } from '../../src/testkit/index.js';

export const silentLogger = createLogger({ service: 'messaging-test', level: 'silent' });

/**
 * Polls `check` until it returns something other than undefined/false, or fails after `timeoutMs`.
 * Tests wait for conditions, never for fixed times.
 */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${opts.what ?? 'a condition'}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 20));
  }
}

/** A transport under test: the buses a producer and a consumer use (one and the same in-process). */
export interface TransportUnderTest {
  name: string;
  open(): Promise<OpenTransport>;
}

export interface OpenTransport {
  producerBus: EventBus;
  consumerBus: EventBus;
  /** Puts an event on the transport again, the way a transport redelivers (bypassing dedup at the source). */
  redeliver(event: EventEnvelope): Promise<void>;
  close(): Promise<void>;
}

/** Wraps a bus to count how often each event id reached the subscriber's `deliver`. */
export function observeDeliveries(bus: EventBus): { bus: EventBus; count(eventId: string): number } {
  const counts = new Map<string, number>();
  return {
    count: (eventId) => counts.get(eventId) ?? 0,
    bus: {
      kind: bus.kind,
      publish: (events) => bus.publish(events),
      close: () => bus.close(),
      subscribe: (sub) =>
        bus.subscribe({
          ...sub,
          deliver: async (batch) => {
            await sub.deliver(batch);
            for (const e of batch) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
          },
          onMalformed: sub.onMalformed?.bind(sub),
        }),
    },
  };
}

/** An `AssetUpdated` event of `assetId` at `version`. */
export function assetUpdated(assetId: string, version: number): EventEnvelope {
  return createEvent(
    AssetUpdated,
    { assetId, changes: { name: `pump v${version}` }, version, updatedAt: new Date().toISOString() },
    { subject: assetId, clock: systemClock, ids: uuidV7Ids },
  );
}

export interface EffectRow {
  n: number;
  event_id: string;
  asset_id: string;
  version: number;
}

export interface InboxState {
  status: string;
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date | null;
}

export interface BackboneOptions {
  /** Runs inside the handler's transaction after the effect was written; throw to fail the attempt. */
  afterEffect?: (tx: PoolClient, event: EventEnvelope, attempt: number) => Promise<void>;
  consumer?: Partial<Pick<EventConsumerOptions, 'retry' | 'batchSize' | 'metrics' | 'handleOnReceive'>>;
  relay?: Partial<Pick<OutboxRelayOptions, 'afterPublish' | 'batchSize'>>;
}

/**
 * A producer database with an outbox relay and a consumer database with an event consumer whose
 * handler writes one `effects` row per event it processes — so a second effect would show.
 */
export interface Backbone {
  producer: TestDatabase;
  consuming: TestDatabase;
  transport: OpenTransport;
  relay: OutboxRelay;
  consumer: EventConsumer;
  /** Calls of the handler per event id (including failed attempts). */
  attempts: Map<string, number>;
  deliveries: (eventId: string) => number;
  append(events: EventEnvelope[]): Promise<void>;
  effects(): Promise<EffectRow[]>;
  inbox(eventId: string): Promise<InboxState | undefined>;
  waitProcessed(eventIds: string[], timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export const CONSUMER = 'testconsumer';

export async function startBackbone(
  transportUnderTest: TransportUnderTest,
  opts: BackboneOptions = {},
): Promise<Backbone> {
  const [producer, consuming] = await Promise.all([
    createTestDatabase('msg_prod'),
    createTestDatabase('msg_cons'),
  ]);
  await runMigrations(producer.pool, [messagingMigrations]);
  await runMigrations(consuming.pool, [messagingMigrations]);
  await consuming.pool.query(
    'CREATE TABLE effects (n bigserial PRIMARY KEY, event_id uuid NOT NULL, asset_id uuid NOT NULL, version int NOT NULL)',
  );
  const transport = await transportUnderTest.open();
  const observed = observeDeliveries(transport.consumerBus);
  const attempts = new Map<string, number>();

  const onUpdated: EventHandler<{ assetId: string; version: number }> = async (tx, event) => {
    const attempt = (attempts.get(event.id) ?? 0) + 1;
    attempts.set(event.id, attempt);
    await tx.query('INSERT INTO effects (event_id, asset_id, version) VALUES ($1, $2, $3)', [
      event.id,
      event.data.assetId,
      event.data.version,
    ]);
    await opts.afterEffect?.(tx, event, attempt);
  };

  const consumer = createEventConsumer({
    name: CONSUMER,
    pool: consuming.pool,
    bus: observed.bus,
    sources: ['asset'],
    handlers: { [AssetUpdated.type]: onUpdated },
    logger: silentLogger,
    retry: { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 50, ...opts.consumer?.retry },
    batchSize: opts.consumer?.batchSize,
    handleOnReceive: opts.consumer?.handleOnReceive,
    ...(opts.consumer?.metrics ? { metrics: opts.consumer.metrics } : {}),
    pollIntervalMs: 50,
    standbyRetryMs: 50,
    errorBackoff: { baseMs: 20, maxMs: 200 },
  });
  const relay = createOutboxRelay({
    pool: producer.pool,
    bus: transport.producerBus,
    logger: silentLogger,
    pollIntervalMs: 50,
    standbyRetryMs: 50,
    errorBackoff: { baseMs: 20, maxMs: 200 },
    ...opts.relay,
  });
  // Consumers subscribe before relays start: the in-process bus delivers only to current subscribers.
  await consumer.start();
  relay.start();

  const backbone: Backbone = {
    producer,
    consuming,
    transport,
    relay,
    consumer,
    attempts,
    deliveries: observed.count,
    append: (events) => withTransaction(producer.pool, (tx) => appendToOutbox(tx, events)),
    async effects() {
      const { rows } = await consuming.pool.query<EffectRow>(
        'SELECT n, event_id, asset_id, version FROM effects ORDER BY n',
      );
      return rows;
    },
    async inbox(eventId) {
      const { rows } = await consuming.pool.query<InboxState>(
        'SELECT status, attempts, last_error, next_attempt_at FROM inbox WHERE consumer = $1 AND event_id = $2',
        [CONSUMER, eventId],
      );
      return rows[0];
    },
    async waitProcessed(eventIds, timeoutMs = 10_000) {
      await waitFor(
        async () => {
          const { rows } = await consuming.pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM inbox WHERE consumer = $1 AND event_id = ANY($2::uuid[]) AND status = 'processed'`,
            [CONSUMER, eventIds],
          );
          return rows[0]!.n === eventIds.length;
        },
        { timeoutMs, what: `${eventIds.length} events processed` },
      );
    },
    async stop() {
      await relay.stop();
      await consumer.stop();
      await transport.close();
      await Promise.all([producer.drop(), consuming.drop()]);
    },
  };
  return backbone;
}

export type { OutboxRecord };
