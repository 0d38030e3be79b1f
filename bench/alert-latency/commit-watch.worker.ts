/**
 * Watches the Alert service's database for committed alerts, on a thread and a connection of its
 * own: every `intervalMs` it reads the firing alerts of the probe assets (superuser connection to
 * `<prefix>_alert`, read committed: each query sees what committed before it started). The first
 * query that returns an alert bounds its commit: after the previous query's start, before this
 * one's — the reported commit time is this query's start (an error of at most one poll gap, which
 * is reported).
 *
 * Each commit it sees, and each alert that stops firing (its clear committed), is also announced on
 * the BroadcastChannel `channel` (a {@link WatchSignal}), so that the probe thread polls the API
 * only once the alert can be listed, and reuses a probe asset once its alert is cleared.
 *
 * Commands: `start` (begins polling), `stop` (returns what it saw).
 */
import { BroadcastChannel, workerData } from 'node:worker_threads';
import { createPool } from '@assetops/platform';
import { serve } from '../common/threads.js';
import { epochMs, type TailSummary, tail } from './tail.js';

export interface WatchSettings {
  connectionString: string;
  assetIds: string[];
  intervalMs: number;
  channel: string;
}

/** What the watcher announces: an alert of a probe asset committed (firing), or no longer firing. */
export interface WatchSignal {
  kind: 'committed' | 'cleared';
  assetId: string;
  alertId: string;
  at: number;
}

export interface SeenAlert {
  alertId: string;
  assetId: string;
  /** Start of the first query that returned it (the commit time taken). */
  seenAt: number;
  /** Start of the query before (the commit came after it). */
  previousAt: number;
}

export interface WatchOutcome {
  seen: SeenAlert[];
  polls: number;
  /** Time between the starts of consecutive queries: the resolution of the commit times. */
  pollGapMs: TailSummary;
  /** Round trip of one query. */
  queryMs: TailSummary;
  errors: string[];
}

const settings = workerData as WatchSettings;
const pool = createPool({
  connectionString: settings.connectionString,
  applicationName: 'bench-commit-watch',
  max: 1,
});
const channel = new BroadcastChannel(settings.channel);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

let running = false;
let loop: Promise<void> | undefined;
let seen = new Map<string, SeenAlert>();
let gaps: number[] = [];
let queries: number[] = [];
let errors: string[] = [];

async function watch(): Promise<void> {
  const client = await pool.connect();
  try {
    let previous = Number.NaN;
    let firing = new Map<string, string>();
    while (running) {
      const started = epochMs();
      try {
        const { rows } = await client.query<{ id: string; asset_id: string }>({
          name: 'bench-watch-firing',
          text: `SELECT id::text, asset_id::text FROM alerts WHERE status = 'firing' AND asset_id = ANY($1::uuid[])`,
          values: [settings.assetIds],
        });
        queries.push(epochMs() - started);
        if (!Number.isNaN(previous)) gaps.push(started - previous);
        const now = new Map<string, string>();
        for (const row of rows) {
          now.set(row.id, row.asset_id);
          if (seen.has(row.id)) continue;
          seen.set(row.id, { alertId: row.id, assetId: row.asset_id, seenAt: started, previousAt: previous });
          channel.postMessage({
            kind: 'committed',
            assetId: row.asset_id,
            alertId: row.id,
            at: started,
          } satisfies WatchSignal);
        }
        for (const [alertId, assetId] of firing) {
          if (!now.has(alertId))
            channel.postMessage({ kind: 'cleared', assetId, alertId, at: started } satisfies WatchSignal);
        }
        firing = now;
      } catch (err) {
        if (errors.length < 5) errors.push(String((err as Error).message ?? err));
        await sleep(100);
      }
      previous = started;
      await sleep(started + settings.intervalMs - epochMs());
    }
  } finally {
    client.release();
  }
}

serve({
  async start(): Promise<void> {
    if (running) return;
    seen = new Map();
    gaps = [];
    queries = [];
    errors = [];
    running = true;
    loop = watch();
  },

  async stop(): Promise<WatchOutcome> {
    running = false;
    await loop;
    return {
      seen: [...seen.values()],
      polls: queries.length,
      pollGapMs: tail(gaps),
      queryMs: tail(queries),
      errors,
    };
  },

  async close(): Promise<void> {
    channel.close();
    await pool.end();
  },
});
