import type { IngestResult, RejectedReading } from '@assetops/contracts';
import type { Pool } from '@assetops/platform';
import { Counter, Histogram, type Registry } from 'prom-client';
import { type KnownAssets, refusal } from '../assets/known-assets.js';
import type { RetentionClasses } from '../storage/partitions.js';
import { SeriesResolver } from './series.js';
import {
  isRejection,
  type ParsedReading,
  parseReading,
  type Rejection,
  type TimeLimits,
} from './validate.js';
import { WriteQueue, type WriteQueueOptions } from './write-queue.js';
import type { StoredReading } from './writer.js';

export interface IngestorOptions {
  pool: Pool;
  assets: KnownAssets;
  classes: RetentionClasses;
  latenessMs: number;
  maxFutureMs: number;
  feedWindowMs: number;
  metrics?: Registry;
  now?: () => number;
  /** Told after new readings committed (the feed publisher announces them without waiting for its poll). */
  onStored?: () => void;
}

/** Histogram buckets of the ingest timings, in seconds. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5];

/** A measurement already split from its transport's format (HTTP body, MQTT payload). */
export type IngestItem = ParsedReading | Rejection;

/**
 * The ingestion path shared by HTTP and MQTT: per-reading validation, the asset check (in batch),
 * series resolution, and one atomic write (merged with concurrent ones by the write queue). When it
 * resolves, every accepted reading is durable.
 */
export class Ingestor {
  private readonly series: SeriesResolver;
  private readonly writes: WriteQueue;
  private readonly now: () => number;
  private readonly readingsTotal?: Counter<'transport' | 'outcome'>;
  private readonly batchSize?: Histogram<'transport'>;
  private readonly ingestSeconds?: Histogram<'transport'>;

  constructor(private readonly opts: IngestorOptions) {
    this.series = new SeriesResolver(opts.pool);
    this.now = opts.now ?? Date.now;
    let onWritten: WriteQueueOptions['onWritten'];
    if (opts.metrics) {
      this.readingsTotal = new Counter({
        name: 'telemetry_readings_total',
        help: 'Readings received, by transport and outcome (stored, duplicate, rejected)',
        labelNames: ['transport', 'outcome'],
        registers: [opts.metrics],
      });
      this.ingestSeconds = new Histogram({
        name: 'telemetry_ingest_seconds',
        help: 'Time from a batch handed to ingestion to its outcome (validated, checked, written, committed)',
        labelNames: ['transport'],
        buckets: LATENCY_BUCKETS,
        registers: [opts.metrics],
      });
      // Where an ingest answer's time goes: waiting for a write slot, and the write statement.
      const waited = new Histogram({
        name: 'telemetry_write_wait_seconds',
        help: 'Time a batch waited for a write slot (the oldest batch of each write statement)',
        buckets: LATENCY_BUCKETS,
        registers: [opts.metrics],
      });
      const wrote = new Histogram({
        name: 'telemetry_write_seconds',
        help: 'Duration of the write statements (readings, feed windows and pending roll-ups, committed)',
        buckets: LATENCY_BUCKETS,
        registers: [opts.metrics],
      });
      const merged = new Counter({
        name: 'telemetry_write_batches_total',
        help: 'Ingest batches written, counted once per write statement that held them',
        registers: [opts.metrics],
      });
      onWritten = ({ waitedMs, writeMs, batches }) => {
        waited.observe(waitedMs / 1000);
        wrote.observe(writeMs / 1000);
        merged.inc(batches);
      };
      this.batchSize = new Histogram({
        name: 'telemetry_ingest_batch_size',
        help: 'Readings per ingest batch',
        labelNames: ['transport'],
        buckets: [1, 10, 100, 500, 1000, 5000, 10_000, 50_000],
        registers: [opts.metrics],
      });
    }
    this.writes = new WriteQueue({
      pool: opts.pool,
      feedWindowMs: opts.feedWindowMs,
      ...(onWritten ? { onWritten } : {}),
    });
  }

  /** The acceptance window of readings received now. */
  limits(): TimeLimits {
    return { receivedAtMs: this.now(), latenessMs: this.opts.latenessMs, maxFutureMs: this.opts.maxFutureMs };
  }

  /** Ingests raw readings `{assetId, metric, value, ts?}` as a client sent them. */
  ingestRaw(inputs: readonly unknown[], transport = 'http'): Promise<IngestResult> {
    const limits = this.limits();
    return this.ingest(
      inputs.map((input) => parseReading(input, limits)),
      transport,
    );
  }

  /**
   * Ingests parsed items (rejections pass through with their index). Readings of unknown or
   * closed assets are rejected; the rest are written in one transaction.
   */
  async ingest(items: readonly IngestItem[], transport = 'http'): Promise<IngestResult> {
    const started = performance.now();
    const rejected: RejectedReading[] = [];
    const candidates: { index: number; reading: ParsedReading }[] = [];
    items.forEach((item, index) => {
      if (isRejection(item)) rejected.push({ index, ...item });
      else candidates.push({ index, reading: item });
    });
    const assets = await this.opts.assets.lookup(candidates.map((c) => c.reading.assetId));
    const accepted: ParsedReading[] = [];
    for (const c of candidates) {
      const refused = refusal(assets.get(c.reading.assetId));
      if (refused) rejected.push({ index: c.index, ...refused });
      else accepted.push(c.reading);
    }
    rejected.sort((a, b) => a.index - b.index);
    let inserted = 0;
    if (accepted.length > 0) {
      const refs = await this.series.resolve(accepted, (assetId) =>
        this.opts.classes.classOf(assets.get(assetId)!.assetType),
      );
      const rows: StoredReading[] = accepted.map((r) => {
        const ref = refs.get(SeriesResolver.key(r.assetId, r.metric))!;
        return { seriesId: ref.seriesId, classId: ref.classId, tsMs: r.tsMs, value: r.value };
      });
      inserted = await this.writes.write(rows);
      if (inserted > 0) this.opts.onStored?.();
    }
    this.ingestSeconds?.observe({ transport }, (performance.now() - started) / 1000);
    this.batchSize?.observe({ transport }, items.length);
    this.readingsTotal?.inc({ transport, outcome: 'stored' }, inserted);
    this.readingsTotal?.inc({ transport, outcome: 'duplicate' }, accepted.length - inserted);
    this.readingsTotal?.inc({ transport, outcome: 'rejected' }, rejected.length);
    return { accepted: accepted.length, duplicates: accepted.length - inserted, rejected };
  }
}
