import { randomUUID } from 'node:crypto';
import { AssetRegistered } from '@assetops/contracts';
import { createEvent, uuidV7Ids } from '@assetops/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AlertHarness, startAlert } from '../../services/alert/test/support/harness.js';
import { startTelemetry, type TelemetryHarness } from '../../services/telemetry/test/support/harness.js';

// The Alert service's backtest against a real Telemetry service over HTTP, as the runtimes wire
// them (ASSETOPS_TELEMETRY_URL). It lives here because only the composition may import both
// services; each service's own tests stay within it.
const NOW = '2026-11-28T12:00:00.000Z';
const T = Date.parse('2026-11-27T10:00:00.000Z');
const at = (seconds: number) => new Date(T + seconds * 1000).toISOString();

/**
 * Two hours of temperature, one reading every 10 s (720): a first episode with a peak of 92 that
 * hovers between the clear (75) and firing (80) thresholds before it clears, a 20 s blip too short
 * for the 30 s pending period, and a second episode.
 */
function history(): number[] {
  return Array.from({ length: 720 }, (_, i) => {
    if (i === 75) return 92;
    if (i >= 60 && i < 90) return 85;
    if (i >= 90 && i < 120) return 78;
    if (i >= 200 && i < 202) return 90;
    if (i >= 300 && i < 318) return 84;
    if (i >= 318) return 60;
    return 70;
  });
}

describe('alert rule backtest on a real Telemetry service', () => {
  let telemetry: TelemetryHarness;
  let alert: AlertHarness;
  let hot: string;
  let calm: string;

  beforeAll(async () => {
    telemetry = await startTelemetry({
      now: NOW,
      // History a day old is accepted; a low point limit makes the backtest page through windows.
      env: { TELEMETRY_LATENESS_WINDOW: '2d', TELEMETRY_COMPACT_AFTER: '3d', TELEMETRY_MAX_POINTS: '500' },
    });
    const url = await telemetry.service.app.listen({ port: 0, host: '127.0.0.1' });
    alert = await startAlert({ now: NOW, env: { ASSETOPS_TELEMETRY_URL: url } });
    const register = async () => {
      const assetId = randomUUID();
      const event = createEvent(
        AssetRegistered,
        {
          assetId,
          name: 'gearbox',
          type: 'gearbox',
          location: null,
          metadata: {},
          status: 'active',
          registeredAt: NOW,
        },
        { subject: assetId, clock: telemetry.clock, ids: uuidV7Ids },
      );
      await telemetry.deliver(event);
      await alert.deliver(event);
      return assetId;
    };
    hot = await register();
    calm = await register();
    const values = history();
    const result = await telemetry.ingest([
      ...values.map((value, i) => ({ assetId: hot, metric: 'temperature', ts: at(i * 10), value })),
      ...values.map((_, i) => ({ assetId: calm, metric: 'temperature', ts: at(i * 10), value: 70 })),
    ]);
    expect(result).toMatchObject({ accepted: 1440, rejected: [] });
  });
  afterAll(async () => {
    await alert?.close();
    await telemetry?.close();
  });

  const rule = {
    metric: 'temperature',
    condition: { kind: 'above', threshold: 80 },
    severity: 'major',
    forSeconds: 30,
    clear: { threshold: 75 },
  };
  const backtest = async (payload: unknown) => {
    const res = await alert.service.app.inject({
      method: 'POST',
      url: '/api/v1/alert-rules/backtest',
      payload: payload as object,
    });
    return { status: res.statusCode, body: res.json() };
  };

  it('replays the readings: the episodes, with hysteresis and the pending period respected', async () => {
    const res = await backtest({ rule: { ...rule, assetId: hot }, from: at(0), to: at(7200) });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      from: at(0),
      to: at(7200),
      resolution: 'raw',
      episodes: [
        {
          assetId: hot,
          raisedAt: at(630),
          clearedAt: at(1200),
          severity: 'major',
          peakValue: 92,
          pendingSince: at(600),
        },
        {
          assetId: hot,
          raisedAt: at(3030),
          clearedAt: at(3180),
          severity: 'major',
          peakValue: 84,
          pendingSince: at(3000),
        },
      ],
      assets: [{ assetId: hot, samples: 720, episodes: 2, cancelledPending: 1 }],
      counts: { assets: 1, samples: 720, episodes: 2, stillFiring: 0, cancelledPending: 1 },
    });
    // Nothing was saved: a backtest raises no alert.
    expect(await alert.outbox('assetops.alert.raised.v1')).toEqual([]);
  });

  it('replays bucket aggregates for a type-wide rule on the listed assets, and ends with what still fires', async () => {
    const res = await backtest({
      rule: { ...rule, assetType: 'gearbox', assetIds: [hot, calm] },
      from: at(0),
      to: at(3060),
      resolution: '1m',
    });
    expect(res.status).toBe(200);
    expect(res.body.episodes).toEqual([
      {
        assetId: hot,
        raisedAt: at(630),
        clearedAt: at(1200),
        severity: 'major',
        peakValue: 92,
        pendingSince: at(600),
      },
      {
        assetId: hot,
        raisedAt: at(3030),
        clearedAt: null,
        severity: 'major',
        peakValue: 84,
        pendingSince: at(3000),
      },
    ]);
    expect(res.body.assets).toEqual([
      { assetId: hot, samples: 51, episodes: 2, cancelledPending: 0 },
      { assetId: calm, samples: 51, episodes: 0, cancelledPending: 0 },
    ]);
    expect(res.body.counts).toMatchObject({ assets: 2, episodes: 2, stillFiring: 1 });
    // Without a list: every asset of the type the Alert service knows.
    const typeWide = await backtest({
      rule: { ...rule, assetType: 'gearbox' },
      from: at(0),
      to: at(3060),
      resolution: '1m',
    });
    expect(typeWide.body.assets.map((a: { assetId: string }) => a.assetId)).toEqual([hot, calm].sort());
    expect(typeWide.body.episodes).toEqual(res.body.episodes);
  });

  it('answers 404 for an asset the Telemetry service does not know', async () => {
    const res = await backtest({ rule: { ...rule, assetId: randomUUID() }, from: at(0), to: at(600) });
    expect(res).toMatchObject({ status: 404, body: { code: 'ASSET_NOT_FOUND' } });
  });
});
