import { randomUUID } from 'node:crypto';
import { AssetRegistered, AssetUpdated, type EventEnvelope, EventValidationError } from '@assetops/contracts';
import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  appendToOutbox,
  createEvent,
  createEventConsumer,
  createInProcessBus,
  createOutboxRelay,
  type EventBus,
  messagingMigrations,
  type OutboxRelay,
  runMigrations,
  withTransaction,
} from '../../src/index.js';
import { createTestDatabase, ManualClock, type TestDatabase } from '../../src/testkit/index.js';
import { assetUpdated, silentLogger, waitFor } from './backbone.harness.js';

/** A bus that records what it is given and can be told to fail. */
function recordingBus(): EventBus & { published: EventEnvelope[][]; failNext: number } {
  const bus = {
    kind: 'recording',
    published: [] as EventEnvelope[][],
    failNext: 0,
    async publish(events: readonly EventEnvelope[]) {
      if (bus.failNext > 0) {
        bus.failNext--;
        throw new Error('broker unavailable');
      }
      bus.published.push([...events]);
    },
    async subscribe() {
      return { stop: async () => {} };
    },
    async close() {},
  };
  return bus;
}

/** A connection LISTENing on `channel`, recording the payloads it is notified with. */
async function listen(
  channel: string,
): Promise<{ payloads: string[]; sync(): Promise<void>; close(): Promise<void> }> {
  const client = new pg.Client({ ...db.pool.options });
  await client.connect();
  const payloads: string[] = [];
  client.on('notification', (msg) => {
    if (msg.channel === channel) payloads.push(msg.payload ?? '');
  });
  await client.query(`LISTEN ${channel}`);
  return {
    payloads,
    // A notification committed before this round trip is delivered before its answer.
    sync: async () => {
      await client.query('SELECT 1');
    },
    close: () => client.end(),
  };
}

let db: TestDatabase;
const relays: OutboxRelay[] = [];
beforeAll(async () => {
  db = await createTestDatabase('msg_outbox');
  await runMigrations(db.pool, [messagingMigrations]);
});
afterAll(() => db.drop());
beforeEach(async () => {
  await db.pool.query('TRUNCATE outbox, inbox, dead_letters');
});
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.stop()));
});

function relay(bus: EventBus, opts: Partial<Parameters<typeof createOutboxRelay>[0]> = {}): OutboxRelay {
  const created = createOutboxRelay({
    pool: db.pool,
    bus,
    logger: silentLogger,
    pollIntervalMs: 50,
    standbyRetryMs: 50,
    errorBackoff: { baseMs: 10, maxMs: 50 },
    ...opts,
  });
  relays.push(created);
  return created;
}

describe('createEvent', () => {
  const clock = new ManualClock('2026-03-01T10:00:00.000Z');
  let n = 0;
  const ids = { next: () => `0195a000-0000-7000-8000-${String(++n).padStart(12, '0')}` };

  it('fills the envelope from the definition, the clock and the id generator', () => {
    const assetId = randomUUID();
    const data = {
      assetId,
      name: 'Feed pump 1',
      type: 'pump',
      location: null,
      metadata: {},
      status: 'commissioning' as const,
      registeredAt: clock.now().toISOString(),
    };
    const event = createEvent(AssetRegistered, data, { subject: assetId, clock, ids });
    expect(event).toEqual({
      specversion: '1.0',
      id: event.id,
      source: '/assetops/asset',
      type: 'assetops.asset.registered.v1',
      subject: assetId,
      time: '2026-03-01T10:00:00.000Z',
      datacontenttype: 'application/json',
      correlationid: event.id,
      data,
    });
    expect(Object.keys(event)).not.toContain('causationid');
  });

  it('carries the correlation of the event that caused it', () => {
    const cause = assetUpdated(randomUUID(), 1);
    const effect = createEvent(
      AssetUpdated,
      { assetId: cause.subject!, changes: {}, version: 2, updatedAt: clock.now().toISOString() },
      { subject: cause.subject, clock, ids, causedBy: cause },
    );
    expect(effect.causationid).toBe(cause.id);
    expect(effect.correlationid).toBe(cause.correlationid);
  });
});

