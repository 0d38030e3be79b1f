import { randomUUID } from 'node:crypto';
import { AssetRegistered, type EventEnvelope } from '@assetops/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type BatchEventHandler,
  createEvent,
  createEventConsumer,
  createInProcessBus,
  type EventHandler,
  eventHandler,
  listDeadLetters,
  messagingMigrations,
  runMigrations,
  systemClock,
  uuidV7Ids,
  ValidationError,
  withBatchHandler,
} from '../../src/index.js';
import { createTestDatabase, type TestDatabase } from '../../src/testkit/index.js';
import { assetUpdated, silentLogger } from './backbone.harness.js';

const CONSUMER = 'batchconsumer';

function registered(assetId: string): EventEnvelope {
  return createEvent(
    AssetRegistered,
    {
      assetId,
      name: 'Feed pump',
      type: 'pump',
      location: null,
      metadata: {},
      status: 'commissioning',
      registeredAt: new Date().toISOString(),
    },
    { subject: assetId, clock: systemClock, ids: uuidV7Ids },
  );
}

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('msg_batch');
  await runMigrations(db.pool, [messagingMigrations]);
  await db.pool.query(
    'CREATE TABLE effects (n bigserial PRIMARY KEY, event_id uuid NOT NULL UNIQUE, type text NOT NULL, how text NOT NULL)',
  );
});
afterAll(() => db.drop());
beforeEach(async () => {
  await db.pool.query('TRUNCATE inbox, dead_letters, effects');
});

/**
 * A consumer of AssetUpdated (per event, or in runs with `batch`) and AssetRegistered (per event
 * only); every handled event leaves one `effects` row saying how it was handled — a second effect
 * would break the unique event id. `calls` logs each handler call: `one:<version>` or `batch:<versions>`.
 */
function consumerUnderTest(opts: { failVersion?: number; failBatch?: boolean; maxAttempts?: number } = {}) {
  const bus = createInProcessBus();
  const calls: string[] = [];
  const version = (event: EventEnvelope) => (event.data as { version: number }).version;
  const check = (event: EventEnvelope) => {
    if (version(event) === opts.failVersion) throw new ValidationError('BAD_EVENT', 'version refused');
  };
  const one: EventHandler<{ version: number }> = async (tx, event) => {
    calls.push(`one:${event.data.version}`);
    await tx.query(`INSERT INTO effects (event_id, type, how) VALUES ($1, 'updated', 'one')`, [event.id]);
    check(event);
  };
  const batch: BatchEventHandler<{ version: number }> = async (tx, events) => {
    calls.push(`batch:${events.map((e) => e.data.version).join(',')}`);
    await tx.query(
      `INSERT INTO effects (event_id, type, how) SELECT id, 'updated', 'batch' FROM unnest($1::uuid[]) AS u(id)`,
      [events.map((e) => e.id)],
    );
    if (opts.failBatch) throw new Error('batch handler broken');
    for (const event of events) check(event);
  };
  const consumer = createEventConsumer({
    name: CONSUMER,
    pool: db.pool,
    bus,
    sources: ['asset'],
    handlers: {
      [assetUpdated(randomUUID(), 1).type]: withBatchHandler(one, batch),
      ...eventHandler(AssetRegistered, async (tx, event) => {
        calls.push('registered');
        await tx.query(`INSERT INTO effects (event_id, type, how) VALUES ($1, 'registered', 'one')`, [
          event.id,
        ]);
      }),
    },
    logger: silentLogger,
    retry: { maxAttempts: opts.maxAttempts ?? 2, baseDelayMs: 0, maxDelayMs: 0 },
    pollIntervalMs: 3_600_000,
  });
  // The worker may take the events before the test's drain(): either way one pass claims them all.
  return { bus, consumer, calls };
}

async function effects(): Promise<{ event_id: string; how: string }[]> {
  const { rows } = await db.pool.query('SELECT event_id, how FROM effects ORDER BY n');
  return rows;
}

