/**
 * HTTP ingest clients on their own thread: `POST /api/v1/telemetry` JSON batches through the
 * gateway, over keep-alive connections (undici). Each client slot owns its assets (as an edge
 * gateway owns its devices), so concurrent requests never write the same series, and each slot's
 * reading times only move forward: no reading is ever a duplicate.
 *
 * Commands: `closed` (each active slot sends its next batch as soon as the previous one is
 * answered — the maximum rate) and `paced` (open loop: batches leave on a fixed schedule whatever
 * the answers, and each latency is measured from the batch's scheduled time).
 */
import { workerData } from 'node:worker_threads';
import { Pool } from 'undici';
import { serve } from './threads.js';

export interface IngestSlot {
  assetIds: string[];
}

export interface IngestLoadSettings {
  gatewayUrl: string;
  adminToken: string;
  /** The slots this thread drives (client i of the benchmark is slot i). */
  slots: IngestSlot[];
  metrics: string[];
  /** Readings per series in one batch (consecutive times, `tsStepMs` apart). */
  tsPerSeries: number;
  tsStepMs: number;
  /** Reading time of each slot's first reading (epoch ms). */
  startTsMs: number;
  connections: number;
}

export interface LoadOutcome {
  seconds: number;
  batches: number;
  readings: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  failed: number;
  errors: string[];
  /** Per batch, ms: from sending (closed loop) or from its scheduled time (paced). */
  latencies: number[];
  /** Paced: from the actual send. */
  serviceLatencies?: number[];
  /** Paced: batches sent more than 5 ms after their scheduled time (the client itself was late). */
  lateSends?: number;
  /** Time-ordered [endTimeMsSinceStart, readings] samples, for a rate over time. */
  completions: [number, number][];
}

const settings = workerData as IngestLoadSettings;
const pool = new Pool(settings.gatewayUrl, {
  connections: settings.connections,
  pipelining: 1,
  keepAliveTimeout: 60_000,
});
const headers = { authorization: `Bearer ${settings.adminToken}`, 'content-type': 'application/json' };

class SlotCursor {
  private readonly prefixes: string[];
  private nextTs = settings.startTsMs;

  constructor(slot: IngestSlot) {
    this.prefixes = slot.assetIds.flatMap((assetId) =>
      settings.metrics.map((metric) => `{"assetId":"${assetId}","metric":"${metric}","value":`),
    );
  }

  get batchSize(): number {
    return this.prefixes.length * settings.tsPerSeries;
  }

  /** The next batch's JSON body: every series of the slot, at the next `tsPerSeries` times. */
  nextBody(): string {
    const parts: string[] = [];
    for (let t = 0; t < settings.tsPerSeries; t++) {
      const ts = this.nextTs;
      this.nextTs += settings.tsStepMs;
      for (const prefix of this.prefixes) {
        parts.push(`${prefix}${Math.round(Math.random() * 100_000) / 100},"ts":${ts}}`);
      }
    }
    return `{"readings":[${parts.join(',')}]}`;
  }
}

const cursors = settings.slots.map((slot) => new SlotCursor(slot));

function emptyOutcome(): LoadOutcome {
  return {
    seconds: 0,
    batches: 0,
    readings: 0,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    failed: 0,
    errors: [],
    latencies: [],
    completions: [],
  };
}

/** Sends one batch; records its result in `out` and returns when answered. */
async function sendBatch(cursor: SlotCursor, out: LoadOutcome): Promise<boolean> {
  const body = cursor.nextBody();
  out.batches++;
  out.readings += cursor.batchSize;
  try {
    const res = await pool.request({ path: '/api/v1/telemetry', method: 'POST', headers, body });
    const text = await res.body.text();
    if (res.statusCode !== 200) {
      out.failed++;
      if (out.errors.length < 5) out.errors.push(`${res.statusCode} ${text.slice(0, 300)}`);
      return false;
    }
    const answer = JSON.parse(text) as { accepted: number; duplicates: number; rejected: unknown[] };
    out.accepted += answer.accepted - answer.duplicates;
    out.duplicates += answer.duplicates;
    out.rejected += answer.rejected.length;
    if (answer.rejected.length > 0 && out.errors.length < 5) {
      out.errors.push(`rejected: ${JSON.stringify(answer.rejected.slice(0, 2))}`);
    }
    return true;
  } catch (err) {
    out.failed++;
    if (out.errors.length < 5) out.errors.push(String((err as Error).message ?? err));
    return false;
  }
}

serve({
  /** Every one of the first `clients` slots of this thread sends batches back to back for `seconds`. */
  async closed(args: { clients: number; seconds: number }): Promise<LoadOutcome> {
    const out = emptyOutcome();
    const start = performance.now();
    const deadline = start + args.seconds * 1000;
    await Promise.all(
      cursors.slice(0, args.clients).map(async (cursor) => {
        while (performance.now() < deadline) {
          const sent = performance.now();
          if (await sendBatch(cursor, out)) {
            const now = performance.now();
            out.latencies.push(now - sent);
            out.completions.push([now - start, cursor.batchSize]);
          }
        }
      }),
    );
    out.seconds = (performance.now() - start) / 1000;
    return out;
  },

  /**
   * Open loop: `batchesPerSecond` batches leave on a fixed schedule for `seconds`, taking the slots
   * in turn, whether or not earlier ones have been answered.
   */
  async paced(args: { batchesPerSecond: number; seconds: number }): Promise<LoadOutcome> {
    const out = emptyOutcome();
    out.serviceLatencies = [];
    out.lateSends = 0;
    const interval = 1000 / args.batchesPerSecond;
    const total = Math.floor(args.seconds * args.batchesPerSecond);
    const start = performance.now() + 20;
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const scheduled = start + i * interval;
      const wait = scheduled - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const sent = performance.now();
      if (sent - scheduled > 5) out.lateSends++;
      const cursor = cursors[i % cursors.length]!;
      inFlight.push(
        sendBatch(cursor, out).then((ok) => {
          if (!ok) return;
          const now = performance.now();
          out.latencies.push(now - scheduled);
          out.serviceLatencies!.push(now - sent);
          out.completions.push([now - start, cursor.batchSize]);
        }),
      );
    }
    await Promise.all(inFlight);
    out.seconds = (performance.now() - start) / 1000;
    return out;
  },

  async close(): Promise<void> {
    await pool.close();
  },
});
