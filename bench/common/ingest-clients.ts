/**
 * The coordinator's side of the HTTP ingest clients: client slots spread over a few threads,
 * closed-loop (maximum rate) and paced (open-loop) runs, and their combined results.
 */

import type { IngestLoadSettings, IngestSlot, LoadOutcome } from './ingest-load.worker.js';
import { type LatencySummary, round, summarize } from './stats.js';
import { BenchThread } from './threads.js';

/** Metric names of the benchmark's series (`metric_<n>` past the tenth). */
export function metricNames(count: number): string[] {
  const names = [
    'temperature',
    'rpm',
    'pressure',
    'vibration',
    'flow',
    'current',
    'voltage',
    'power',
    'humidity',
    'speed',
  ];
  return Array.from({ length: count }, (_, i) => names[i] ?? `metric_${i}`);
}

export interface IngestRunResult {
  clients: number;
  seconds: number;
  readingsStored: number;
  readingsPerSecond: number;
  batchesPerSecond: number;
  /** Lowest and highest readings/s over whole seconds of the run (first and last second left out). */
  perSecondMin: number;
  perSecondMax: number;
  duplicates: number;
  rejected: number;
  failedBatches: number;
  errors: string[];
  batchLatencyMs: LatencySummary;
}

export interface PacedRunResult {
  targetReadingsPerSecond: number;
  achievedReadingsPerSecond: number;
  batches: number;
  failedBatches: number;
  rejected: number;
  lateSends: number;
  errors: string[];
  /** From each batch's scheduled send time to its answer (includes any queueing in the client). */
  ackLatencyMs: LatencySummary;
  /** From the actual send to the answer. */
  serviceLatencyMs: LatencySummary;
}

/** Client slot i (owning `slots[i]`) runs on thread i % threads. */
export class IngestClients {
  private readonly threads: BenchThread[];

  constructor(
    base: Omit<IngestLoadSettings, 'slots'>,
    slots: IngestSlot[],
    threadCount: number,
    readonly batchSize: number,
  ) {
    const count = Math.max(1, Math.min(threadCount, slots.length));
    const perThread: IngestSlot[][] = Array.from({ length: count }, () => []);
    slots.forEach((slot, i) => {
      perThread[i % count]!.push(slot);
    });
    this.threads = perThread.map(
      (threadSlots) =>
        new BenchThread(new URL('./ingest-load.worker.ts', import.meta.url), {
          ...base,
          slots: threadSlots,
        } satisfies IngestLoadSettings),
    );
  }

  /** `clients` concurrent clients (slots 0 … clients-1) send batches back to back for `seconds`. */
  async closed(clients: number, seconds: number): Promise<IngestRunResult> {
    const outcomes = await Promise.all(
      this.threads.map((thread, t) => {
        // Slots t, t + threads, … of the first `clients` run on thread t.
        const mine = Math.max(0, Math.ceil((clients - t) / this.threads.length));
        return mine > 0 ? thread.call<LoadOutcome>('closed', { clients: mine, seconds }) : undefined;
      }),
    );
    const ran = outcomes.filter((o): o is LoadOutcome => o !== undefined);
    const elapsed = Math.max(...ran.map((o) => o.seconds));
    const stored = sum(ran, (o) => o.accepted);
    const perSecond = new Map<number, number>();
    for (const o of ran) {
      for (const [at, readings] of o.completions) {
        const second = Math.floor(at / 1000);
        perSecond.set(second, (perSecond.get(second) ?? 0) + readings);
      }
    }
    const whole = [...perSecond.entries()]
      .filter(([second]) => second >= 1 && second < Math.floor(elapsed) - 1)
      .map(([, readings]) => readings);
    return {
      clients,
      seconds: round(elapsed, 1),
      readingsStored: stored,
      readingsPerSecond: Math.round(stored / elapsed),
      batchesPerSecond: round(sum(ran, (o) => o.batches - o.failed) / elapsed, 1),
      perSecondMin: whole.length ? Math.min(...whole) : Number.NaN,
      perSecondMax: whole.length ? Math.max(...whole) : Number.NaN,
      duplicates: sum(ran, (o) => o.duplicates),
      rejected: sum(ran, (o) => o.rejected),
      failedBatches: sum(ran, (o) => o.failed),
      errors: ran.flatMap((o) => o.errors).slice(0, 5),
      batchLatencyMs: summarize(ran.flatMap((o) => o.latencies)),
    };
  }

  /** Open loop: `readingsPerSecond` in batches on a fixed schedule, spread over the threads and every slot. */
  async paced(readingsPerSecond: number, seconds: number): Promise<PacedRunResult> {
    const batchesPerSecond = readingsPerSecond / this.batchSize;
    const outcomes = await Promise.all(
      this.threads.map((thread) =>
        thread.call<LoadOutcome>('paced', {
          batchesPerSecond: batchesPerSecond / this.threads.length,
          seconds,
        }),
      ),
    );
    const elapsed = Math.max(...outcomes.map((o) => o.seconds));
    return {
      targetReadingsPerSecond: Math.round(readingsPerSecond),
      achievedReadingsPerSecond: Math.round(sum(outcomes, (o) => o.accepted) / elapsed),
      batches: sum(outcomes, (o) => o.batches),
      failedBatches: sum(outcomes, (o) => o.failed),
      rejected: sum(outcomes, (o) => o.rejected),
      lateSends: sum(outcomes, (o) => o.lateSends ?? 0),
      errors: outcomes.flatMap((o) => o.errors).slice(0, 5),
      ackLatencyMs: summarize(outcomes.flatMap((o) => o.latencies)),
      serviceLatencyMs: summarize(outcomes.flatMap((o) => o.serviceLatencies ?? [])),
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.call('close').catch(() => {})));
    await Promise.all(this.threads.map((thread) => thread.terminate()));
  }
}

function sum<T>(items: readonly T[], of: (item: T) => number): number {
  return items.reduce((total, item) => total + of(item), 0);
}
