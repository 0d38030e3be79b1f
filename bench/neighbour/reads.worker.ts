/**
 * Asset API readers on their own thread: a steady, open-loop stream of `GET /api/v1/assets/:id`
 * and `GET /api/v1/assets?limit=20` through the gateway (keep-alive, undici), alternating; each
 * latency is measured from the request's scheduled time, so a stall shows in full.
 */
import { workerData } from 'node:worker_threads';
import { Pool } from 'undici';
import { serve } from '../common/threads.js';

export interface ReadsSettings {
  gatewayUrl: string;
  adminToken: string;
  assetIds: string[];
}

export interface ReadsOutcome {
  seconds: number;
  requests: number;
  byId: number[];
  list: number[];
  failed: number;
  errors: string[];
  lateSends: number;
}

const settings = workerData as ReadsSettings;
const pool = new Pool(settings.gatewayUrl, { connections: 64, pipelining: 1, keepAliveTimeout: 60_000 });
const headers = { authorization: `Bearer ${settings.adminToken}` };

serve({
  async run(args: { ratePerSecond: number; seconds: number }): Promise<ReadsOutcome> {
    const out: ReadsOutcome = {
      seconds: 0,
      requests: 0,
      byId: [],
      list: [],
      failed: 0,
      errors: [],
      lateSends: 0,
    };
    const interval = 1000 / args.ratePerSecond;
    const total = Math.floor(args.seconds * args.ratePerSecond);
    const start = performance.now() + 20;
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const scheduled = start + i * interval;
      const wait = scheduled - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (performance.now() - scheduled > 5) out.lateSends++;
      const byId = i % 2 === 0;
      const path = byId
        ? `/api/v1/assets/${settings.assetIds[Math.floor(Math.random() * settings.assetIds.length)]}`
        : '/api/v1/assets?limit=20';
      out.requests++;
      inFlight.push(
        (async () => {
          try {
            const res = await pool.request({ path, method: 'GET', headers });
            const text = await res.body.text();
            if (res.statusCode !== 200) {
              out.failed++;
              if (out.errors.length < 5) out.errors.push(`${res.statusCode} ${text.slice(0, 200)}`);
              return;
            }
            (byId ? out.byId : out.list).push(performance.now() - scheduled);
          } catch (err) {
            out.failed++;
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
