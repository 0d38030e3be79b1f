import type { IngestResult } from '@assetops/contracts';
import { createLogger, type Pool } from '@assetops/platform';
import { describe, expect, it } from 'vitest';
import type { IngestItem } from '../src/ingest/ingest.js';
import { MqttBatcher, type ReceivedMessage } from '../src/mqtt/mqtt-batcher.js';

// The batching and acknowledgement rules on their own. The Ingestor (the database) is replaced by
// a recorder here; the real path is covered by mqtt-ingest.int.spec.ts.

const logger = createLogger({ service: 'test', level: 'silent' });
const noPool = {} as Pool;

function recorder(opts: { failures?: number; gate?: Promise<void> } = {}) {
  const writes: number[] = [];
  let failures = opts.failures ?? 0;
  return {
    writes,
    ingestor: {
      async ingest(items: readonly IngestItem[]): Promise<IngestResult> {
        await opts.gate;
        if (failures-- > 0) throw new Error('database down');
        writes.push(items.length);
        return { accepted: items.length, duplicates: 0, rejected: [] };
      },
    },
  };
}

function messages(count: number, readingsEach: number, acks: number[]) {
  return Array.from(
    { length: count },
    (_, id): ReceivedMessage => ({
      topic: 't',
      payload: Buffer.from(''),
      parsed: {
        items: Array.from({ length: readingsEach }, () => ({
          assetId: 'a',
          metric: 'm',
          value: id,
          tsMs: 0,
        })),
        labels: Array.from({ length: readingsEach }, () => 'm'),
      },
      ack: () => acks.push(id),
    }),
  );
}

