import type {
  OnboardingCompensationRequestedData,
  OnboardingStepRequestedData,
  Saga,
  SagaPage,
} from '@assetops/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AssetHarness, startAsset } from './support/harness.js';

const STEP_REQUESTED = 'assetops.asset.onboarding-step-requested.v1';
const COMPENSATION_REQUESTED = 'assetops.asset.onboarding-compensation-requested.v1';
const STATUS_CHANGED = 'assetops.asset.status-changed.v1';
const SECOND = 1000;

describe('onboarding saga in the Asset service', () => {
  let h: AssetHarness;
  beforeAll(async () => {
    h = await startAsset({ env: { ASSET_SAGA_STEP_TIMEOUT: '30s', ASSET_SAGA_MAX_ATTEMPTS: '3' } });
  });
  afterAll(() => h?.close());

  const requestsOf = async (assetId: string) =>
    (await h.outbox(STEP_REQUESTED))
      .map((e) => e.data as OnboardingStepRequestedData)
      .filter((d) => d.assetId === assetId)
      .map((d) => [d.step, d.attempt]);
  const compensationsOf = async (assetId: string) =>
    (await h.outbox(COMPENSATION_REQUESTED))
      .map((e) => e.data as OnboardingCompensationRequestedData)
      .filter((d) => d.assetId === assetId);
  const statusChangesOf = async (assetId: string) =>
    (await h.outbox(STATUS_CHANGED)).filter((e) => e.subject === assetId);
  /** Moves the clock past the saga's current deadline and runs the deadline check. */
  const timeOut = async (sagaId: string) => {
    const { deadline } = await h.saga(sagaId);
    h.clock.set(new Date(Date.parse(deadline!) + 1));
    await h.checkDeadlines();
    return h.saga(sagaId);
  };
  /** A saga whose every attempt timed out: compensating, the alert compensation requested. */
  const exhausted = async () => {
    const { asset, sagaId } = await h.register();
    for (let i = 0; i < 3; i++) await timeOut(sagaId);
    return { asset, sagaId };
  };

  it('makes a registered asset active once telemetry and alert confirmed, with the step history', async () => {
    const { asset, sagaId } = await h.register();
    expect(asset).toMatchObject({ status: 'commissioning', version: 1 });
    expect(await h.saga(sagaId)).toMatchObject({
      type: 'onboarding',
      assetId: asset.id,
      status: 'running',
      step: 'telemetry',
      steps: [
        { name: 'telemetry', status: 'pending' },
        { name: 'alert', status: 'pending' },
      ],
      attempts: 1,
      deadline: new Date(h.clock.now().getTime() + 30 * SECOND).toISOString(),
      actions: [],
    });

    await h.deliver(h.confirmed('telemetry', asset.id, null));
    expect(await h.saga(sagaId)).toMatchObject({ status: 'running', step: 'alert' });
    expect((await h.asset(asset.id)).status).toBe('commissioning');
    await h.deliver(h.confirmed('alert', asset.id, null));

    const saga = await h.saga(sagaId);
    expect(saga).toMatchObject({ status: 'completed', step: null, deadline: null });
    expect(saga.history.map((e) => [e.seq, e.step, e.action, e.outcome])).toEqual([
      [1, 'telemetry', 'initialize', 'requested'],
      [2, 'alert', 'initialize', 'requested'],
      [3, 'telemetry', 'initialize', 'confirmed'],
      [4, 'alert', 'initialize', 'confirmed'],
      [5, 'asset', 'activate', 'done'],
    ]);
    expect(await h.asset(asset.id)).toMatchObject({
      status: 'active',
      statusReason: 'onboarding completed',
      version: 2,
    });
    // The activation is an ordinary status change, on the registration's correlation.
    const [registered] = (await h.outbox('assetops.asset.registered.v1')).filter(
      (e) => e.subject === asset.id,
    );
    const [activated] = await statusChangesOf(asset.id);
    expect(activated?.data).toMatchObject({
      from: 'commissioning',
      to: 'active',
      reason: 'onboarding completed',
    });
    expect(activated?.correlationid).toBe(registered?.correlationid);
    expect(await requestsOf(asset.id)).toEqual([]);
  });

  it('lets duplicate and stale confirmations change nothing', async () => {
    const { asset, sagaId } = await h.register();
    await h.deliver(h.confirmed('telemetry', asset.id, null));
    const before = await h.saga(sagaId);
    await h.deliver(h.confirmed('telemetry', asset.id, null));
    await h.deliver(h.confirmed('telemetry', asset.id, sagaId));
    // A reply naming another saga (or another asset's) is not this saga's.
    await h.deliver(h.confirmed('alert', asset.id, '01900000-0000-7000-8000-00000000beef'));
    expect(await h.saga(sagaId)).toEqual(before);

    await h.deliver(h.confirmed('alert', asset.id, sagaId));
    const done = await h.saga(sagaId);
    const outboxSize = (await h.outbox()).length;
    await h.deliver(h.confirmed('alert', asset.id, null));
    await h.deliver(h.compensated('alert', asset.id, sagaId));
    expect(await h.saga(sagaId)).toEqual(done);
    expect((await h.outbox()).length).toBe(outboxSize);
    expect(await statusChangesOf(asset.id)).toHaveLength(1);
  });

  it('asks again for a step that did not confirm in time, then completes on its confirmation', async () => {
    const { asset, sagaId } = await h.register();
    await h.deliver(h.confirmed('telemetry', asset.id, null));
    h.clock.advance(29 * SECOND);
    await h.checkDeadlines();
    expect(await requestsOf(asset.id)).toEqual([]);

    const retried = await timeOut(sagaId);
    expect(retried).toMatchObject({ status: 'running', step: 'alert', attempts: 2 });
    expect(Date.parse(retried.deadline!) - h.clock.now().getTime()).toBe(60 * SECOND);
    const [request] = (await h.outbox(STEP_REQUESTED)).filter((e) => e.subject === asset.id);
    expect(request?.data).toEqual({
      sagaId,
      assetId: asset.id,
      assetType: 'pump',
      step: 'alert',
      attempt: 2,
    });

    await h.deliver(h.confirmed('alert', asset.id, sagaId));
    expect((await h.saga(sagaId)).status).toBe('completed');
    expect((await h.asset(asset.id)).status).toBe('active');
  });

  it('compensates in reverse order after the last attempt and marks the asset commissioning_failed', async () => {
    const { asset, sagaId } = await h.register();
    expect((await timeOut(sagaId)).attempts).toBe(2);
    expect((await timeOut(sagaId)).attempts).toBe(3);
    expect(await requestsOf(asset.id)).toEqual([
      ['telemetry', 2],
      ['alert', 2],
      ['telemetry', 3],
      ['alert', 3],
    ]);
    const compensating = await timeOut(sagaId);
    const reason = 'telemetry and alert did not confirm after 3 attempts';
    expect(compensating).toMatchObject({ status: 'compensating', step: 'alert', attempts: 1, reason });
    expect((await h.asset(asset.id)).status).toBe('commissioning');

    await h.deliver(h.compensated('alert', asset.id, sagaId));
    expect(await h.saga(sagaId)).toMatchObject({ status: 'compensating', step: 'telemetry' });
    await h.deliver(h.compensated('telemetry', asset.id, sagaId));

    expect(await h.saga(sagaId)).toMatchObject({
      status: 'failed',
      reason,
      steps: [
        { name: 'telemetry', status: 'compensated' },
        { name: 'alert', status: 'compensated' },
      ],
    });
    expect((await compensationsOf(asset.id)).map((d) => [d.step, d.attempt, d.reason])).toEqual([
      ['alert', 1, reason],
      ['telemetry', 1, reason],
    ]);
    expect(await h.asset(asset.id)).toMatchObject({
      status: 'commissioning_failed',
      statusReason: `onboarding failed: ${reason}`,
    });
    const [failed] = await statusChangesOf(asset.id);
    expect(failed?.data).toMatchObject({ to: 'commissioning_failed' });
  });

  it('goes to needs_attention when a compensation does not confirm; retry and skip act on it', async () => {
    const { asset, sagaId } = await exhausted();
    await timeOut(sagaId);
    await timeOut(sagaId);
    const stuck = await timeOut(sagaId);
    expect(stuck).toMatchObject({
      status: 'needs_attention',
      step: 'alert',
      deadline: null,
      actions: ['retry', 'skip'],
    });
    expect(stuck.attention).toContain('compensation of alert did not confirm after 3 attempts');
    expect((await h.asset(asset.id)).status).toBe('commissioning_failed');
    const listed = await h.api('GET', '/api/v1/sagas?status=needs_attention');
    expect((listed.body as SagaPage).items.map((s) => s.id)).toContain(sagaId);

    const retry = await h.api('POST', `/api/v1/sagas/${sagaId}/retry`);
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ status: 'compensating', step: 'alert', attempts: 1, attention: null });
    expect((await compensationsOf(asset.id)).map((d) => [d.step, d.attempt])).toEqual([
      ['alert', 1],
      ['alert', 2],
      ['alert', 3],
      ['alert', 1],
    ]);

    for (let i = 0; i < 3; i++) await timeOut(sagaId);
    const skip = await h.api('POST', `/api/v1/sagas/${sagaId}/skip`);
    expect(skip.body).toMatchObject({
      status: 'compensating',
      step: 'telemetry',
      steps: [
        { name: 'telemetry', status: 'compensating' },
        { name: 'alert', status: 'skipped' },
      ],
    });
    await h.deliver(h.compensated('telemetry', asset.id, sagaId));
    const saga = await h.saga(sagaId);
    expect(saga.status).toBe('failed');
    expect(saga.history.filter((e) => e.outcome === 'retried' || e.outcome === 'skipped')).toMatchObject([
      { step: 'alert', action: 'compensate', outcome: 'retried' },
      { step: 'alert', action: 'compensate', outcome: 'skipped' },
    ]);

    const refused = await h.api('POST', `/api/v1/sagas/${sagaId}/retry`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'SAGA_NOT_NEEDING_ATTENTION', sagaStatus: 'failed' });
    const missing = await h.api('POST', '/api/v1/sagas/01900000-0000-7000-8000-00000000dead/skip');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 'SAGA_NOT_FOUND' });
    expect((await h.api('GET', '/api/v1/sagas/not-a-uuid')).status).toBe(400);
  });

  it('resumes after a restart: a new instance on the same database continues the saga', async () => {
    const { asset, sagaId } = await h.register();
    await h.deliver(h.confirmed('telemetry', asset.id, null));
    await h.restart();
    await timeOut(sagaId);
    expect(await requestsOf(asset.id)).toEqual([['alert', 2]]);
    await h.restart();
    await h.deliver(h.confirmed('alert', asset.id, sagaId));
    expect((await h.saga(sagaId)).status).toBe('completed');
    expect((await h.asset(asset.id)).status).toBe('active');
  });

  it('leaves an asset moved by hand alone, and asks for attention instead of undoing an active one', async () => {
    const moved = await h.register();
    await h.api('POST', `/api/v1/assets/${moved.asset.id}/status`, { status: 'active', reason: 'by hand' });
    await h.deliver(h.confirmed('telemetry', moved.asset.id, null));
    await h.deliver(h.confirmed('alert', moved.asset.id, null));
    expect((await h.saga(moved.sagaId)).history.at(-1)).toMatchObject({
      step: 'asset',
      action: 'activate',
      outcome: 'unchanged',
      detail: { assetStatus: 'active' },
    });
    expect(await h.asset(moved.asset.id)).toMatchObject({
      status: 'active',
      statusReason: 'by hand',
      version: 2,
    });

    const { asset, sagaId } = await h.register();
    await h.api('POST', `/api/v1/assets/${asset.id}/status`, { status: 'active' });
    for (let i = 0; i < 3; i++) await timeOut(sagaId);
    expect(await h.saga(sagaId)).toMatchObject({ status: 'needs_attention', step: 'telemetry' });
    expect(await compensationsOf(asset.id)).toEqual([]);
    const skip = await h.api('POST', `/api/v1/sagas/${sagaId}/skip`);
    expect(skip.body).toMatchObject({ status: 'completed' });
    expect((await h.asset(asset.id)).status).toBe('active');
  });

  it('starts a new onboarding when a failed asset is commissioned again, not while one is open', async () => {
    const { asset, sagaId } = await exhausted();
    const refused = await h.api('POST', `/api/v1/assets/${asset.id}/status`, { status: 'decommissioning' });
    expect(refused.status).toBe(200); // other moves stay allowed
    await h.api('POST', `/api/v1/assets/${asset.id}/status`, { status: 'commissioning' });
    // Back in commissioning while the first saga still compensates: no second one.
    const page = (await h.api('GET', `/api/v1/sagas?assetId=${asset.id}`)).body as SagaPage;
    expect(page.items.map((s) => s.id)).toEqual([sagaId]);

    await h.deliver(h.compensated('alert', asset.id, sagaId));
    await h.deliver(h.compensated('telemetry', asset.id, sagaId));
    expect((await h.asset(asset.id)).status).toBe('commissioning_failed');
    const again = await h.api('POST', `/api/v1/assets/${asset.id}/status`, { status: 'commissioning' });
    expect(again.status).toBe(200);
    const sagas = ((await h.api('GET', `/api/v1/sagas?assetId=${asset.id}`)).body as SagaPage).items;
    expect(sagas.map((s: Saga) => s.status)).toEqual(['running', 'failed']);
    const second = sagas[0]!.id;
    expect((await requestsOf(asset.id)).slice(-2)).toEqual([
      ['telemetry', 1],
      ['alert', 1],
    ]);
    // A late reply to the first saga is not taken for the second one's.
    await h.deliver(h.compensated('telemetry', asset.id, sagaId));
    await h.deliver(h.confirmed('telemetry', asset.id, second));
    await h.deliver(h.confirmed('alert', asset.id, second));
    expect((await h.saga(second)).status).toBe('completed');
    expect((await h.asset(asset.id)).status).toBe('active');
  });

  it('refuses to commission again while the onboarding waits for a person', async () => {
    const { asset, sagaId } = await exhausted();
    for (let i = 0; i < 3; i++) await timeOut(sagaId);
    const res = await h.api('POST', `/api/v1/assets/${asset.id}/status`, { status: 'commissioning' });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'ONBOARDING_IN_PROGRESS', sagaId });
    expect((await h.asset(asset.id)).status).toBe('commissioning_failed');
  });

  it('lists sagas by asset, status and type, newest first, with a cursor', async () => {
    const ids = [(await h.register()).sagaId, (await h.register()).sagaId, (await h.register()).sagaId];
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { status: number; body: unknown } = await h.api(
        'GET',
        `/api/v1/sagas?type=onboarding&status=running&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(res.status).toBe(200);
      const page = res.body as SagaPage;
      seen.push(...page.items.map((s) => s.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.slice(0, 3)).toEqual([...ids].reverse());
    expect((await h.api('GET', '/api/v1/sagas?status=bogus')).status).toBe(400);
    expect((await h.api('GET', '/api/v1/sagas?cursor=garbage')).body).toMatchObject({
      code: 'INVALID_CURSOR',
    });
  });
});
