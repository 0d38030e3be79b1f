import type { Saga } from '@assetops/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AssetHarness, startAsset } from './support/harness.js';

/** The `assetops_sagas` series of a Prometheus text exposition, as `saga/state → value`. */
function sagaGauge(text: string): Record<string, number> {
  const series: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = /^assetops_sagas\{([^}]*)\} (\S+)$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...match[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    expect(labels.service).toBe('asset');
    series[`${labels.saga}/${labels.state}`] = Number(match[2]);
  }
  return series;
}

const zeros = Object.fromEntries(
  ['onboarding', 'decommissioning'].flatMap((saga) =>
    ['running', 'compensating', 'completed', 'failed', 'needs_attention'].map((state) => [
      `${saga}/${state}`,
      0,
    ]),
  ),
);

describe('saga state gauges on /metrics', () => {
  let h: AssetHarness;
  beforeAll(async () => {
    h = await startAsset({ env: { ASSET_SAGA_STEP_TIMEOUT: '30s', ASSET_SAGA_MAX_ATTEMPTS: '3' } });
  });
  afterAll(() => h?.close());

  const scrape = async () => {
    const res = await h.service.app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    return sagaGauge(res.body);
  };
  /** Moves the clock past the saga's deadline and runs the deadline check (every due saga moves on). */
  const timeOut = async (sagaId: string) => {
    const { deadline } = await h.saga(sagaId);
    h.clock.set(new Date(Date.parse(deadline!) + 1));
    await h.checkDeadlines();
    return h.saga(sagaId);
  };

  it('counts the sagas of each type in each state, zeros included, and survives a failed count', async () => {
    expect(await scrape()).toEqual(zeros);

    // Sagas that need the clock first, one at a time: a deadline check moves every due saga.
    const stuck = await h.register();
    for (let i = 0; i < 6; i++) await timeOut(stuck.sagaId);
    expect((await h.saga(stuck.sagaId)).status).toBe('needs_attention');

    const failed = await h.register();
    for (let i = 0; i < 3; i++) await timeOut(failed.sagaId);
    await h.deliver(h.compensated('alert', failed.asset.id, failed.sagaId));
    await h.deliver(h.compensated('telemetry', failed.asset.id, failed.sagaId));
    expect((await h.saga(failed.sagaId)).status).toBe('failed');

    const compensating = await h.register();
    for (let i = 0; i < 3; i++) await timeOut(compensating.sagaId);
    expect((await h.saga(compensating.sagaId)).status).toBe('compensating');

    const completed = await h.register();
    await h.deliver(h.confirmed('telemetry', completed.asset.id, null));
    await h.deliver(h.confirmed('alert', completed.asset.id, null));
    expect((await h.saga(completed.sagaId)).status).toBe('completed');
    await h.register();
    await h.register();

    const decommission = await h.api('POST', `/api/v1/assets/${completed.asset.id}/decommission`);
    expect(decommission.status).toBe(202);
    expect((decommission.body as Saga).status).toBe('running');

    const counted = {
      ...zeros,
      'onboarding/running': 2,
      'onboarding/compensating': 1,
      'onboarding/completed': 1,
      'onboarding/failed': 1,
      'onboarding/needs_attention': 1,
      'decommissioning/running': 1,
    };
    expect(await scrape()).toEqual(counted);

    // The count fails (the table is out of reach): /metrics still answers, with the last counts.
    await h.db.pool.query('ALTER TABLE sagas RENAME TO sagas_away');
    try {
      expect(await scrape()).toEqual(counted);
    } finally {
      await h.db.pool.query('ALTER TABLE sagas_away RENAME TO sagas');
    }
    // …and counting resumes once the database answers again.
    await h.register();
    expect(await scrape()).toEqual({ ...counted, 'onboarding/running': 3 });
  });
});
