import { randomUUID } from 'node:crypto';
import {
  type AssetMaintenanceRestoredData,
  type AssetMaintenanceWithdrawalRefusedData,
  type AssetMaintenanceWithdrawnData,
  DecommissioningCompensationRequested,
  type DecommissioningStep,
  DecommissioningStepRequested,
  type EventEnvelope,
  type Technician,
  type WorkOrder,
} from '@assetops/contracts';
import { createEvent, uuidV7Ids } from '@assetops/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MaintenanceHarness, startMaintenance } from './support/harness.js';
import { planKit } from './support/plans.js';

const WITHDRAWN = 'assetops.maintenance.asset-maintenance-withdrawn.v1';
const REFUSED = 'assetops.maintenance.asset-maintenance-withdrawal-refused.v1';
const RESTORED = 'assetops.maintenance.asset-maintenance-restored.v1';

// Maintenance's part in the decommissioning saga: it cancels the asset's unfinished work orders and
// deactivates its plans, refuses while work is in progress (unless forced), and on compensation
// reactivates exactly the plans it deactivated.
describe('maintenance in the decommissioning saga', () => {
  let h: MaintenanceHarness;
  let plans: ReturnType<typeof planKit>;
  let ann: Technician;
  beforeAll(async () => {
    h = await startMaintenance({ now: '2026-11-28T12:00:00.000Z' });
    plans = planKit(h);
    ann = await h.addTechnician({ name: 'Ann' });
  });
  afterAll(() => h?.close());

  const request = (
    assetId: string,
    sagaId: string,
    opts: { force?: boolean; step?: DecommissioningStep } = {},
  ) =>
    createEvent(
      DecommissioningStepRequested,
      {
        sagaId,
        assetId,
        assetType: 'pump',
        step: opts.step ?? 'maintenance',
        attempt: 1,
        force: opts.force ?? false,
        note: 'replaced',
      },
      { subject: assetId, clock: h.clock, ids: uuidV7Ids },
    );
  const compensation = (assetId: string, sagaId: string) =>
    createEvent(
      DecommissioningCompensationRequested,
      {
        sagaId,
        assetId,
        assetType: 'pump',
        step: 'maintenance',
        attempt: 1,
        reason: 'telemetry did not confirm after 3 attempts',
      },
      { subject: assetId, clock: h.clock, ids: uuidV7Ids },
    );
  const answers = async (assetId: string) =>
    (await h.outbox())
      .filter((e) => e.subject === assetId && [WITHDRAWN, REFUSED, RESTORED].includes(e.type))
      .map((e: EventEnvelope) => ({ type: e.type, data: e.data }));
  const workOrder = async (id: string) => (await h.api<WorkOrder>('GET', `/api/v1/work-orders/${id}`)).body;
  const move = async (id: string, ...actions: string[]) => {
    for (const action of actions) {
      const body = action === 'assign' ? { technicianId: ann.id } : undefined;
      const res = await h.api('POST', `/api/v1/work-orders/${id}/${action}`, body);
      expect(res.status).toBe(200);
    }
  };
  /** An asset with an open, an assigned-and-held, an in-progress and a completed work order, and two plans. */
  const equippedAsset = async () => {
    const assetId = await h.registerAsset();
    const open = await h.openWorkOrder({ assetId, title: 'Check seal' });
    const held = await h.openWorkOrder({ assetId, title: 'Replace filter' });
    const started = await h.openWorkOrder({ assetId, title: 'Realign shaft' });
    const completed = await h.openWorkOrder({ assetId, title: 'Grease' });
    await move(held.id, 'assign', 'start', 'hold');
    await move(started.id, 'assign', 'start');
    await move(completed.id, 'assign', 'start', 'complete');
    const active = await plans.createPlan({ assetId, interval: { every: 1, unit: 'month' } });
    const paused = await plans.createPlan({ assetId, interval: { every: 1, unit: 'week' } });
    await h.api('POST', `/api/v1/maintenance-plans/${paused.id}/deactivate`);
    return { assetId, open, held, started, completed, active, paused };
  };

  it('refuses while work is in progress, changing nothing, and says which work order', async () => {
    const a = await equippedAsset();
    const sagaId = randomUUID();
    await h.deliver(request(a.assetId, sagaId));
    const [refusal] = await answers(a.assetId);
    expect(refusal?.type).toBe(REFUSED);
    const refused = refusal!.data as AssetMaintenanceWithdrawalRefusedData;
    expect(refused).toMatchObject({ sagaId, code: 'WORK_IN_PROGRESS', workOrderIds: [a.started.id] });
    expect(refused.reason).toContain(a.started.id);
    expect((await workOrder(a.open.id)).status).toBe('open');
    expect((await workOrder(a.held.id)).status).toBe('on_hold');
    expect((await plans.plan(a.active.id)).active).toBe(true);

    // Once the work is finished, the same saga's retry goes through.
    await move(a.started.id, 'complete');
    await h.deliver(request(a.assetId, sagaId));
    const withdrawn = (await answers(a.assetId)).at(-1);
    expect(withdrawn?.type).toBe(WITHDRAWN);
    expect(withdrawn?.data as AssetMaintenanceWithdrawnData).toMatchObject({
      forced: false,
      cancelledWorkOrderIds: [a.open.id, a.held.id].sort(),
      deactivatedPlanIds: [a.active.id],
    });
  });

  it('with force, cancels work in progress too; a repeated request answers the same; compensation restores the plans', async () => {
    const a = await equippedAsset();
    const sagaId = randomUUID();
    await h.deliver(request(a.assetId, sagaId, { force: true }));
    await h.deliver(request(a.assetId, sagaId, { force: true }));
    await h.deliver(request(a.assetId, sagaId, { step: 'alert' })); // not maintenance's step
    const [first, second, ...rest] = await answers(a.assetId);
    expect(rest).toEqual([]);
    expect(second).toEqual(first);
    expect(first?.data as AssetMaintenanceWithdrawnData).toMatchObject({
      forced: true,
      cancelledWorkOrderIds: [a.open.id, a.held.id, a.started.id].sort(),
      deactivatedPlanIds: [a.active.id],
    });
    for (const id of [a.open.id, a.held.id, a.started.id]) {
      const wo = await workOrder(id);
      expect(wo.status).toBe('cancelled');
      expect(wo.history!.at(-1)?.reason).toBe(`asset decommissioned (saga ${sagaId}): replaced`);
    }
    expect((await workOrder(a.completed.id)).status).toBe('completed');
    expect((await plans.plan(a.active.id)).active).toBe(false);

    await h.deliver(compensation(a.assetId, sagaId));
    await h.deliver(compensation(a.assetId, sagaId));
    const restored = (await answers(a.assetId)).slice(2);
    expect(restored.map((r) => r.type)).toEqual([RESTORED, RESTORED]);
    expect(restored[0]?.data as AssetMaintenanceRestoredData).toMatchObject({
      reactivatedPlanIds: [a.active.id],
    });
    expect(restored[1]?.data as AssetMaintenanceRestoredData).toMatchObject({ reactivatedPlanIds: [] });
    // Exactly the plan it deactivated: the one paused by a person stays paused.
    expect((await plans.plan(a.active.id)).active).toBe(true);
    expect((await plans.plan(a.paused.id)).active).toBe(false);
    // Cancelled work orders stay cancelled, with one note each saying the decommissioning was called off.
    const cancelled = await workOrder(a.open.id);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.notes!.filter((n) => n.text.startsWith('decommissioning called off'))).toHaveLength(1);
  });

  it('does nothing for a request that arrives after its compensation', async () => {
    const assetId = await h.registerAsset();
    const open = await h.openWorkOrder({ assetId, title: 'Inspect' });
    const sagaId = randomUUID();
    await h.deliver(compensation(assetId, sagaId));
    await h.deliver(request(assetId, sagaId));
    expect((await answers(assetId)).map((a) => a.type)).toEqual([RESTORED]);
    expect((await workOrder(open.id)).status).toBe('open');
  });
});
