import { randomUUID } from 'node:crypto';
import { AssetUpdated } from '@assetops/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConflictError,
  createMetricsRegistry,
  listDeadLetters,
  NotFoundError,
  type PoolClient,
  recordDeadLetter,
  redriveDeadLetter,
  ValidationError,
} from '../../src/index.js';
import {
  assetUpdated,
  type Backbone,
  type BackboneOptions,
  CONSUMER,
  type OutboxRecord,
  startBackbone,
  type TransportUnderTest,
  waitFor,
} from './backbone.harness.js';

/**
 * The delivery guarantees of the event backbone, run on one transport: outbox → relay → bus →
 * inbox → handler, with each handler effect visible as one row in the consumer's database.
 */
export function describeBackbone(transport: TransportUnderTest): void {
  describe(`event backbone on ${transport.name}`, () => {
    let backbone: Backbone | undefined;
    const start = async (opts?: BackboneOptions) => {
      backbone = await startBackbone(transport, opts);
      return backbone;
    };
    afterEach(async () => {
      await backbone?.stop();
      backbone = undefined;
    });

    it('delivers an appended event to the consumer, whose effect happens exactly once', async () => {
      const b = await start();
      const event = assetUpdated(randomUUID(), 1);
      await b.append([event]);

      await b.waitProcessed([event.id]);
      await b.relay.drain();
      await b.consumer.drain();
      const effects = await b.effects();
      expect(effects).toHaveLength(1);
      expect(effects[0]).toMatchObject({ event_id: event.id, asset_id: event.subject, version: 1 });
      const { rows } = await b.producer.pool.query('SELECT published_at FROM outbox WHERE id = $1', [
        event.id,
      ]);
      expect(rows[0].published_at).toBeInstanceOf(Date);
    });

    /** The inbox row of an event as its handler sees it: `processed` when handled on receive. */
    const ownRow = async (tx: PoolClient, eventId: string) =>
      (
        await tx.query<{ status: string; stored: boolean }>(
          'SELECT status, event IS NOT NULL AS stored FROM inbox WHERE consumer = $1 AND event_id = $2',
          [CONSUMER, eventId],
        )
      ).rows[0];

    it('handles a batch on receive while nothing is pending, in the transaction that records it, storing no body', async () => {
      const seen = new Map<string, unknown>();
      const b = await start({
        async afterEffect(tx, event) {
          seen.set(event.id, await ownRow(tx, event.id));
        },
      });
      await waitFor(() => b.consumer.active, { what: 'the consumer to be the active worker' });
      const events = [assetUpdated(randomUUID(), 1), assetUpdated(randomUUID(), 1)];
      await b.append(events);
      await b.waitProcessed(events.map((e) => e.id));
      for (const event of events) {
        expect(seen.get(event.id)).toEqual({ status: 'processed', stored: false });
        expect(await b.inbox(event.id)).toMatchObject({ status: 'processed', attempts: 1 });
      }
      expect(await b.effects()).toHaveLength(2);
    });

    it('stores batches for the worker while an event waits for its retry, and handles on receive again after', async () => {
      const assetA = randomUUID();
      const [a1, b1, c1] = [
        assetUpdated(assetA, 1),
        assetUpdated(randomUUID(), 1),
        assetUpdated(randomUUID(), 1),
      ];
      const seen: [string, unknown][] = [];
      const b = await start({
        consumer: { retry: { maxAttempts: 5, baseDelayMs: 2000, maxDelayMs: 4000 } },
        async afterEffect(tx, event, attempt) {
          seen.push([event.id, await ownRow(tx, event.id)]);
          if (event.id === a1!.id && attempt === 1) throw new Error('a1 fails once');
        },
      });
      await waitFor(() => b.consumer.active, { what: 'the consumer to be the active worker' });
      await b.append([a1!]);
      // The failure on receive is the first attempt, recorded as the worker records one.
      await waitFor(async () => (await b.inbox(a1!.id))?.attempts === 1, { what: 'a1 to wait for a retry' });
      expect(await b.inbox(a1!.id)).toMatchObject({ status: 'pending', last_error: 'a1 fails once' });
      await b.append([b1!]);
      await b.waitProcessed([b1!.id]);
      expect((await b.inbox(a1!.id))?.status).toBe('pending'); // b1 did not wait for a1's retry
      await b.waitProcessed([a1!.id]);
      await b.append([c1!]);
      await b.waitProcessed([c1!.id]);
      expect(seen).toEqual([
        [a1!.id, { status: 'processed', stored: false }], // on receive: failed, rolled back
        [b1!.id, { status: 'pending', stored: true }], // a1 was pending: stored, then the worker's
        [a1!.id, { status: 'pending', stored: true }], // the worker's retry
        [c1!.id, { status: 'processed', stored: false }], // nothing pending: on receive again
      ]);
      expect(b.attempts.get(a1!.id)).toBe(2);
      expect((await b.effects()).map((e) => e.event_id)).toEqual([b1!.id, a1!.id, c1!.id]);
    });

    it('leaves every event to the worker with handleOnReceive off', async () => {
      const seen = new Map<string, unknown>();
      const b = await start({
        consumer: { handleOnReceive: false },
        async afterEffect(tx, event) {
          seen.set(event.id, await ownRow(tx, event.id));
        },
      });
      await waitFor(() => b.consumer.active, { what: 'the consumer to be the active worker' });
      const event = assetUpdated(randomUUID(), 1);
      await b.append([event]);
      await b.waitProcessed([event.id]);
      expect(seen.get(event.id)).toEqual({ status: 'pending', stored: true });
    });

    it('has one effect per event when the relay publishes a batch twice (crash between publish and mark)', async () => {
      const published: number[][] = [];
      const b = await start({
        relay: {
          async afterPublish(batch: readonly OutboxRecord[]) {
            published.push(batch.map((r) => r.position));
            if (published.length === 1) throw new Error('relay crashed before marking the batch');
          },
        },
      });
      const assetId = randomUUID();
      const events = [assetUpdated(assetId, 1), assetUpdated(assetId, 2), assetUpdated(assetId, 3)];
      await b.append(events);

      await waitFor(() => published.length >= 2, { what: 'the batch to be published again' });
      expect(published[1]).toEqual(published[0]);
      await b.waitProcessed(events.map((e) => e.id));
      await b.consumer.drain();
      const effects = await b.effects();
      expect(effects.map((e) => e.version)).toEqual([1, 2, 3]);
      const { rows } = await b.producer.pool.query(
        'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
      );
      expect(rows[0].n).toBe(0);
    });

    it('retries a handler that failed after writing, without keeping its partial effect', async () => {
      const b = await start({
        async afterEffect(_tx, _event, attempt) {
          if (attempt === 1) throw new Error('lost the connection to the historian');
        },
      });
      const event = assetUpdated(randomUUID(), 1);
      await b.append([event]);

      await b.waitProcessed([event.id]);
      expect(b.attempts.get(event.id)).toBe(2);
      expect(await b.inbox(event.id)).toMatchObject({ status: 'processed', attempts: 2 });
      expect(await b.effects()).toHaveLength(1);
    });

    it('recovers from a crash mid-handler (its connection killed) with every effect exactly once', async () => {
      const assetId = randomUUID();
      const events = [assetUpdated(assetId, 1), assetUpdated(assetId, 2), assetUpdated(assetId, 3)];
      const b = await start({
        async afterEffect(tx, event, attempt) {
          // The second event kills the whole worker transaction once, after the first event's and
          // its own effects were written: as if the process died there.
          if (event.id === events[1]!.id && attempt === 1) {
            await tx.query('SELECT pg_terminate_backend(pg_backend_pid())');
          }
        },
      });
      await b.append(events);

      await b.waitProcessed(events.map((e) => e.id));
      const effects = await b.effects();
      expect(effects.map((e) => e.version)).toEqual([1, 2, 3]);
      expect(b.attempts.get(events[1]!.id)).toBe(2);
    });

    it('ignores an event delivered again after it was processed', async () => {
      const b = await start();
      const event = assetUpdated(randomUUID(), 1);
      await b.append([event]);
      await b.waitProcessed([event.id]);

      await b.transport.redeliver(event);
      await waitFor(() => b.deliveries(event.id) >= 2, { what: 'the redelivery to reach the consumer' });
      await b.consumer.drain();
      expect(await b.effects()).toHaveLength(1);
      expect(b.attempts.get(event.id)).toBe(1);
    });

    it('retries a failing handler with backoff, dead-letters it after maxAttempts, and redrives it', async () => {
      let failing = true;
      const b = await start({
        consumer: { retry: { maxAttempts: 3, baseDelayMs: 40, maxDelayMs: 200 } },
        async afterEffect() {
          if (failing) throw new Error('maintenance planner unavailable');
        },
      });
      const event = assetUpdated(randomUUID(), 1);
      await b.append([event]);

      const [letter] = await waitFor(async () => {
        const letters = await listDeadLetters(b.consuming.pool, { consumer: CONSUMER });
        return letters.length > 0 ? letters : undefined;
      });
      expect(letter).toMatchObject({
        consumer: CONSUMER,
        eventId: event.id,
        type: AssetUpdated.type,
        subject: event.subject,
        reason: 'maintenance planner unavailable',
        attempts: 3,
        redrivenAt: null,
      });
      expect(letter!.payload).toEqual(event);
      expect(await b.inbox(event.id)).toMatchObject({
        status: 'dead',
        attempts: 3,
        last_error: 'maintenance planner unavailable',
      });
      expect(b.attempts.get(event.id)).toBe(3);
      expect(await b.effects()).toHaveLength(0);

      failing = false;
      await redriveDeadLetter(b.consuming.pool, letter!.id);
      await b.waitProcessed([event.id]);
      expect(await b.effects()).toHaveLength(1);
      expect(await listDeadLetters(b.consuming.pool, { consumer: CONSUMER })).toEqual([]);
      const [redriven] = await listDeadLetters(b.consuming.pool, {
        consumer: CONSUMER,
        includeRedriven: true,
      });
      expect(redriven!.redrivenAt).toBeInstanceOf(Date);
      await expect(redriveDeadLetter(b.consuming.pool, letter!.id)).rejects.toMatchObject({
        code: 'DEAD_LETTER_ALREADY_REDRIVEN',
      });
    });

    it('spaces retries out with growing delays', async () => {
      const seen: number[] = [];
      const b = await start({
        consumer: { retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000 } },
        async afterEffect() {
          seen.push(Date.now());
          throw new Error('still failing');
        },
      });
      const event = assetUpdated(randomUUID(), 1);
      await b.append([event]);
      await waitFor(async () => (await b.inbox(event.id))?.status === 'dead', {
        what: 'the event to be dead',
      });
      // Equal jitter: the n-th delay is at least half of base·2^(n-1), i.e. ≥ 50 ms, then ≥ 100 ms.
      expect(seen).toHaveLength(3);
      expect(seen[1]! - seen[0]!).toBeGreaterThanOrEqual(45);
      expect(seen[2]! - seen[1]!).toBeGreaterThanOrEqual(95);
    });

    it('dead-letters at once an event whose handler fails permanently', async () => {
      const b = await start({
        async afterEffect() {
          throw new ValidationError('ASSET_UNKNOWN', 'asset is not known here');
        },
      });
      const event = assetUpdated(randomUUID(), 1);
      await b.append([event]);
      await waitFor(async () => (await b.inbox(event.id))?.status === 'dead', {
        what: 'the event to be dead',
      });
      expect(await b.inbox(event.id)).toMatchObject({ attempts: 1, last_error: 'asset is not known here' });
      const [letter] = await listDeadLetters(b.consuming.pool);
      expect(letter).toMatchObject({ eventId: event.id, attempts: 1, reason: 'asset is not known here' });
    });

    it('reports processed events, their lag, redeliveries, backlog and open dead letters as metrics', async () => {
      const metrics = createMetricsRegistry('metrics-test');
      let publishes = 0;
      const b = await start({
        consumer: { metrics },
        relay: {
          async afterPublish() {
            publishes += 1;
            if (publishes === 1) throw new Error('relay crashed before marking the batch');
          },
        },
        async afterEffect(_tx, event) {
          if ((event.data as { version: number }).version === 2) {
            throw new ValidationError('ASSET_UNKNOWN', 'asset is not known here');
          }
        },
      });
      const assetId = randomUUID();
      const events = [assetUpdated(assetId, 1), assetUpdated(assetId, 2), assetUpdated(assetId, 3)];
      await b.append(events);
      await waitFor(async () => (await b.inbox(events[2]!.id))?.status === 'processed', {
        what: 'the last event to be processed',
      });
      // The relay publishes the batch again after its backoff; the redelivery is counted when the
      // second publish returns (the in-process bus hands it to the inbox before that).
      await waitFor(async () => publishes >= 2, { what: 'the relay to publish the batch again' });
      await b.consumer.drain();
      const value = async (name: string) => {
        const metric = await metrics.getSingleMetric(name)?.get();
        return metric?.values.filter((v) => v.labels.consumer === CONSUMER) ?? [];
      };
      expect((await value('assetops_inbox_processed_total'))[0]?.value).toBe(2);
      const lagCount = (await value('assetops_inbox_event_lag_seconds')).find(
        (v) => (v as { metricName?: string }).metricName === 'assetops_inbox_event_lag_seconds_count',
      );
      expect(lagCount?.value).toBe(2);
      expect((await value('assetops_inbox_pending'))[0]?.value).toBe(0);
      expect((await value('assetops_dead_letters_open'))[0]?.value).toBe(1);
      expect((await value('assetops_inbox_oldest_pending_seconds'))[0]?.value).toBe(0);
      // The batch was published twice; JetStream drops the republish by message id, the in-process
      // bus delivers it and the inbox drops it (and counts it).
      const duplicates = (await value('assetops_inbox_duplicates_total'))[0]?.value ?? 0;
      expect(duplicates).toBe(transport.name === 'the in-process bus' ? 3 : 0);
      expect(await metrics.metrics()).toContain('assetops_dead_letters_open{consumer="');
    });

    it("keeps a subject's order while one of its events waits for a retry, and lets other subjects pass", async () => {
      const assetA = randomUUID();
      const assetB = randomUUID();
      const [a1, a2, a3, b1, b2] = [
        assetUpdated(assetA, 1),
        assetUpdated(assetA, 2),
        assetUpdated(assetA, 3),
        assetUpdated(assetB, 1),
        assetUpdated(assetB, 2),
      ];
      const b = await start({
        consumer: { retry: { maxAttempts: 5, baseDelayMs: 400, maxDelayMs: 1000 } },
        async afterEffect(_tx, event, attempt) {
          if (event.id === a2!.id && attempt === 1) throw new Error('a2 fails once');
        },
      });
      await b.append([a1!, b1!, a2!, b2!, a3!]);

      await b.waitProcessed([a1!, a2!, a3!, b1!, b2!].map((e) => e.id));
      const effects = await b.effects();
      const order = effects.map((e) => `${e.asset_id === assetA ? 'A' : 'B'}${e.version}`);
      expect(order.filter((o) => o.startsWith('A'))).toEqual(['A1', 'A2', 'A3']);
      expect(order.filter((o) => o.startsWith('B'))).toEqual(['B1', 'B2']);
      // B2 came after the failed A2 in the inbox, yet did not wait for A2's retry.
      expect(order.indexOf('B2')).toBeLessThan(order.indexOf('A2'));
      expect(b.attempts.get(a2!.id)).toBe(2);
      expect(b.attempts.get(a3!.id)).toBe(1);
    });

    it('dead-letters an invalid event and goes on with the others', async () => {
      const b = await start();
      const valid = assetUpdated(randomUUID(), 1);
      const invalid = { ...assetUpdated(randomUUID(), 2), data: { assetId: 'not-a-uuid' } };
      // Straight onto the bus: the outbox would refuse it.
      await b.transport.producerBus.publish([invalid, valid]);

      await b.waitProcessed([valid.id]);
      const letters = await waitFor(async () => {
        const found = await listDeadLetters(b.consuming.pool, { consumer: CONSUMER });
        return found.length > 0 ? found : undefined;
      });
      expect(letters).toHaveLength(1);
      expect(letters[0]).toMatchObject({ eventId: null, type: AssetUpdated.type, subject: invalid.subject });
      expect(letters[0]!.reason).toMatch(/is invalid/);
      expect(await b.inbox(invalid.id)).toBeUndefined();
      await expect(redriveDeadLetter(b.consuming.pool, letters[0]!.id)).rejects.toMatchObject({
        code: 'DEAD_LETTER_NOT_REDRIVABLE',
      });
    });

    it('refuses to redrive what is not a redrivable event', async () => {
      const b = await start();
      const id = await recordDeadLetter(b.consuming.pool, {
        consumer: 'telemetry.mqtt',
        payload: { raw: '{"temp":' },
        reason: 'not JSON',
      });
      const notEvent = redriveDeadLetter(b.consuming.pool, id);
      await expect(notEvent).rejects.toBeInstanceOf(ConflictError);
      await expect(notEvent).rejects.toMatchObject({ code: 'DEAD_LETTER_NOT_REDRIVABLE' });
      const missing = redriveDeadLetter(b.consuming.pool, id + 1000);
      await expect(missing).rejects.toBeInstanceOf(NotFoundError);
      await expect(missing).rejects.toMatchObject({ code: 'DEAD_LETTER_NOT_FOUND' });
    });

    it('purges only published outbox rows and processed inbox rows older than their retention', async () => {
      const b = await start();
      const assetId = randomUUID();
      const events = [assetUpdated(assetId, 1), assetUpdated(assetId, 2), assetUpdated(assetId, 3)];
      await b.append(events);
      await b.waitProcessed(events.map((e) => e.id));
      await b.relay.stop();
      const unpublished = assetUpdated(assetId, 4);
      await b.append([unpublished]);
      const backdate = (table: string, column: string, id: string, interval: string) =>
        b.producer.pool.query(`UPDATE ${table} SET ${column} = now() - $2::interval WHERE id = $1`, [
          id,
          interval,
        ]);
      await backdate('outbox', 'published_at', events[0]!.id, '25 hours');
      await backdate('outbox', 'created_at', unpublished.id, '3 days');

      expect(await b.relay.purge()).toBe(1);
      const { rows: outbox } = await b.producer.pool.query<{ id: string }>(
        'SELECT id FROM outbox ORDER BY position',
      );
      expect(outbox.map((r) => r.id)).toEqual([events[1]!.id, events[2]!.id, unpublished.id]);

      await b.consuming.pool.query(
        `UPDATE inbox SET processed_at = now() - interval '8 days' WHERE event_id = ANY($1::uuid[])`,
        [[events[0]!.id, events[1]!.id]],
      );
      await b.consuming.pool.query(
        `UPDATE inbox SET status = 'dead', processed_at = NULL WHERE event_id = $1`,
        [events[1]!.id],
      );
      expect(await b.consumer.purge()).toBe(1);
      const { rows: inbox } = await b.consuming.pool.query<{ event_id: string }>(
        'SELECT event_id FROM inbox ORDER BY seq',
      );
      expect(inbox.map((r) => r.event_id)).toEqual([events[1]!.id, events[2]!.id]);
    });
  });
}