describe('appendToOutbox', () => {
  it('stores events in the order given, with their envelope', async () => {
    const assetId = randomUUID();
    const events = [assetUpdated(assetId, 1), assetUpdated(assetId, 2)];
    await withTransaction(db.pool, (tx) => appendToOutbox(tx, events));
    const { rows } = await db.pool.query(
      'SELECT id, type, subject, event, published_at FROM outbox ORDER BY position',
    );
    expect(rows).toEqual(
      events.map((e) => ({ id: e.id, type: e.type, subject: assetId, event: e, published_at: null })),
    );
  });

  it('refuses an invalid event, and the transaction stores nothing', async () => {
    const invalid = { ...assetUpdated(randomUUID(), 1), data: { assetId: 'nope' } };
    const append = withTransaction(db.pool, (tx) =>
      appendToOutbox(tx, [assetUpdated(randomUUID(), 1), invalid]),
    );
    await expect(append).rejects.toBeInstanceOf(EventValidationError);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM outbox');
    expect(rows[0].n).toBe(0);
  });

  it('packs events into one row on request; outbox_events lists them one by one, in order', async () => {
    const assetId = randomUUID();
    const events = [1, 2, 3].map((v) => assetUpdated(assetId, v));
    await withTransaction(db.pool, (tx) => appendToOutbox(tx, events, { pack: true }));
    const { rows } = await db.pool.query('SELECT id, type, subject, events, event FROM outbox');
    expect(rows).toEqual([
      { id: events[0]!.id, type: events[0]!.type, subject: null, events: 3, event: events },
    ]);
    const listed = await db.pool.query(
      'SELECT id, type, subject, event FROM outbox_events ORDER BY position, ord',
    );
    expect(listed.rows).toEqual(events.map((e) => ({ id: e.id, type: e.type, subject: assetId, event: e })));
  });

  it('publishes nothing of a transaction that rolled back', async () => {
    const bus = recordingBus();
    await expect(
      withTransaction(db.pool, async (tx) => {
        await appendToOutbox(tx, [assetUpdated(randomUUID(), 1)]);
        throw new Error('the state change failed');
      }),
    ).rejects.toThrow('the state change failed');
    expect(await relay(bus).drain()).toBe(0);
    expect(bus.published).toEqual([]);
  });
});

