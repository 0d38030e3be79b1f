/**
 * The probes, on their own thread: at random intervals an idle probe asset gets a 1-reading batch
 * above its rule's threshold through the gateway (reading time = now); t0 is when the ingest answer
 * (200, accepted 1) arrives. Then `GET /api/v1/alerts?assetId=…&status=firing` is polled until the
 * alert of that reading (raisedAt = the reading time) is listed: every `apiPollMs` from the moment
 * the commit watcher announces the alert's commit (it cannot be listed before), and every
 * `fallbackPollMs` from t0 in case the watcher misses it. (Polling every 5 ms from t0 for every
 * probe in flight would be hundreds of requests per second on the server being measured whenever
 * alerts are slow — the measurement would feed the delay it measures.) Then a clearing reading is
 * sent, and the asset is reused once its alert is no longer firing (announced by the watcher, or
 * seen in the API by the fallback poll).
 *
 * Command `run`: starts probes until `samples` were started or `maxSeconds` passed, waits for the
 * ones in flight, and returns every probe's record.
 */
import { BroadcastChannel, workerData } from 'node:worker_threads';
import { Pool } from 'undici';
import { serve } from '../common/threads.js';
import type { WatchSignal } from './commit-watch.worker.js';
import { epochMs } from './tail.js';

export interface ProbeSettings {
  gatewayUrl: string;
  adminToken: string;
  assetIds: string[];
  metric: string;
  /** The value that crosses the rule's threshold, and the one that clears it. */
  highValue: number;
  lowValue: number;
  /** API polling once the commit is announced. */
  apiPollMs: number;
  /** API polling before that (and while waiting for the clear), in case the watcher misses something. */
  fallbackPollMs: number;
  /** The commit watcher's BroadcastChannel. */
  channel: string;
  /** A probe that is not visible (or not cleared) within this long is given up (and its asset retired). */
  timeoutMs: number;
  connections: number;
}

export interface ProbeRecord {
  assetId: string;
  /** The reading time of the crossing reading (epoch ms): the alert's raisedAt. */
  tsMs: number;
  /** Epoch ms (sub-ms): the ingest request sent, its answer received (t0). */
  sentAt: number;
  ackAt: number;
  /** The first alerts listing that showed the alert: request sent, answer received. */
  apiSeenSentAt?: number;
  apiSeenAt?: number;
  apiPolls: number;
  /** When the commit watcher's announcement of the commit reached this thread. */
  commitSignalAt?: number;
  alertId?: string;
  /** When the clearing reading was answered, and when the API listed no firing alert any more. */
  clearAckAt?: number;
  clearedSeenAt?: number;
  error?: string;
}

export interface ProbeRunArgs {
  samples: number;
  maxSeconds: number;
  minIntervalMs: number;
  maxIntervalMs: number;
}

export interface ProbeRunOutcome {
  seconds: number;
  records: ProbeRecord[];
  /** Ticks at which every probe asset was busy (no probe started). */
  skippedTicks: number;
  /** Ticks that fired more than 5 ms after their scheduled time (the probe thread itself was late). */
  lateTicks: number;
  retiredAssets: number;
  apiRequests: number;
  ingestRequests: number;
}

const settings = workerData as ProbeSettings;
const pool = new Pool(settings.gatewayUrl, {
  connections: settings.connections,
  pipelining: 1,
  keepAliveTimeout: 60_000,
});
const auth = { authorization: `Bearer ${settings.adminToken}` };
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

interface ProbeAsset {
  id: string;
  busy: boolean;
  retired: boolean;
  lastTsMs: number;
  /** The watcher's latest announcements for the asset (reset when a probe starts / a clear is sent). */
  committedAt?: number;
  cleared: boolean;
  /** Cuts the current wait short (set while the probe waits). */
  wake?: () => void;
}
const assets: ProbeAsset[] = settings.assetIds.map((id) => ({
  id,
  busy: false,
  retired: false,
  lastTsMs: 0,
  cleared: false,
}));
const byId = new Map(assets.map((a) => [a.id, a]));
const channel = new BroadcastChannel(settings.channel);
channel.onmessage = (message) => {
  const signal = (message as { data: WatchSignal }).data;
  const asset = byId.get(signal.assetId);
  if (!asset) return;
  if (signal.kind === 'committed') asset.committedAt ??= epochMs();
  else asset.cleared = true;
  asset.wake?.();
};

/** Sleeps `ms`, or less when the asset's watcher announcement arrives meanwhile. */
function wait(asset: ProbeAsset, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      asset.wake = undefined;
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    asset.wake = done;
  });
}
let apiRequests = 0;
let ingestRequests = 0;

/** Sends one reading; resolves with the answer's arrival time, or throws. */
async function ingestOne(assetId: string, value: number, tsMs: number): Promise<number> {
  ingestRequests++;
  const res = await pool.request({
    path: '/api/v1/telemetry',
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ readings: [{ assetId, metric: settings.metric, value, ts: tsMs }] }),
  });
  const text = await res.body.text();
  const at = epochMs();
  if (res.statusCode !== 200) throw new Error(`ingest ${res.statusCode}: ${text.slice(0, 200)}`);
  const answer = JSON.parse(text) as { accepted: number; duplicates: number; rejected: unknown[] };
  if (answer.accepted !== 1 || answer.duplicates !== 0)
    throw new Error(`ingest answered ${text.slice(0, 200)}`);
  return at;
}

