/**
 * The raw COPY ceiling: the same readings (same series, same batch shape) written with
 * `COPY readings FROM STDIN` straight into the Telemetry service's partitioned table — no HTTP, no
 * JSON, no validation, no roll-ups. The rows are generated before the clock starts, so only the
 * database's work (and the socket) is measured.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool } from '@assetops/platform';
import { from as copyFrom } from 'pg-copy-streams';

export interface SeriesRow {
  seriesId: number;
  classId: number;
}

export interface CopyPlan {
  /** Series groups: group g holds the series of HTTP client slot g. */
  groups: SeriesRow[][];
  readings: number;
  tsPerSeries: number;
  tsStepMs: number;
  /** First reading time; each reading time is `startTsMs + offsetMs + k * tsStepMs`. */
  startTsMs: number;
  /** Keeps these keys apart from the HTTP run's (whose times are multiples of tsStepMs from the start). */
  offsetMs: number;
  streams: number;
}

export interface CopyResult {
  streams: number;
  readings: number;
  seconds: number;
  readingsPerSecond: number;
  megabytes: number;
}

const CHUNK_ROWS = 5000;

/** The COPY text of each stream, in chunks: batch b (of `groups[b % G]`) goes to stream b % streams. */
function generate(plan: CopyPlan): { chunks: Buffer[][]; bytes: number } {
  const chunks: Buffer[][] = Array.from({ length: plan.streams }, () => []);
  const pending: string[][] = Array.from({ length: plan.streams }, () => []);
  let bytes = 0;
  const flush = (stream: number) => {
    const buffer = Buffer.from(pending[stream]!.join(''));
    bytes += buffer.length;
    chunks[stream]!.push(buffer);
    pending[stream] = [];
  };
  let written = 0;
  for (let b = 0; written < plan.readings; b++) {
    const stream = b % plan.streams;
    const group = plan.groups[b % plan.groups.length]!;
    const block = Math.floor(b / plan.groups.length);
    for (let t = 0; t < plan.tsPerSeries && written < plan.readings; t++) {
      const ts = new Date(
        plan.startTsMs + plan.offsetMs + (block * plan.tsPerSeries + t) * plan.tsStepMs,
      ).toISOString();
      for (const s of group) {
        if (written >= plan.readings) break;
        pending[stream]!.push(
          `${s.seriesId}\t${s.classId}\t${ts}\t${Math.round(Math.random() * 100_000) / 100}\n`,
        );
        written++;
        if (pending[stream]!.length >= CHUNK_ROWS) flush(stream);
      }
    }
  }
  for (let stream = 0; stream < plan.streams; stream++) if (pending[stream]!.length > 0) flush(stream);
  return { chunks, bytes };
}

/** Runs the COPY (one transaction per stream, streams in parallel) and times it. */
export async function copyCeiling(pool: Pool, plan: CopyPlan): Promise<CopyResult> {
  const { chunks, bytes } = generate(plan);
  const clients = await Promise.all(chunks.map(() => pool.connect()));
  try {
    const start = performance.now();
    await Promise.all(
      clients.map((client, i) =>
        pipeline(
          Readable.from(chunks[i]!),
          client.query(copyFrom('COPY readings (series_id, class_id, ts, value) FROM STDIN')),
        ),
      ),
    );
    const seconds = (performance.now() - start) / 1000;
    return {
      streams: plan.streams,
      readings: plan.readings,
      seconds: Math.round(seconds * 100) / 100,
      readingsPerSecond: Math.round(plan.readings / seconds),
      megabytes: Math.round(bytes / 1e5) / 10,
    };
  } finally {
    for (const client of clients) client.release();
  }
}