describe('createOutboxRelay', () => {
  it('publishes in outbox order, in batches, and marks what it published', async () => {
    const bus = recordingBus();
    const assetId = randomUUID();
    const events = [1, 2, 3, 4, 5].map((v) => assetUpdated(assetId, v));
    for (const event of events) await withTransaction(db.pool, (tx) => appendToOutbox(tx, [event]));

    expect(await relay(bus, { batchSize: 2 }).drain()).toBe(5);
    expect(bus.published.map((batch) => batch.length)).toEqual([2, 2, 1]);
    expect(bus.published.flat().map((e) => e.id)).toEqual(events.map((e) => e.id));
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL');
    expect(rows[0].n).toBe(0);
  });

  it('publishes packed rows event by event, in order, cutting batches at whole rows', async () => {
    const bus = recordingBus();
    const assetId = randomUUID();
    const events = [1, 2, 3, 4, 5, 6].map((v) => assetUpdated(assetId, v));
    await withTransaction(db.pool, (tx) => appendToOutbox(tx, events.slice(0, 3), { pack: true }));
    await withTransaction(db.pool, (tx) => appendToOutbox(tx, events.slice(3, 4), { pack: true }));
    await withTransaction(db.pool, (tx) => appendToOutbox(tx, events.slice(4), { pack: true }));

    // Batches of about 2 events: the first row alone is bigger (taken whole), then the next rows
    // are taken while the batch is short of 2 events.
    expect(await relay(bus, { batchSize: 2 }).drain()).toBe(6);
    expect(bus.published.map((batch) => batch.length)).toEqual([3, 3]);
    expect(bus.published.flat().map((e) => e.id)).toEqual(events.map((e) => e.id));
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL');
    expect(rows[0].n).toBe(0);
  });

  it('is woken directly, without a NOTIFY, by a transaction of its own process; by NOTIFY otherwise', async () => {
    const bus = recordingBus();
    const listener = await listen('assetops_outbox');
    try {
      const active = relay(bus, { pollIntervalMs: 60_000 });
      active.start();
      await waitFor(() => active.active, { what: 'the relay to be active' });
      const local = assetUpdated(randomUUID(), 1);
      await withTransaction(db.pool, (tx) => appendToOutbox(tx, [local]));
      await waitFor(() => bus.published.flat().some((e) => e.id === local.id), {
        what: 'the relay to publish without waiting for its poll',
      });
      await listener.sync();
      expect(listener.payloads).toEqual([]);

      // A transaction managed by hand has no commit to wait for: it notifies.
      const byHand = assetUpdated(randomUUID(), 1);
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN');
        await appendToOutbox(client, [byHand]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      await waitFor(() => bus.published.flat().some((e) => e.id === byHand.id), {
        what: 'the relay to publish the hand-managed transaction',
      });
      await waitFor(() => listener.payloads.length === 1, { what: 'the notification to arrive' });
      expect(listener.payloads).toEqual(['']);
    } finally {
      await listener.close();
    }
  });

  it('is woken by a commit and keeps the rows when the bus fails, until it succeeds', async () => {
    const bus = recordingBus();
    bus.failNext = 2;
    relay(bus, { pollIntervalMs: 60_000 }).start();
    const event = assetUpdated(randomUUID(), 1);
    await withTransaction(db.pool, (tx) => appendToOutbox(tx, [event]));

    await waitFor(() => bus.published.length === 1, { what: 'the publish to succeed after two failures' });
    expect(bus.failNext).toBe(0);
    expect(bus.published[0]!.map((e) => e.id)).toEqual([event.id]);
  });

  it('exports its lag, throughput and backlog as Prometheus metrics', async () => {
    const registry = new Registry();
    const bus = recordingBus();
    const assetId = randomUUID();
    await withTransaction(db.pool, (tx) =>
      appendToOutbox(tx, [assetUpdated(assetId, 1), assetUpdated(assetId, 2)]),
    );
    const observed = relay(bus, { metrics: registry });
    expect(await registry.getSingleMetricAsString('assetops_outbox_pending')).toMatch(
      /assetops_outbox_pending 2/,
    );

    await observed.drain();
    const text = await registry.metrics();
    expect(text).toMatch(/assetops_outbox_published_total 2/);
    expect(text).toMatch(/assetops_outbox_relay_lag_seconds_count 2/);
    expect(text).toMatch(/assetops_outbox_pending 0/);
  });

  it('runs one active relay per database; a standby takes over when it stops', async () => {
    const bus = recordingBus();
    const first = relay(bus);
    const second = relay(bus);
    first.start();
    await waitFor(() => first.active, { what: 'the first relay to be active' });
    second.start();
    // Both dedicated sessions connected and idle means the standby has asked for the lock (it does
    // so right after connecting) and was refused.
    await waitFor(
      async () => {
        const { rows } = await db.pool.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND application_name LIKE '%:outbox-relay' AND state = 'idle'`,
        );
        return rows[0].n === 2;
      },
      { what: 'the standby to connect and try the lock' },
    );
    expect(first.active).toBe(true);
    expect(second.active).toBe(false);

    await first.stop();
    await waitFor(() => second.active, { what: 'the standby to take over' });
    const event = assetUpdated(randomUUID(), 1);
    await withTransaction(db.pool, (tx) => appendToOutbox(tx, [event]));
    await waitFor(() => bus.published.flat().some((e) => e.id === event.id), {
      what: 'the standby to publish',
    });
  });
});

/** An `alert` consumer of AssetUpdated on the in-process `bus` that records the ids it handled. */
function recordingConsumer(bus: EventBus, opts: { pollIntervalMs?: number } = {}) {
  const handled: string[] = [];
  const consumer = createEventConsumer({
    name: 'alert',
    pool: db.pool,
    bus,
    sources: ['asset'],
    logger: silentLogger,
    ...opts,
    handlers: {
      [AssetUpdated.type]: async (_tx, event) => {
        handled.push(event.id);
      },
    },
  });
  return { consumer, handled };
}

describe('createEventConsumer', () => {
  it('counts processed, retried and dead-lettered events per consumer', async () => {
    const registry = new Registry();
    const bus = createInProcessBus();
    let calls = 0;
    const consumer = createEventConsumer({
      name: 'alert',
      pool: db.pool,
      bus,
      sources: ['asset'],
      logger: silentLogger,
      metrics: registry,
      retry: { maxAttempts: 2, baseDelayMs: 0, maxDelayMs: 0 },
      handlers: {
        [AssetUpdated.type]: async (_tx, event) => {
          calls++;
          if ((event.data as { version: number }).version === 2) throw new Error('no such rule');
        },
      },
    });
    await consumer.start();
    try {
      await bus.publish([assetUpdated(randomUUID(), 1), assetUpdated(randomUUID(), 2)]);
      await consumer.drain();
      const text = await registry.metrics();
      expect(text).toMatch(/assetops_inbox_processed_total\{consumer="alert"\} 1/);
      expect(text).toMatch(/assetops_inbox_retried_total\{consumer="alert"\} 1/);
      expect(text).toMatch(/assetops_inbox_dead_lettered_total\{consumer="alert"\} 1/);
      // v1 ran twice (its round was rolled back when v2 failed) but counts once; v2 ran twice.
      expect(calls).toBe(4);
    } finally {
      await consumer.stop();
    }
  });

  it('stores received events without a NOTIFY when it is the active worker itself', async () => {
    const bus = createInProcessBus();
    const listener = await listen('assetops_inbox');
    const { consumer, handled } = recordingConsumer(bus, { pollIntervalMs: 60_000 });
    try {
      await consumer.start();
      await waitFor(() => consumer.active, { what: 'the worker to be active' });
      const event = assetUpdated(randomUUID(), 1);
      await bus.publish([event]);
      await waitFor(() => handled.includes(event.id), { what: 'the worker to handle it without polling' });
      await listener.sync();
      const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM inbox WHERE consumer = 'alert'");
      expect(rows[0].n).toBe(1);
      expect(listener.payloads).toEqual([]);
    } finally {
      await consumer.stop();
      await listener.close();
    }
  });

  it('keeps only the ids of processed events, and still ignores them when they come again', async () => {
    const bus = createInProcessBus();
    const { consumer, handled } = recordingConsumer(bus);
    try {
      await consumer.start();
      const event = assetUpdated(randomUUID(), 1);
      await bus.publish([event]);
      await consumer.drain();
      const { rows } = await db.pool.query(
        "SELECT status, event FROM inbox WHERE consumer = 'alert' AND event_id = $1",
        [event.id],
      );
      expect(rows).toEqual([{ status: 'processed', event: null }]);

      await bus.publish([event]);
      await consumer.drain();
      expect(handled).toEqual([event.id]);
    } finally {
      await consumer.stop();
    }
  });

  it('runs one active worker per consumer and database', async () => {
    const make = () =>
      createEventConsumer({
        name: 'dashboard',
        pool: db.pool,
        bus: createInProcessBus(),
        sources: ['asset'],
        handlers: {},
        logger: silentLogger,
        standbyRetryMs: 50,
        pollIntervalMs: 50,
      });
    const first = make();
    const second = make();
    const other = createEventConsumer({
      name: 'telemetry',
      pool: db.pool,
      bus: createInProcessBus(),
      sources: ['asset'],
      handlers: {},
      logger: silentLogger,
    });
    try {
      await first.start();
      await waitFor(() => first.active, { what: 'the first worker to be active' });
      await second.start();
      await other.start();
      await waitFor(() => other.active, { what: 'the worker of another consumer to be active too' });
      expect(second.active).toBe(false);
      await first.stop();
      await waitFor(() => second.active, { what: 'the standby worker to take over' });
    } finally {
      await Promise.all([first.stop(), second.stop(), other.stop()]);
    }
  });
});