describe('MQTT batcher', () => {
  it('writes whole messages in batches of about maxBatchReadings and acknowledges them in order', async () => {
    const { writes, ingestor } = recorder();
    const batcher = new MqttBatcher({
      ingestor,
      pool: noPool,
      logger,
      maxBatchReadings: 10,
      // Long enough that only the size decides here, however slow the machine (close() flushes the rest).
      flushIntervalMs: 60_000,
    });
    const acks: number[] = [];
    for (const m of messages(7, 3, acks)) batcher.add(m);
    expect(await batcher.close(1000)).toBe(true);
    expect(writes).toEqual([12, 9]);
    expect(acks).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('writes the next batch while one commits, and still acknowledges in arrival order', async () => {
    // Each write waits until the test releases it; the second is released first.
    const releases: (() => void)[] = [];
    const writes: number[] = [];
    const ingestor = {
      async ingest(items: readonly IngestItem[]): Promise<IngestResult> {
        await new Promise<void>((resolve) => releases.push(resolve));
        writes.push(items.length);
        return { accepted: items.length, duplicates: 0, rejected: [] };
      },
    };
    const batcher = new MqttBatcher({
      ingestor,
      pool: noPool,
      logger,
      maxBatchReadings: 6,
      flushIntervalMs: 60_000,
    });
    const acks: number[] = [];
    for (const m of messages(6, 2, acks)) batcher.add(m); // two full batches of 3 messages
    const settle = () => new Promise((r) => setTimeout(r, 20));
    await settle();
    expect(releases).toHaveLength(2); // both batches are being written at once
    releases[1]!();
    await settle();
    expect(writes).toEqual([6]);
    expect(acks).toEqual([]); // the second batch committed, but the first has not
    releases[0]!();
    await settle();
    expect(acks).toEqual([0, 1, 2, 3, 4, 5]);
    expect(await batcher.close(1000)).toBe(true);
  });

  it('records the dead letters of batches written at once in arrival order, each before its acknowledgement', async () => {
    // Every reading is rejected; the first batch's write is held until the second one's is done.
    const releases: (() => void)[] = [];
    const ingestor = {
      async ingest(items: readonly IngestItem[]): Promise<IngestResult> {
        await new Promise<void>((resolve) => releases.push(resolve));
        return {
          accepted: 0,
          duplicates: 0,
          rejected: items.map((_, index) => ({ index, code: 'INVALID_VALUE', reason: 'not a number' })),
        };
      },
    };
    // The dead letters as the database receives them, each with the acknowledgements sent by then.
    const letters: { topic: string; reason: string; acksBefore: number[] }[] = [];
    const acks: number[] = [];
    const client = {
      async query(text: string, params?: unknown[]) {
        if (text.includes('INSERT INTO dead_letters')) {
          const payload = JSON.parse(params![4] as string) as { topic: string };
          letters.push({ topic: payload.topic, reason: params![5] as string, acksBefore: [...acks] });
          return { rows: [{ id: letters.length }], rowCount: 1 };
        }
        return { rows: [], rowCount: 0 };
      },
      on() {},
      off() {},
      release() {},
    };
    const pool = { connect: async () => client } as unknown as Pool;
    const batcher = new MqttBatcher({ ingestor, pool, logger, maxBatchReadings: 1 });
    const [first, second] = messages(2, 1, acks).map((m, i) => ({ ...m, topic: `t${i}` }));
    batcher.add(first!);
    batcher.add(second!);
    const settle = () => new Promise((r) => setTimeout(r, 20));
    await settle();
    expect(releases).toHaveLength(2); // both batches are being written at once
    releases[1]!();
    await settle();
    expect(letters).toEqual([]); // the second batch is written, but waits for the first
    releases[0]!();
    await settle();
    expect(letters).toEqual([
      { topic: 't0', reason: '1 of 1 readings rejected: INVALID_VALUE (m): not a number', acksBefore: [] },
      { topic: 't1', reason: '1 of 1 readings rejected: INVALID_VALUE (m): not a number', acksBefore: [0] },
    ]);
    expect(acks).toEqual([0, 1]);
    expect(await batcher.close(1000)).toBe(true);
  });

  it('writes a small batch once its oldest message has waited flushIntervalMs', async () => {
    const { writes, ingestor } = recorder();
    const batcher = new MqttBatcher({ ingestor, pool: noPool, logger, flushIntervalMs: 300 });
    const acks: number[] = [];
    const [first] = messages(1, 1, acks);
    const added = Date.now();
    batcher.add(first!);
    await new Promise((r) => setTimeout(r, 20));
    // Not written before its time (unless this machine stalled for longer than the interval).
    if (Date.now() - added < 300) expect(writes).toEqual([]);
    const until = Date.now() + 5_000;
    while (writes.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(Date.now() - added).toBeGreaterThanOrEqual(300);
    expect(writes).toEqual([1]);
    expect(acks).toEqual([0]);
  });

  it('retries a failed write with backoff and acknowledges only after it succeeded', async () => {
    const { writes, ingestor } = recorder({ failures: 2 });
    const batcher = new MqttBatcher({
      ingestor,
      pool: noPool,
      logger,
      flushIntervalMs: 60_000,
      retry: { baseDelayMs: 10, maxDelayMs: 20 },
    });
    const acks: number[] = [];
    for (const m of messages(2, 1, acks)) batcher.add(m);
    const closing = batcher.close(1000);
    await new Promise((r) => setTimeout(r, 5));
    expect(acks).toEqual([]);
    expect(await closing).toBe(true);
    expect(writes).toEqual([2]);
    expect(acks).toEqual([0, 1]);
  });

  it('asks the reader to wait while too many readings are held', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const { ingestor } = recorder({ gate });
    const batcher = new MqttBatcher({
      ingestor,
      pool: noPool,
      logger,
      maxBatchReadings: 2,
      maxHeldReadings: 4,
      flushIntervalMs: 60_000, // batches of two: full ones only
    });
    const acks: number[] = [];
    const [a, b, c, d] = messages(4, 1, acks);
    expect(batcher.add(a!)).toBeUndefined();
    expect(batcher.add(b!)).toBeUndefined();
    expect(batcher.add(c!)).toBeUndefined();
    const wait = batcher.add(d!);
    expect(wait).toBeInstanceOf(Promise);
    let resumed = false;
    void wait!.then(() => {
      resumed = true;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(resumed).toBe(false);
    open();
    await wait;
    expect(acks).toEqual([0, 1]);
    expect(await batcher.close(1000)).toBe(true);
    expect(acks).toEqual([0, 1, 2, 3]);
  });

  it('gives up on close after its timeout, leaving the unwritten messages unacknowledged', async () => {
    const { ingestor } = recorder({ failures: Number.POSITIVE_INFINITY });
    const batcher = new MqttBatcher({
      ingestor,
      pool: noPool,
      logger,
      flushIntervalMs: 1,
      retry: { baseDelayMs: 10, maxDelayMs: 10 },
    });
    const acks: number[] = [];
    for (const m of messages(3, 1, acks)) batcher.add(m);
    const started = Date.now();
    expect(await batcher.close(100)).toBe(false);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(acks).toEqual([]);
  });
});
