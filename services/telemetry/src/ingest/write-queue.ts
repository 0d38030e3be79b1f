import type { Pool } from '@assetops/platform';
import { type StoredReading, writeReadingBatches } from './writer.js';

export interface WriteQueueOptions {
  pool: Pool;
  feedWindowMs: number;
  /** Write statements in flight at most (default 2). */
  maxConcurrentWrites?: number;
  /** Readings one merged statement takes at most (default 10,000; a larger batch goes alone). */
  maxReadingsPerWrite?: number;
  /**
   * Told of each statement that committed: how long its oldest batch waited for a free slot and
   * how long the statement took, in milliseconds, and how many batches it merged.
   */
  onWritten?: (timing: { waitedMs: number; writeMs: number; batches: number }) => void;
}

interface Waiting {
  readings: readonly StoredReading[];
  queuedAt: number;
  resolve: (inserted: number) => void;
  reject: (err: unknown) => void;
}

/**
 * The writes of concurrent ingest requests (HTTP, NDJSON chunks, MQTT batches). At most
 * `maxConcurrentWrites` statements run at once; the batches waiting meanwhile are merged into the
 * next statement. On a small server, more concurrent writers than cores only make PostgreSQL
 * backends compete (the throughput falls and every batch's ack waits longer); merged statements
 * share the per-statement costs (planning, the commit's WAL flush) instead. Each caller is answered
 * once the statement holding its readings committed — an answer still means they are durable.
 */
export class WriteQueue {
  private readonly waiting: Waiting[] = [];
  private running = 0;
  private readonly maxConcurrent: number;
  private readonly maxReadings: number;

  constructor(private readonly opts: WriteQueueOptions) {
    this.maxConcurrent = opts.maxConcurrentWrites ?? 2;
    this.maxReadings = opts.maxReadingsPerWrite ?? 10_000;
  }

  /** Stores the readings; resolves with how many were new once they are committed. */
  write(readings: readonly StoredReading[]): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ readings, queuedAt: performance.now(), resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.maxConcurrent && this.waiting.length > 0) {
      // Oldest first; then whatever else fits.
      const taken = [this.waiting.shift()!];
      let size = taken[0]!.readings.length;
      while (this.waiting.length > 0 && size + this.waiting[0]!.readings.length <= this.maxReadings) {
        const next = this.waiting.shift()!;
        size += next.readings.length;
        taken.push(next);
      }
      this.running++;
      void this.run(taken).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async run(taken: Waiting[]): Promise<void> {
    try {
      const inserted = await this.writeTimed(taken);
      for (const [i, w] of taken.entries()) w.resolve(inserted[i]!);
    } catch (err) {
      if (taken.length === 1) {
        taken[0]!.reject(err);
        return;
      }
      // One batch may be what failed (say, a reading for a compacted day): write each on its own,
      // so that every caller gets its own outcome.
      for (const w of taken) {
        try {
          const [inserted] = await this.writeTimed([w]);
          w.resolve(inserted!);
        } catch (own) {
          w.reject(own);
        }
      }
    }
  }

  /** One statement for the batches, timed. */
  private async writeTimed(taken: readonly Waiting[]): Promise<number[]> {
    const started = performance.now();
    const inserted = await writeReadingBatches(
      this.opts.pool,
      taken.map((w) => w.readings),
      this.opts.feedWindowMs,
    );
    this.opts.onWritten?.({
      waitedMs: started - taken[0]!.queuedAt,
      writeMs: performance.now() - started,
      batches: taken.length,
    });
    return inserted;
  }
}
