import type { AlertClearedData, AlertRule, CreateRuleBody } from '@assetops/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AlertHarness, startAlert } from './support/harness.js';

const T0 = Date.parse('2026-11-28T11:00:00.000Z');
const CLEARED = 'assetops.alert.cleared.v1';

describe('alert rules API', () => {
  let h: AlertHarness;
  beforeAll(async () => {
    h = await startAlert();
  });
  afterAll(() => h?.close());

  const api = async (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    body?: unknown,
    headers = {},
  ) => {
    const res = await h.service.app.inject({
      method,
      url,
      headers,
      ...(body === undefined ? {} : { payload: body as object }),
    });
    return { status: res.statusCode, headers: res.headers, body: res.body ? res.json() : undefined };
  };
  const ruleBody = (assetId: string, more: Partial<CreateRuleBody> = {}): CreateRuleBody => ({
    name: 'hot',
    assetId,
    metric: 'temperature',
    condition: { kind: 'above', threshold: 80 },
    severity: 'major',
    ...more,
  });
  const create = async (body: CreateRuleBody) => {
    const res = await api('POST', '/api/v1/alert-rules', body);
    expect(res.status).toBe(201);
    return res.body as AlertRule;
  };
  const alertsOf = async (assetId: string) =>
    (
      await h.db.pool.query<{ status: string; episode: number }>(
        'SELECT status, episode FROM alerts WHERE asset_id = $1 ORDER BY episode',
        [assetId],
      )
    ).rows;
  const clearedFor = async (assetId: string) =>
    (await h.outbox(CLEARED)).map((e) => e.data as AlertClearedData).filter((d) => d.assetId === assetId);
  const feed = async (assetId: string, start: number, values: number[]) => {
    for (const [i, v] of values.entries())
      await h.deliver(h.reading(assetId, 'temperature', start + i * 1000, v));
  };

  it('creates a rule (201, location, ETag) and reads it back', async () => {
    const asset = await h.registerAsset('gearbox');
    const res = await api(
      'POST',
      '/api/v1/alert-rules',
      ruleBody(asset, {
        forSeconds: 10,
        clear: { threshold: 75 },
        escalation: { severity: 'critical', afterSeconds: 60 },
      }),
    );
    expect(res.status).toBe(201);
    const rule = res.body as AlertRule;
    expect(rule).toMatchObject({
      assetId: asset,
      assetType: null,
      forSeconds: 10,
      keepFiringSeconds: 0,
      clear: { threshold: 75 },
      escalation: { severity: 'critical', afterSeconds: 60 },
      enabled: true,
      origin: 'user',
      version: 1,
      createdAt: h.clock.now().toISOString(),
    });
    expect(res.headers.location).toBe(`/api/v1/alert-rules/${rule.id}`);
    expect(res.headers.etag).toBe('"1"');
    const got = await api('GET', `/api/v1/alert-rules/${rule.id}`);
    expect(got).toMatchObject({ status: 200, body: rule });
    expect(got.headers.etag).toBe('"1"');
  });

  it('refuses a malformed rule with the field (400 VALIDATION_FAILED)', async () => {
    const res = await api('POST', '/api/v1/alert-rules', {
      name: 'x',
      assetId: '0190a000-0000-7000-8000-000000000000',
      condition: { kind: 'above', threshold: 80 },
      severity: 'major',
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(res.body.errors).toContainEqual(expect.objectContaining({ path: '/body/metric' }));
  });

  it.each([
    ['both assetId and assetType', { assetType: 'pump' }, '/body/assetId', /exactly one/],
    [
      'low >= high',
      { condition: { kind: 'outside', low: 10, high: 10 } },
      '/body/condition/low',
      /below high/,
    ],
    [
      'clear threshold on the wrong side',
      { clear: { threshold: 85 } },
      '/body/clear/threshold',
      /not be above/,
    ],
    [
      'an escalation that is not higher',
      { escalation: { severity: 'major', afterSeconds: 60 } },
      '/body/escalation/severity',
      /higher/,
    ],
  ] as const)(
    'refuses a rule with %s (400 INVALID_RULE, field and reason)',
    async (_, more, path, reason) => {
      const res = await api(
        'POST',
        '/api/v1/alert-rules',
        ruleBody('0190a000-0000-7000-8000-000000000001', more as Partial<CreateRuleBody>),
      );
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('INVALID_RULE');
      expect(res.body.errors).toEqual([{ path, message: expect.stringMatching(reason) }]);
    },
  );

  it('answers 404 RULE_NOT_FOUND for an unknown rule', async () => {
    const unknown = '0190a000-0000-7000-8000-00000000abcd';
    for (const [method, body] of [['GET'], ['PATCH', { name: 'x' }], ['DELETE']] as const) {
      const res = await api(method, `/api/v1/alert-rules/${unknown}`, body);
      expect(res).toMatchObject({ status: 404, body: { code: 'RULE_NOT_FOUND' } });
    }
  });

  it('lists rules by asset, asset type, metric and enabled, page by page', async () => {
    const asset = await h.registerAsset('gearbox');
    const a = await create(ruleBody(asset));
    const b = await create(
      ruleBody(asset, { metric: 'vibration', condition: { kind: 'above', threshold: 7 } }),
    );
    const c = await create(
      ruleBody(asset, { name: 'cold', condition: { kind: 'below', threshold: 5 }, enabled: false }),
    );
    const typeWide = await create({ ...ruleBody(asset), assetId: undefined, assetType: 'list-test-type' });
    const ids = async (qs: string) =>
      ((await api('GET', `/api/v1/alert-rules?${qs}`)).body.items as AlertRule[]).map((r) => r.id);

    expect(await ids(`assetId=${asset}`)).toEqual([a.id, b.id, c.id]);
    expect(await ids(`assetId=${asset}&metric=temperature`)).toEqual([a.id, c.id]);
    expect(await ids(`assetId=${asset}&enabled=false`)).toEqual([c.id]);
    expect(await ids('assetType=list-test-type')).toEqual([typeWide.id]);

    const first = await api('GET', `/api/v1/alert-rules?assetId=${asset}&limit=2`);
    expect(first.body.items.map((r: AlertRule) => r.id)).toEqual([a.id, b.id]);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await api(
      'GET',
      `/api/v1/alert-rules?assetId=${asset}&limit=2&cursor=${first.body.nextCursor}`,
    );
    expect(second.body).toEqual({ items: [expect.objectContaining({ id: c.id })], nextCursor: null });
    const bad = await api('GET', '/api/v1/alert-rules?cursor=nonsense');
    expect(bad).toMatchObject({ status: 400, body: { code: 'INVALID_CURSOR' } });
  });

  it('changes a rule: the merged rule is validated, the version goes up, If-Match is honoured', async () => {
    const asset = await h.registerAsset('gearbox');
    const rule = await create(ruleBody(asset, { clear: { threshold: 75 } }));
    const changed = await api(
      'PATCH',
      `/api/v1/alert-rules/${rule.id}`,
      { severity: 'critical', forSeconds: 5 },
      { 'if-match': '"1"' },
    );
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      severity: 'critical',
      forSeconds: 5,
      clear: { threshold: 75 },
      version: 2,
    });
    expect(changed.headers.etag).toBe('"2"');

    const stale = await api(
      'PATCH',
      `/api/v1/alert-rules/${rule.id}`,
      { name: 'again' },
      { 'if-match': '"1"' },
    );
    expect(stale).toMatchObject({ status: 412, body: { code: 'RULE_VERSION_MISMATCH', currentVersion: 2 } });

    // The new threshold is below the kept clear threshold: the merged rule is invalid.
    const invalid = await api('PATCH', `/api/v1/alert-rules/${rule.id}`, {
      condition: { kind: 'above', threshold: 70 },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({ code: 'INVALID_RULE', errors: [{ path: '/body/clear/threshold' }] });

    const removed = await api('PATCH', `/api/v1/alert-rules/${rule.id}`, {
      clear: null,
      condition: { kind: 'above', threshold: 70 },
    });
    expect(removed.body).toMatchObject({
      clear: null,
      condition: { kind: 'above', threshold: 70 },
      version: 3,
    });
    expect((await api('PATCH', `/api/v1/alert-rules/${rule.id}`, {})).status).toBe(400);
  });

  it('clears the alerts of a disabled rule (AlertCleared) and evaluates afresh when enabled again', async () => {
    const asset = await h.registerAsset('gearbox');
    const rule = await create(ruleBody(asset));
    await feed(asset, T0, [85]);
    expect(await alertsOf(asset)).toEqual([{ status: 'firing', episode: 1 }]);

    const disabled = await api('PATCH', `/api/v1/alert-rules/${rule.id}`, { enabled: false });
    expect(disabled.body).toMatchObject({ enabled: false, version: 2 });
    expect(await alertsOf(asset)).toEqual([{ status: 'cleared', episode: 1 }]);
    expect((await clearedFor(asset)).map((d) => d.cause)).toEqual(['rule disabled']);
    await feed(asset, T0 + 1000, [90]);
    expect(await alertsOf(asset)).toHaveLength(1);

    await api('PATCH', `/api/v1/alert-rules/${rule.id}`, { enabled: true });
    await feed(asset, T0 + 2000, [91]);
    expect(await alertsOf(asset)).toEqual([
      { status: 'cleared', episode: 1 },
      { status: 'firing', episode: 2 },
    ]);
  });

  it('restarts the evaluation when the condition changes, and keeps it for other changes', async () => {
    const asset = await h.registerAsset('gearbox');
    const rule = await create(ruleBody(asset, { forSeconds: 3 }));
    await feed(asset, T0, [85, 86]);
    expect(await alertsOf(asset)).toEqual([{ status: 'pending', episode: 1 }]);
    await api('PATCH', `/api/v1/alert-rules/${rule.id}`, { name: 'renamed', severity: 'critical' });
    expect(await alertsOf(asset)).toEqual([{ status: 'pending', episode: 1 }]);

    await api('PATCH', `/api/v1/alert-rules/${rule.id}`, { condition: { kind: 'above', threshold: 84 } });
    expect(await alertsOf(asset)).toEqual([{ status: 'cleared', episode: 1 }]);
    // A pending alert was never raised: no AlertCleared for it.
    expect(await clearedFor(asset)).toEqual([]);
    const { rows } = await h.db.pool.query('SELECT state, alert_id FROM eval_state WHERE rule_id = $1', [
      rule.id,
    ]);
    expect(rows).toEqual([
      { state: expect.objectContaining({ phase: 'idle', watermark: null }), alert_id: null },
    ]);
    // The pending period starts over under the new condition.
    await feed(asset, T0 + 2000, [87, 88, 89, 90]);
    expect(await alertsOf(asset)).toEqual([
      { status: 'cleared', episode: 1 },
      { status: 'firing', episode: 2 },
    ]);
  });

  it('deletes a rule: 204, its raised alerts cleared with AlertCleared, its evaluation state gone', async () => {
    const asset = await h.registerAsset('gearbox');
    const rule = await create(ruleBody(asset));
    await feed(asset, T0, [85]);
    const res = await api('DELETE', `/api/v1/alert-rules/${rule.id}`, undefined, {
      'x-correlation-id': 'delete-1',
    });
    expect(res.status).toBe(204);
    expect(await alertsOf(asset)).toEqual([{ status: 'cleared', episode: 1 }]);
    const cleared = (await h.outbox(CLEARED)).filter((e) => e.subject === asset);
    expect(cleared).toHaveLength(1);
    expect(cleared[0]).toMatchObject({
      correlationid: 'delete-1',
      data: { ruleId: rule.id, assetId: asset, cause: 'rule deleted', at: h.clock.now().toISOString() },
    });
    const { rows } = await h.db.pool.query('SELECT 1 FROM eval_state WHERE rule_id = $1', [rule.id]);
    expect(rows).toEqual([]);
    expect((await api('GET', `/api/v1/alert-rules/${rule.id}`)).status).toBe(404);
    await feed(asset, T0 + 1000, [95]);
    expect(await alertsOf(asset)).toHaveLength(1);
  });
});
