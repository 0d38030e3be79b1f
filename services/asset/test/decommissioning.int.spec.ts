import {
  AssetAlertingDisabled,
  AssetAlertingRestored,
  AssetMaintenanceRestored,
  AssetMaintenanceWithdrawalRefused,
  AssetMaintenanceWithdrawn,
  type DecommissioningCompensationRequestedData,
  type DecommissioningStep,
  type DecommissioningStepRequestedData,
  type EventEnvelope,
  type Saga,
  type SagaPage,
  TelemetryIngestionReopened,
  TelemetryIngestionStopped,
} from '@assetops/contracts';
import { createEvent, uuidV7Ids } from '@assetops/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AssetHarness, startAsset } from './support/harness.js';

const STEP_REQUESTED = 'assetops.asset.decommissioning-step-requested.v1';
const COMPENSATION_REQUESTED = 'assetops.asset.decommissioning-compensation-requested.v1';
const STATUS_CHANGED = 'assetops.asset.status-changed.v1';

describe('decommissioning saga in the Asset service', () => {
  let h: AssetHarness;
  beforeAll(async () => {
    h = await startAsset({ env: { ASSET_SAGA_STEP_TIMEOUT: '30s', ASSET_SAGA_MAX_ATTEMPTS: '3' } });
  });
  afterAll(() => h?.close());

  /** A registered asset its onboarding made active. */
  const activeAsset = async () => {
    const { asset } = await h.register();
    await h.deliver(h.confirmed('telemetry', asset.id, null));
    await h.deliver(h.confirmed('alert', asset.id, null));
    expect((await h.asset(asset.id)).status).toBe('active');
    return asset.id;
  };
  const decommission = (assetId: string, body?: unknown) =>
    h.api('POST', `/api/v1/assets/${assetId}/decommission`, body);
  const start = async (assetId: string, body?: unknown) => {
    const res = await decommission(assetId, body);
    expect(res.status).toBe(202);
    return (res.body as Saga).id;
  };

  const meta = (assetId: string) => ({ subject: assetId, clock: h.clock, ids: uuidV7Ids });
  const at = () => h.clock.now().toISOString();
  const done = (step: DecommissioningStep, assetId: string, sagaId: string): EventEnvelope => {
    switch (step) {
      case 'maintenance':
        return createEvent(
          AssetMaintenanceWithdrawn,
          { assetId, sagaId, cancelledWorkOrderIds: [], deactivatedPlanIds: [], forced: false, at: at() },
          meta(assetId),
        );
      case 'alert':
        return createEvent(
          AssetAlertingDisabled,
          { assetId, sagaId, ruleIds: [], clearedAlerts: 2, at: at() },
          meta(assetId),
        );
      case 'telemetry':
        return createEvent(TelemetryIngestionStopped, { assetId, sagaId, at: at() }, meta(assetId));
    }
  };
  const undone = (step: DecommissioningStep, assetId: string, sagaId: string): EventEnvelope => {
    switch (step) {
      case 'maintenance':
        return createEvent(
          AssetMaintenanceRestored,
          { assetId, sagaId, reactivatedPlanIds: [], cancelledWorkOrderIds: [], at: at() },
          meta(assetId),
        );
      case 'alert':
        return createEvent(AssetAlertingRestored, { assetId, sagaId, ruleIds: [], at: at() }, meta(assetId));
      case 'telemetry':
        return createEvent(TelemetryIngestionReopened, { assetId, sagaId, at: at() }, meta(assetId));
    }
  };
  const refused = (assetId: string, sagaId: string) =>
    createEvent(
      AssetMaintenanceWithdrawalRefused,
      {
        assetId,
        sagaId,
        code: 'WORK_IN_PROGRESS',
        reason: 'a work order is in progress on the asset',
        workOrderIds: [],
        at: at(),
      },
      meta(assetId),
    );
  const requestsOf = async (assetId: string) =>
    (await h.outbox(STEP_REQUESTED))
      .filter((e) => e.subject === assetId)
      .map((e) => e.data as DecommissioningStepRequestedData);
  const compensationsOf = async (assetId: string) =>
    (await h.outbox(COMPENSATION_REQUESTED))
      .filter((e) => e.subject === assetId)
      .map((e) => e.data as DecommissioningCompensationRequestedData);
  const timeOut = async (sagaId: string) => {
    const { deadline } = await h.saga(sagaId);
    h.clock.set(new Date(Date.parse(deadline!) + 1));
    await h.checkDeadlines();
    return h.saga(sagaId);
  };

  it('answers 202 with the saga, then decommissions the asset once every participant confirmed', async () => {
    const assetId = await activeAsset();
    const res = await decommission(assetId, { reason: 'replaced by pump 7' });
    expect(res.status).toBe(202);
    const sagaId = (res.body as Saga).id;
    expect(res.headers.location).toBe(`/api/v1/sagas/${sagaId}`);
    expect(res.headers.link).toBe(`</api/v1/sagas/${sagaId}>; rel="decommissioning-saga"`);
    expect(res.body).toMatchObject({
      type: 'decommissioning',
      status: 'running',
      step: 'maintenance',
      input: { force: false, note: 'replaced by pump 7', formerStatus: 'active' },
    });
    expect(await h.asset(assetId)).toMatchObject({
      status: 'decommissioning',
      statusReason: 'decommissioning: replaced by pump 7',
    });
    expect(await requestsOf(assetId)).toEqual([
      {
        sagaId,
        assetId,
        assetType: 'pump',
        step: 'maintenance',
        attempt: 1,
        force: false,
        note: 'replaced by pump 7',
      },
    ]);

    await h.deliver(done('maintenance', assetId, sagaId));
    await h.deliver(done('maintenance', assetId, sagaId)); // a duplicate changes nothing
    await h.deliver(done('alert', assetId, sagaId));
    expect((await requestsOf(assetId)).map((r) => r.step)).toEqual(['maintenance', 'alert', 'telemetry']);
    await h.deliver(done('telemetry', assetId, sagaId));

    const saga = await h.saga(sagaId);
    expect(saga).toMatchObject({
      status: 'completed',
      steps: [
        { name: 'maintenance', status: 'done' },
        { name: 'alert', status: 'done' },
        { name: 'telemetry', status: 'done' },
      ],
    });
    expect(saga.history.map((e) => `${e.step} ${e.action} ${e.outcome}`)).toEqual([
      'asset hold done',
      'maintenance execute requested',
      'maintenance execute confirmed',
      'alert execute requested',
      'alert execute confirmed',
      'telemetry execute requested',
      'telemetry execute confirmed',
      'asset decommission done',
    ]);
    expect(await h.asset(assetId)).toMatchObject({
      status: 'decommissioned',
      statusReason: 'replaced by pump 7',
    });
    const changes = (await h.outbox(STATUS_CHANGED)).filter((e) => e.subject === assetId);
    expect(changes.map((e) => (e.data as { to: string }).to)).toEqual([
      'active',
      'decommissioning',
      'decommissioned',
    ]);
    // Every message of the decommissioning shares the request's correlation.
    const requests = (await h.outbox(STEP_REQUESTED)).filter((e) => e.subject === assetId);
    expect(new Set([...requests, ...changes.slice(1)].map((e) => e.correlationid)).size).toBe(1);

    const again = await decommission(assetId);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'ASSET_DECOMMISSIONED' });
  });

  it('refuses unknown assets, a second saga, and assets still onboarding', async () => {
    const missing = await decommission('01900000-0000-7000-8000-00000000dead');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 'ASSET_NOT_FOUND' });
    expect((await decommission(await activeAsset(), { force: 'yes' })).status).toBe(400);

    const assetId = await activeAsset();
    const sagaId = await start(assetId);
    const second = await decommission(assetId, { force: true });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ code: 'DECOMMISSIONING_IN_PROGRESS', sagaId });

    const { asset, sagaId: onboarding } = await h.register();
    const early = await decommission(asset.id);
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({ code: 'ONBOARDING_IN_PROGRESS', sagaId: onboarding });
  });

  it('on a refusal, puts the asset back to its former status with the reason on the saga', async () => {
    const assetId = await activeAsset();
    await h.api('POST', `/api/v1/assets/${assetId}/status`, { status: 'maintenance' });
    const sagaId = await start(assetId);
    await h.deliver(refused(assetId, sagaId));

    const reason = 'maintenance refused: a work order is in progress on the asset';
    const saga = await h.saga(sagaId);
    expect(saga).toMatchObject({
      status: 'failed',
      reason,
      steps: [
        { name: 'maintenance', status: 'refused' },
        { name: 'alert', status: 'pending' },
        { name: 'telemetry', status: 'pending' },
      ],
    });
    expect(saga.history.at(-2)).toMatchObject({
      step: 'maintenance',
      outcome: 'refused',
      detail: { code: 'WORK_IN_PROGRESS' },
    });
    expect(await h.asset(assetId)).toMatchObject({
      status: 'maintenance',
      statusReason: `decommissioning called off: ${reason}`,
    });
    expect(await compensationsOf(assetId)).toEqual([]);
    // Called off, it may be asked for again (with force).
    expect((await decommission(assetId, { force: true })).status).toBe(202);
  });

  it('passes force on to the participants', async () => {
    const assetId = await activeAsset();
    await start(assetId, { force: true });
    expect((await requestsOf(assetId))[0]).toMatchObject({ step: 'maintenance', force: true, note: null });
  });

  it('compensates what was done, in reverse order, when a participant stays silent past its attempts', async () => {
    const assetId = await activeAsset();
    const sagaId = await start(assetId);
    await h.deliver(done('maintenance', assetId, sagaId));
    await h.deliver(done('alert', assetId, sagaId));
    expect((await timeOut(sagaId)).attempts).toBe(2);
    expect((await timeOut(sagaId)).attempts).toBe(3);
    const compensating = await timeOut(sagaId);
    const reason = 'telemetry did not confirm after 3 attempts';
    expect(compensating).toMatchObject({ status: 'compensating', step: 'telemetry', reason });
    expect((await h.asset(assetId)).status).toBe('decommissioning');

    await h.deliver(undone('telemetry', assetId, sagaId));
    await h.deliver(done('telemetry', assetId, sagaId)); // too late: ignored
    await h.deliver(undone('alert', assetId, sagaId));
    await h.deliver(undone('maintenance', assetId, sagaId));
    expect((await compensationsOf(assetId)).map((c) => [c.step, c.reason])).toEqual([
      ['telemetry', reason],
      ['alert', reason],
      ['maintenance', reason],
    ]);
    expect(await h.saga(sagaId)).toMatchObject({
      status: 'failed',
      steps: [
        { name: 'maintenance', status: 'compensated' },
        { name: 'alert', status: 'compensated' },
        { name: 'telemetry', status: 'compensated' },
      ],
    });
    expect(await h.asset(assetId)).toMatchObject({
      status: 'active',
      statusReason: `decommissioning called off: ${reason}`,
    });
  });

  it('needs attention when a compensation does not confirm; retry and skip go through the saga API', async () => {
    const assetId = await activeAsset();
    const sagaId = await start(assetId);
    await h.deliver(done('maintenance', assetId, sagaId));
    for (let i = 0; i < 3; i++) await timeOut(sagaId); // alert silent: compensating alert
    for (let i = 0; i < 2; i++) await timeOut(sagaId);
    const stuck = await timeOut(sagaId);
    expect(stuck).toMatchObject({ status: 'needs_attention', step: 'alert', actions: ['retry', 'skip'] });
    expect((await h.asset(assetId)).status).toBe('decommissioning');
    const listed = (await h.api('GET', '/api/v1/sagas?type=decommissioning&status=needs_attention'))
      .body as SagaPage;
    expect(listed.items.map((s) => s.id)).toContain(sagaId);

    const retry = await h.api('POST', `/api/v1/sagas/${sagaId}/retry`);
    expect(retry.body).toMatchObject({ status: 'compensating', step: 'alert', attempts: 1 });
    for (let i = 0; i < 3; i++) await timeOut(sagaId);
    const skip = await h.api('POST', `/api/v1/sagas/${sagaId}/skip`);
    expect(skip.body).toMatchObject({ status: 'compensating', step: 'maintenance' });
    await h.deliver(undone('maintenance', assetId, sagaId));
    expect((await h.saga(sagaId)).status).toBe('failed');
    expect((await h.asset(assetId)).status).toBe('active');
  });

  it('resumes after a restart: a new instance on the same database continues the saga', async () => {
    const assetId = await activeAsset();
    const sagaId = await start(assetId);
    await h.restart();
    await h.deliver(done('maintenance', assetId, sagaId));
    await h.restart();
    await timeOut(sagaId);
    expect((await requestsOf(assetId)).map((r) => [r.step, r.attempt])).toEqual([
      ['maintenance', 1],
      ['alert', 1],
      ['alert', 2],
    ]);
    await h.deliver(done('alert', assetId, sagaId));
    await h.deliver(done('telemetry', assetId, sagaId));
    expect((await h.asset(assetId)).status).toBe('decommissioned');
  });
});
