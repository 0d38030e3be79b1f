import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AlertHarness, startAlert } from './support/harness.js';

// The replay itself, on a real Telemetry service, is tested where both services may be composed:
// runtime/test/alert-backtest.int.spec.ts (a service's tests may not import another service).
describe('alert rule backtest: refusals', () => {
  let unconfigured: AlertHarness;
  let unreachable: AlertHarness;
  beforeAll(async () => {
    const port = await closedPort();
    [unconfigured, unreachable] = await Promise.all([
      startAlert(),
      startAlert({ env: { ASSETOPS_TELEMETRY_URL: `http://127.0.0.1:${port}` } }),
    ]);
  });
  afterAll(async () => {
    await unconfigured?.close();
    await unreachable?.close();
  });

  const ASSET = '0190a000-0000-7000-8000-000000000001';
  const body = (rule: Record<string, unknown> = {}, more: Record<string, unknown> = {}) => ({
    rule: {
      assetId: ASSET,
      metric: 'temperature',
      condition: { kind: 'above', threshold: 80 },
      severity: 'major',
      ...rule,
    },
    from: '2026-11-27T10:00:00.000Z',
    to: '2026-11-27T12:00:00.000Z',
    ...more,
  });
  const backtest = async (h: AlertHarness, payload: unknown) => {
    const res = await h.service.app.inject({
      method: 'POST',
      url: '/api/v1/alert-rules/backtest',
      payload: payload as object,
    });
    return { status: res.statusCode, body: res.json() };
  };

  it('answers 503 BACKTEST_UNAVAILABLE when the Telemetry service is not configured', async () => {
    const res = await backtest(unconfigured, body());
    expect(res).toMatchObject({ status: 503, body: { code: 'BACKTEST_UNAVAILABLE' } });
    expect(res.body.detail).toMatch(/ASSETOPS_TELEMETRY_URL/);
  });

  it('answers 503 BACKTEST_UNAVAILABLE when the Telemetry service cannot be reached', async () => {
    const res = await backtest(unreachable, body());
    expect(res).toMatchObject({ status: 503, body: { code: 'BACKTEST_UNAVAILABLE' } });
    expect(res.body.detail).toMatch(/cannot be reached \(ECONNREFUSED\)/);
  });

  it('refuses an invalid rule with the field under /body/rule', async () => {
    const res = await backtest(unconfigured, body({ assetType: 'pump', clear: { threshold: 90 } }));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'INVALID_RULE' });
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual([
      '/body/rule/assetId',
      '/body/rule/clear/threshold',
    ]);
    const listed = await backtest(unconfigured, body({ assetIds: [ASSET] }));
    expect(listed.body.errors).toEqual([
      { path: '/body/rule/assetIds', message: 'give assetIds only with assetType' },
    ]);
    const schema = await backtest(unconfigured, body({ metric: undefined }));
    expect(schema).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
  });

  it('refuses an empty range and a replay too large for its resolution, saying how to narrow it', async () => {
    const empty = await backtest(unconfigured, body({}, { to: '2026-11-27T10:00:00.000Z' }));
    expect(empty).toMatchObject({ status: 400, body: { code: 'INVALID_RANGE' } });
    const tooFine = await backtest(
      unconfigured,
      body({}, { from: '2026-11-20T00:00:00.000Z', to: '2026-11-27T00:00:00.000Z', resolution: '1s' }),
    );
    expect(tooFine).toMatchObject({ status: 400, body: { code: 'BACKTEST_TOO_LARGE' } });
    expect(tooFine.body.detail).toMatch(
      /604800 buckets of 1s .*narrow the range .* or use a coarser resolution/,
    );
    const bad = await backtest(unconfigured, body({}, { resolution: '2d' }));
    expect(bad).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
  });
});

/** A loopback port nothing listens on (it was free a moment ago): connecting is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
