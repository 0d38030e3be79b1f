import { randomUUID } from 'node:crypto';
import type { Alert, AlertAcknowledgedData, CreateRuleBody } from '@assetops/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertRule } from '../src/rules/rule.store.js';
import { type AlertHarness, startAlert } from './support/harness.js';

const T0 = Date.parse('2026-11-28T11:00:00.000Z');
const ACKNOWLEDGED = 'assetops.alert.acknowledged.v1';

describe('alerts API', () => {
  let h: AlertHarness;
  /** firing (major, escalates to critical after 5 s), pending, cleared — each on its own asset. */
  let firing: Alert;
  let pending: Alert;
  let cleared: Alert;
  let hotRule: string;

  const api = async (method: 'GET' | 'POST', url: string, body?: unknown, headers = {}) => {
    const res = await h.service.app.inject({
      method,
      url,
      headers,
      ...(body === undefined ? {} : { payload: body as object }),
    });
    return { status: res.statusCode, body: res.json() };
  };
  const rule = async (assetId: string, more: Partial<CreateRuleBody> = {}) =>
    (
      await insertRule(
        h.db.pool,
        randomUUID(),
        {
          name: 'hot',
          assetId,
          metric: 'temperature',
          condition: { kind: 'above', threshold: 80 },
          severity: 'major',
          ...more,
        },
        'user',
        h.clock.now(),
      )
    ).id;
  const feed = async (assetId: string, start: number, values: number[]) => {
    for (const [i, v] of values.entries())
      await h.deliver(h.reading(assetId, 'temperature', start + i * 1000, v));
  };
  const only = async (assetId: string) => {
    const page = await api('GET', `/api/v1/alerts?assetId=${assetId}`);
    expect(page.body.items).toHaveLength(1);
    return page.body.items[0] as Alert;
  };

  beforeAll(async () => {
    h = await startAlert();
    const a = await h.registerAsset('gearbox');
    hotRule = await rule(a, {
      clear: { threshold: 75 },
      escalation: { severity: 'critical', afterSeconds: 5 },
    });
    await feed(a, T0, [85]);
    firing = await only(a);
    const b = await h.registerAsset('gearbox');
    await rule(b, { forSeconds: 60, severity: 'warning' });
    await feed(b, T0, [85]);
    pending = await only(b);
    const c = await h.registerAsset('gearbox');
    await rule(c);
    await feed(c, T0, [85, 70]);
    cleared = await only(c);
  });
  afterAll(() => h?.close());

  it('lists alerts newest first, by status (active, firing…), asset, severity and rule', async () => {
    expect([firing.status, pending.status, cleared.status]).toEqual(['firing', 'pending', 'cleared']);
    const ids = async (qs: string) =>
      ((await api('GET', `/api/v1/alerts?${qs}`)).body.items as Alert[]).map((a) => a.id);
    expect(await ids('')).toEqual([cleared.id, pending.id, firing.id]);
    expect(await ids('status=active')).toEqual([pending.id, firing.id]);
    expect(await ids('status=firing')).toEqual([firing.id]);
    expect(await ids('status=cleared')).toEqual([cleared.id]);
    expect(await ids('severity=warning')).toEqual([pending.id]);
    expect(await ids(`ruleId=${hotRule}`)).toEqual([firing.id]);
    expect(await ids(`assetId=${pending.assetId}&status=firing`)).toEqual([]);

    const first = await api('GET', '/api/v1/alerts?limit=2');
    expect(first.body.items.map((a: Alert) => a.id)).toEqual([cleared.id, pending.id]);
    const second = await api('GET', `/api/v1/alerts?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body).toEqual({ items: [expect.objectContaining({ id: firing.id })], nextCursor: null });
    expect((await api('GET', '/api/v1/alerts?status=open')).status).toBe(400);
  });

  it('gets an alert with its history', async () => {
    const res = await api('GET', `/api/v1/alerts/${cleared.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: cleared.id, status: 'cleared', episode: 1, value: 70 });
    expect(res.body.history).toEqual([
      {
        status: 'firing',
        at: new Date(T0).toISOString(),
        value: 85,
        cause: 'condition met',
        severity: 'major',
      },
      {
        status: 'cleared',
        at: new Date(T0 + 1000).toISOString(),
        value: 70,
        cause: 'condition cleared',
        severity: 'major',
      },
    ]);
    const missing = await api('GET', `/api/v1/alerts/${randomUUID()}`);
    expect(missing).toMatchObject({ status: 404, body: { code: 'ALERT_NOT_FOUND' } });
  });

  it('acknowledges a firing alert once, with AlertAcknowledged in the outbox', async () => {
    h.clock.advance(30_000);
    const at = h.clock.now().toISOString();
    const res = await api(
      'POST',
      `/api/v1/alerts/${firing.id}/acknowledge`,
      { by: 'alice', comment: 'on my way' },
      { 'x-correlation-id': 'ack-1' },
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'alice', acknowledgedAt: at });
    expect(res.body.history.at(-1)).toEqual({
      status: 'acknowledged',
      at,
      value: 85,
      cause: 'acknowledged by alice: on my way',
      severity: 'major',
    });
    const events = await h.outbox(ACKNOWLEDGED);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ subject: firing.assetId, correlationid: 'ack-1' });
    expect(events[0]!.data as AlertAcknowledgedData).toEqual({
      alertId: firing.id,
      ruleId: hotRule,
      assetId: firing.assetId,
      severity: 'major',
      by: 'alice',
      comment: 'on my way',
      at,
    });

    // Again by the same person: the same answer, nothing new.
    h.clock.advance(1000);
    const again = await api('POST', `/api/v1/alerts/${firing.id}/acknowledge`, { by: 'alice' });
    expect(again).toMatchObject({ status: 200, body: { status: 'acknowledged', acknowledgedAt: at } });
    expect(again.body.history).toHaveLength(res.body.history.length);
    expect(await h.outbox(ACKNOWLEDGED)).toHaveLength(1);
    const other = await api('POST', `/api/v1/alerts/${firing.id}/acknowledge`, { by: 'bob' });
    expect(other).toMatchObject({
      status: 409,
      body: { code: 'ALERT_ALREADY_ACKNOWLEDGED', acknowledgedBy: 'alice' },
    });
  });

  it('refuses to acknowledge a pending or cleared alert (409), or an unknown one (404)', async () => {
    for (const alert of [pending, cleared]) {
      const res = await api('POST', `/api/v1/alerts/${alert.id}/acknowledge`, { by: 'alice' });
      expect(res).toMatchObject({
        status: 409,
        body: { code: 'ALERT_NOT_ACKNOWLEDGEABLE', alertStatus: alert.status },
      });
    }
    const missing = await api('POST', `/api/v1/alerts/${randomUUID()}/acknowledge`, { by: 'alice' });
    expect(missing).toMatchObject({ status: 404, body: { code: 'ALERT_NOT_FOUND' } });
    const invalid = await api('POST', `/api/v1/alerts/${pending.id}/acknowledge`, { by: '' });
    expect(invalid).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(await h.outbox(ACKNOWLEDGED)).toHaveLength(1);
  });

  it('still escalates and clears an acknowledged alert, with its events', async () => {
    await feed(firing.assetId, T0 + 1000, [86, 87, 88, 89, 90]);
    const escalated = await api('GET', `/api/v1/alerts/${firing.id}`);
    expect(escalated.body).toMatchObject({
      status: 'acknowledged',
      severity: 'critical',
      acknowledgedBy: 'alice',
    });
    const escalations = (await h.outbox('assetops.alert.escalated.v1')).filter(
      (e) => e.subject === firing.assetId,
    );
    expect(escalations.map((e) => e.data)).toEqual([
      expect.objectContaining({ from: 'major', to: 'critical' }),
    ]);

    await feed(firing.assetId, T0 + 6000, [70]);
    const done = await api('GET', `/api/v1/alerts/${firing.id}`);
    expect(done.body).toMatchObject({ status: 'cleared', clearedAt: new Date(T0 + 6000).toISOString() });
    expect(done.body.history.map((e: { status: string }) => e.status)).toEqual([
      'firing',
      'acknowledged',
      'escalated',
      'cleared',
    ]);
    const clears = (await h.outbox('assetops.alert.cleared.v1')).filter((e) => e.subject === firing.assetId);
    expect(clears.map((e) => e.data)).toEqual([
      expect.objectContaining({ alertId: firing.id, severity: 'critical', cause: 'condition cleared' }),
    ]);
  });
});