async function inboxStatus(eventId: string): Promise<string | undefined> {
  const { rows } = await db.pool.query('SELECT status FROM inbox WHERE consumer = $1 AND event_id = $2', [
    CONSUMER,
    eventId,
  ]);
  return rows[0]?.status;
}

describe('event consumer with a batch handler', () => {
  it('hands each run of consecutive events of the type to the batch handler, in order, and others keep their place', async () => {
    const { bus, consumer, calls } = consumerUnderTest();
    await consumer.start();
    try {
      const assetId = randomUUID();
      const events = [
        assetUpdated(assetId, 1),
        assetUpdated(assetId, 2),
        assetUpdated(assetId, 3),
        registered(randomUUID()),
        assetUpdated(assetId, 4),
        registered(randomUUID()),
        assetUpdated(assetId, 5),
        assetUpdated(assetId, 6),
      ];
      await bus.publish(events);
      await consumer.drain();
      expect(calls).toEqual(['batch:1,2,3', 'registered', 'one:4', 'registered', 'batch:5,6']);
      expect((await effects()).map((e) => e.event_id)).toEqual(events.map((e) => e.id));
      for (const event of events) expect(await inboxStatus(event.id)).toBe('processed');
    } finally {
      await consumer.stop();
    }
  });

  it('isolates a failing event of a batch: the others take effect once, it is retried and dead-lettered alone', async () => {
    const { bus, consumer, calls } = consumerUnderTest({ failVersion: 3, maxAttempts: 2 });
    await consumer.start();
    try {
      const before = randomUUID();
      const events = [
        assetUpdated(before, 1),
        assetUpdated(before, 2),
        assetUpdated(randomUUID(), 3),
        assetUpdated(randomUUID(), 4),
        assetUpdated(randomUUID(), 5),
      ];
      await bus.publish(events);
      await consumer.drain();
      // The batch failed, so the pass went one by one: up to the failing event (whose failure rolled
      // the round back), then again up to it, recording its failure; the next pass batched the rest.
      expect(calls).toEqual(['batch:1,2,3,4,5', 'one:1', 'one:2', 'one:3', 'one:1', 'one:2', 'batch:4,5']);
      expect(await effects()).toEqual([
        { event_id: events[0]!.id, how: 'one' },
        { event_id: events[1]!.id, how: 'one' },
        { event_id: events[3]!.id, how: 'batch' },
        { event_id: events[4]!.id, how: 'batch' },
      ]);
      expect(await inboxStatus(events[2]!.id)).toBe('dead');
      for (const i of [0, 1, 3, 4]) expect(await inboxStatus(events[i]!.id)).toBe('processed');
      const [letter] = await listDeadLetters(db.pool);
      expect(letter).toMatchObject({ eventId: events[2]!.id, reason: 'version refused' });
    } finally {
      await consumer.stop();
    }
  });

  it('falls back to the per-event handler when the batch handler itself fails', async () => {
    const { bus, consumer, calls } = consumerUnderTest({ failBatch: true });
    await consumer.start();
    try {
      const assetId = randomUUID();
      const events = [assetUpdated(assetId, 1), assetUpdated(assetId, 2), assetUpdated(assetId, 3)];
      await bus.publish(events);
      await consumer.drain();
      expect(calls).toEqual(['batch:1,2,3', 'one:1', 'one:2', 'one:3']);
      expect(await effects()).toEqual(events.map((e) => ({ event_id: e.id, how: 'one' })));
      expect(await listDeadLetters(db.pool)).toEqual([]);
    } finally {
      await consumer.stop();
    }
  });

  it('hands a run of one event to the per-event handler', async () => {
    const { bus, consumer, calls } = consumerUnderTest();
    await consumer.start();
    try {
      const event = assetUpdated(randomUUID(), 7);
      await bus.publish([event]);
      await consumer.drain();
      expect(calls).toEqual(['one:7']);
    } finally {
      await consumer.stop();
    }
  });
});
