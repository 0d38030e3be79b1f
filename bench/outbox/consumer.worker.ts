/**
 * The consuming service of the benchmark, on its own thread: an event consumer whose handler
 * writes one row per event, recording when each event's processing committed and checking that
 * every asset's events arrive in version order.
 */
import { workerData } from 'node:worker_threads';
import { AssetUpdated, type EventEnvelope } from '@assetops/contracts';
import { createEventConsumer } from '@assetops/platform';
import { connectServiceThread, type ServiceThreadSettings, serve } from './bench-rpc.js';

export type ConsumerSettings = ServiceThreadSettings;

const settings = workerData as ConsumerSettings;
const { logger, pool, bus } = await connectServiceThread(settings, 'bench-consumer', 8);

const processedAt = new Map<string, number>();
const lastVersion = new Map<string, number>();
let orderViolations = 0;

const consumer = createEventConsumer({
  name: 'bench',
  pool,
  bus,
  sources: ['asset'],
  logger,
  handlers: {
    [AssetUpdated.type]: async (tx, event: EventEnvelope<{ assetId: string; version: number }>) => {
      // A named statement is parsed and planned once per connection, as a busy handler's should be.
      await tx.query({
        name: 'bench-effect',
        text: 'INSERT INTO bench_effects (event_id, asset_id, version) VALUES ($1, $2, $3)',
        values: [event.id, event.data.assetId, event.data.version],
      });
    },
  },
  onProcessed(events, committed) {
    const at = committed.getTime();
    for (const event of events) {
      if (processedAt.has(event.id)) continue;
      processedAt.set(event.id, at);
      const { assetId, version } = event.data as { assetId: string; version: number };
      if ((lastVersion.get(assetId) ?? 0) >= version) orderViolations++;
      lastVersion.set(assetId, version);
    }
  },
});

serve({
  start: () => consumer.start(),
  stop: () => consumer.stop(),
  progress: () => ({ processed: processedAt.size, orderViolations }),
  processedTimes: (ids: string[]) => ids.map((id) => processedAt.get(id) ?? Number.NaN),
  async close() {
    await consumer.stop();
    await bus.close();
    await pool.end();
  },
});
