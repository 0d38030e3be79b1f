/**
 * `GET /api/v1/assets/:id/overview` through the gateway, open loop, on its own thread: requests
 * leave on a fixed schedule (`rate` per second) whether or not earlier ones were answered, each for
 * an asset drawn at random from the list; latency is measured from the scheduled time (so that a
 * stalled client or server shows as latency, not as a lower rate) and from the actual send.
 *
 * Command `run` ({ rate, seconds }), `close`.
 */
import { workerData } from 'node:worker_threads';
import { Pool } from 'undici';
import { serve } from '../common/threads.js';

export interface OverviewSettings {
  gatewayUrl: string;
  adminToken: string;
  assetIds: string[];
  connections: number;
}

export interface OverviewOutcome {
  seconds: number;
  requests: number;
  /** Answers by HTTP status (`error` = no answer). */
  statuses: Record<string, number>;
  /** 200 answers with a non-empty `degraded` list, by the part named. */
  degraded: Record<string, number>;
  /** Sends more than 5 ms after their scheduled time (the client itself was late). */
  lateSends: number;
  /** ms, 200 answers only: from the scheduled time / from the actual send to the whole body read. */
  latencies: number[];
  serviceLatencies: number[];
  errors: string[];
}

const settings = workerData as OverviewSettings;
const pool = new Pool(settings.gatewayUrl, {
  connections: settings.connections,
  pipelining: 1,
  keepAliveTimeout: 60_000,
});
const headers = { authorization: `Bearer ${settings.adminToken}`, accept: 'application/json' };

serve({
  async run(args: { rate: number; seconds: number }): Promise<OverviewOutcome> {
    const out: OverviewOutcome = {
      seconds: 0,
      requests: 0,
      statuses: {},
      degraded: {},
      lateSends: 0,
      latencies: [],
      serviceLatencies: [],
      errors: [],
    };
    const interval = 1000 / args.rate;
    const total = Math.floor(args.seconds * args.rate);
    const start = performance.now() + 20;
    const inFlight: Promise<void>[] = [];
    const count = (map: Record<string, number>, key: string) => {
      map[key] = (map[key] ?? 0) + 1;
    };
    for (let i = 0; i < total; i++) {
      const scheduled = start + i * interval;
      const wait = scheduled - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const sent = performance.now();
      if (sent - scheduled > 5) out.lateSends++;
      const assetId = settings.assetIds[Math.floor(Math.random() * settings.assetIds.length)]!;
      out.requests++;
      inFlight.push(
        (async () => {
          try {
            const res = await pool.request({
              path: `/api/v1/assets/${assetId}/overview`,
              method: 'GET',
              headers,
            });
            const text = await res.body.text();
            const now = performance.now();
            count(out.statuses, String(res.statusCode));
            if (res.statusCode !== 200) {
              if (out.errors.length < 5) out.errors.push(`${res.statusCode} ${text.slice(0, 300)}`);
              return;
            }
            out.latencies.push(now - scheduled);
            out.serviceLatencies.push(now - sent);
            const degraded = (JSON.parse(text) as { degraded?: string[] }).degraded ?? [];
            for (const part of degraded) count(out.degraded, part);
          } catch (err) {
            count(out.statuses, 'error');
            if (out.errors.length < 5) out.errors.push(String((err as Error).message ?? err));
          }
        })(),
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