interface AlertItem {
  id: string;
  status: string;
  raisedAt: string | null;
}

async function firingAlerts(assetId: string): Promise<AlertItem[]> {
  apiRequests++;
  const res = await pool.request({
    path: `/api/v1/alerts?assetId=${assetId}&status=firing`,
    method: 'GET',
    headers: auth,
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`alerts ${res.statusCode}: ${text.slice(0, 200)}`);
  return (JSON.parse(text) as { items: AlertItem[] }).items;
}

/** One probe on `asset`: cross, wait until listed, clear, wait until no longer firing. */
async function probe(asset: ProbeAsset, records: ProbeRecord[]): Promise<void> {
  const tsMs = Math.max(Date.now(), asset.lastTsMs + 1);
  asset.lastTsMs = tsMs;
  asset.committedAt = undefined;
  const record: ProbeRecord = { assetId: asset.id, tsMs, sentAt: epochMs(), ackAt: Number.NaN, apiPolls: 0 };
  records.push(record);
  try {
    record.ackAt = await ingestOne(asset.id, settings.highValue, tsMs);
  } catch (err) {
    record.error = String((err as Error).message ?? err);
    // Whether it was stored is unknown: clear to be safe, below.
  }
  const raisedAt = new Date(tsMs).toISOString();
  if (record.error === undefined) {
    const deadline = record.ackAt + settings.timeoutMs;
    for (;;) {
      const sent = epochMs();
      if (sent > deadline) {
        record.error = 'alert not listed within the timeout';
        break;
      }
      // Before the commit is announced, only the fallback poll (and not at t0: nothing can be listed yet).
      if (asset.committedAt !== undefined || sent - record.ackAt >= settings.fallbackPollMs) {
        record.apiPolls++;
        try {
          const found = (await firingAlerts(asset.id)).find((a) => a.raisedAt === raisedAt);
          if (found) {
            record.apiSeenAt = epochMs();
            record.apiSeenSentAt = sent;
            record.alertId = found.id;
            break;
          }
        } catch (err) {
          record.error = String((err as Error).message ?? err);
          break;
        }
      }
      const fast = asset.committedAt !== undefined;
      await wait(asset, (fast ? settings.apiPollMs : settings.fallbackPollMs) - (epochMs() - sent));
    }
    if (asset.committedAt !== undefined) record.commitSignalAt = asset.committedAt;
  }
  // Clear it (a reading under the threshold, later than the crossing one), then wait until the
  // alert is no longer firing before the asset is used again.
  try {
    const clearTs = Math.max(Date.now(), asset.lastTsMs + 1);
    asset.lastTsMs = clearTs;
    asset.cleared = false;
    record.clearAckAt = await ingestOne(asset.id, settings.lowValue, clearTs);
    const deadline = epochMs() + settings.timeoutMs;
    for (;;) {
      await wait(asset, asset.cleared ? 0 : settings.fallbackPollMs);
      if (asset.cleared || (await firingAlerts(asset.id)).length === 0) {
        record.clearedSeenAt = epochMs();
        break;
      }
      if (epochMs() > deadline) throw new Error('alert not cleared within the timeout');
    }
  } catch (err) {
    record.error ??= `clearing: ${String((err as Error).message ?? err)}`;
    asset.retired = true;
  }
}

serve({
  async run(args: ProbeRunArgs): Promise<ProbeRunOutcome> {
    const records: ProbeRecord[] = [];
    const inFlight = new Set<Promise<void>>();
    const start = epochMs();
    const deadline = start + args.maxSeconds * 1000;
    let started = 0;
    let skippedTicks = 0;
    let lateTicks = 0;
    // Ticks on an absolute schedule (timer lateness does not accumulate), at random intervals so
    // that they do not beat with the feed publisher's 100 ms period.
    let scheduled = start;
    while (started < args.samples) {
      const idle = assets.filter((a) => !a.busy && !a.retired);
      if (idle.length === 0) {
        skippedTicks++;
      } else {
        const asset = idle[Math.floor(Math.random() * idle.length)]!;
        asset.busy = true;
        started++;
        const running: Promise<void> = probe(asset, records).finally(() => {
          asset.busy = false;
          inFlight.delete(running);
        });
        inFlight.add(running);
      }
      scheduled += args.minIntervalMs + Math.random() * (args.maxIntervalMs - args.minIntervalMs);
      if (scheduled > deadline) break;
      await sleep(scheduled - epochMs());
      if (epochMs() - scheduled > 5) lateTicks++;
    }
    await Promise.all(inFlight);
    return {
      seconds: (epochMs() - start) / 1000,
      records,
      skippedTicks,
      lateTicks,
      retiredAssets: assets.filter((a) => a.retired).length,
      apiRequests,
      ingestRequests,
    };
  },

  async close(): Promise<void> {
    channel.close();
    await pool.close();
  },
});
