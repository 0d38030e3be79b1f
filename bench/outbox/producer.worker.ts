/**
 * The producing service of the benchmark, on its own thread: paced producers appending to the
 * outbox (recording each event's COMMIT time) and the outbox relay (recording each event's
 * JetStream ack time).
 */
import { randomUUID } from 'node:crypto';
import { workerData } from 'node:worker_threads';
import { AssetUpdated, type EventEnvelope } from '@assetops/contracts';
import {
  appendToOutbox,
  createEvent,
  createOutboxRelay,
  systemClock,
  uuidV7Ids,
  withTransaction,
} from '@assetops/platform';
import { connectServiceThread, type ServiceThreadSettings, serve } from './bench-rpc.js';

export interface ProducerSettings extends ServiceThreadSettings {
  producerWorkers: number;
  assetsPerWorker: number;
}

export interface SteadyLoad {
  rate: number;
  seconds: number;
  txSize: number;
}

const settings = workerData as ProducerSettings;
const { logger, pool, bus } = await connectServiceThread(settings, 'bench-producer', 16);

const commitAt = new Map<string, number>();
const ackedAt = new Map<string, number>();
/** Ack time − outbox `created_at` (the appending transaction's start), as the relay itself sees it. */
let lagFromAppend: number[] = [];

const relay = createOutboxRelay({
  pool,
  bus,
  logger,
  onPublished(batch, acked) {
    const at = acked.getTime();
    for (const record of batch) {
      // A republished batch is not counted twice: the first ack is when the event became available.
      if (ackedAt.has(record.event.id)) continue;
      ackedAt.set(record.event.id, at);
      lagFromAppend.push(at - record.createdAt.getTime());
    }
  },
});

/** One producer worker's assets and their next versions: events of one asset are appended in order. */
class AssetCursor {
  private readonly assets = Array.from({ length: settings.assetsPerWorker }, () => ({
    id: randomUUID(),
    version: 0,
  }));
  private next = 0;
  nextEvents(count: number): EventEnvelope[] {
    const events: EventEnvelope[] = [];
    for (let i = 0; i < count; i++) {
      const asset = this.assets[this.next++ % this.assets.length]!;
      asset.version++;
      events.push(
        createEvent(
          AssetUpdated,
          {
            assetId: asset.id,
            changes: {
              name: `pump ${asset.version}`,
              metadata: { site: 'plant-a', line: 3, serial: 'SN-0042' },
            },
            version: asset.version,
            updatedAt: new Date().toISOString(),
          },
          { subject: asset.id, clock: systemClock, ids: uuidV7Ids },
        ),
      );
    }
    return events;
  }
}

// Each worker owns its assets, so one asset's events are always appended by one worker in order.
const cursors = Array.from({ length: settings.producerWorkers }, () => new AssetCursor());
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function append(cursor: AssetCursor, count: number): Promise<string[]> {
  const events = cursor.nextEvents(count);
  await withTransaction(pool, (tx) => appendToOutbox(tx, events));
  const committed = Date.now();
  for (const event of events) commitAt.set(event.id, committed);
  return events.map((e) => e.id);
}

serve({
  /** Appends `events` in transactions of 100 (the relay is not running yet). */
  async fill(events: number) {
    const startedAt = performance.now();
    const share = Math.ceil(events / cursors.length);
    await Promise.all(
      cursors.map(async (cursor) => {
        for (let appended = 0; appended < share; appended += 100)
          await append(cursor, Math.min(100, share - appended));
      }),
    );
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox');
    return { events: rows[0]!.n, seconds: (performance.now() - startedAt) / 1000 };
  },

  /** Paced producers: `rate` events/s for `seconds`, in transactions of `txSize`. */
  async steady(load: SteadyLoad) {
    lagFromAppend = [];
    const ids: string[] = [];
    const startedAt = performance.now();
    const perWorkerRate = load.rate / cursors.length;
    let fellBehind = 0;
    await Promise.all(
      cursors.map(async (cursor) => {
        const total = Math.round(perWorkerRate * load.seconds);
        let sent = 0;
        while (sent < total) {
          const due = Math.min(total, Math.floor(((performance.now() - startedAt) / 1000) * perWorkerRate));
          if (due - sent < load.txSize && due < total) {
            await sleep(Math.max(1, Math.ceil(((load.txSize - (due - sent)) / perWorkerRate) * 1000)));
            continue;
          }
          if (due - sent > 5 * load.txSize) fellBehind++;
          const appended = await append(cursor, Math.min(load.txSize, total - sent));
          ids.push(...appended);
          sent += appended.length;
        }
      }),
    );
    return { ids, seconds: (performance.now() - startedAt) / 1000, fellBehind };
  },

  startRelay: () => relay.start(),
  stopRelay: () => relay.stop(),
  acked: () => ackedAt.size,
  allAcked: (ids: string[]) => ids.every((id) => ackedAt.has(id)),
  /** Relay lag per event (ack − producer COMMIT), and as the relay sees it, since the last `steady`. */
  relayLags(ids: string[]) {
    return { fromCommit: ids.map((id) => ackedAt.get(id)! - commitAt.get(id)!), fromAppend: lagFromAppend };
  },
  commitTimes: (ids: string[]) => ids.map((id) => commitAt.get(id)!),
  async close() {
    await relay.stop();
    await bus.deleteStreams();
    await bus.close();
    await pool.end();
  },
});
