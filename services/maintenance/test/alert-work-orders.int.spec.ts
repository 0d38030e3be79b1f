import type {
  AlertRaisedData,
  EventEnvelope,
  WorkOrder,
  WorkOrderPriorityChangedData,
} from '@assetops/contracts';
import {
  createEventConsumer,
  createInProcessBus,
  createLogger,
  createMetricsRegistry,
  uuidV7Ids,
} from '@assetops/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMaintenanceService } from '../src/index.js';
import { type MaintenanceHarness, startMaintenance } from './support/harness.js';

const CREATED = 'assetops.maintenance.work-order-created.v1';
const ASSIGNED = 'assetops.maintenance.work-order-assigned.v1';
const PRIORITY_CHANGED = 'assetops.maintenance.work-order-priority-changed.v1';
const HOUR = 3_600_000;

const env = {
  MAINTENANCE_SKILL_MAP: JSON.stringify({
    metrics: { vibration: 'mechanical' },
    assetTypes: { chiller: 'hvac' },
  }),
  MAINTENANCE_SLA_URGENT: '2h',
};

describe('alert → work order (choreography)', () => {
  let h: MaintenanceHarness;
  let pump: string;
  let mechanic: string;
  beforeAll(async () => {
    h = await startMaintenance({ env });
    pump = await h.registerAsset('pump');
    mechanic = (await h.addTechnician({ name: 'Max', skills: ['mechanical'] })).id;
    await h.addTechnician({ name: 'Ann' });
  });
  afterAll(() => h?.close());

  const eventsOf = async (type: string, workOrderId: string) =>
    (await h.outbox(type)).filter((e) => (e.data as { workOrderId: string }).workOrderId === workOrderId);
  const only = async (raised: EventEnvelope<AlertRaisedData>) => {
    const found = await h.workOrdersOfAlert(raised.data.alertId);
    expect(found).toHaveLength(1);
    return found[0]!;
  };

  it('opens one high-priority work order for a major alert, assigns it, and says what caused it', async () => {
    const raised = h.alertRaised(pump, { severity: 'major', ruleName: 'bearing hot', episode: 3 });
    await h.deliver(raised);
    const wo = await only(raised);
    expect(wo).toMatchObject({
      assetId: pump,
      source: 'alert',
      sourceRef: raised.data.alertId,
      priority: 'high',
      title: 'bearing hot: temperature > 90',
      status: 'assigned',
      dueAt: new Date(h.clock.now().getTime() + 24 * HOUR).toISOString(),
    });
    expect(wo.description).toContain('episode 3');
    expect(wo.assigneeId).not.toBeNull();
    expect(wo.notes![0]!.text).toMatch(/^automatically assigned to /);
    const [created] = await eventsOf(CREATED, wo.id);
    expect(created).toMatchObject({
      causationid: raised.id,
      correlationid: raised.correlationid,
      subject: pump,
    });
    expect(await eventsOf(ASSIGNED, wo.id)).toHaveLength(1);
  });

  it('makes a critical alert urgent, due after the (configured) urgent SLA', async () => {
    const raised = h.alertRaised(pump, { severity: 'critical' });
    await h.deliver(raised);
    expect(await only(raised)).toMatchObject({
      priority: 'urgent',
      dueAt: new Date(h.clock.now().getTime() + 2 * HOUR).toISOString(),
    });
  });

  it('opens nothing for warning and info alerts', async () => {
    for (const severity of ['warning', 'info'] as const) {
      const raised = h.alertRaised(pump, { severity });
      await h.deliver(raised);
      expect(await h.workOrdersOfAlert(raised.data.alertId)).toEqual([]);
    }
  });

  it('opens one work order for 100 deliveries of the same AlertRaised through the consumer', async () => {
    const bus = createInProcessBus();
    const consumer = createEventConsumer({
      name: 'maintenance',
      pool: h.db.pool,
      bus,
      sources: h.service.consumer!.sources,
      handlers: h.service.consumer!.handlers,
      logger: createLogger({ service: 'maintenance', level: 'silent' }),
    });
    await consumer.start();
    try {
      const raised = h.alertRaised(pump, { severity: 'critical' });
      // Half in one batch, half one by one, the consumer working meanwhile.
      await bus.publish(Array.from({ length: 50 }, () => raised));
      for (let i = 0; i < 50; i++) await bus.publish([raised]);
      await consumer.drain();
      const wo = await only(raised);
      expect(await eventsOf(CREATED, wo.id)).toHaveLength(1);
      expect(await eventsOf(ASSIGNED, wo.id)).toHaveLength(1);
      const { rows } = await h.db.pool.query(
        `SELECT status FROM inbox WHERE consumer = 'maintenance' AND event_id = $1`,
        [raised.id],
      );
      expect(rows).toEqual([{ status: 'processed' }]);
    } finally {
      await consumer.stop();
    }
  });

  it('opens one work order for 100 AlertRaised events of the same alert under different event ids', async () => {
    const first = h.alertRaised(pump, { severity: 'major' });
    // A replay from the alert side (new event ids, same alert): the inbox cannot tell them apart.
    const replays = Array.from({ length: 100 }, () => ({ ...first, id: uuidV7Ids.next() }));
    for (const event of replays.slice(0, 50)) await h.deliver(event);
    // The rest at the same time, in racing transactions: the unique alert reference decides.
    await Promise.all(replays.slice(50).map((event) => h.deliver(event)));
    const wo = await only(first);
    expect(wo.version).toBe(2); // opened, assigned — nothing more
    expect(await eventsOf(CREATED, wo.id)).toHaveLength(1);
    expect(await eventsOf(ASSIGNED, wo.id)).toHaveLength(1);
    expect(wo.notes).toHaveLength(1);
  });

  it('notes the clear of the alert on its work order, once', async () => {
    const raised = h.alertRaised(pump);
    await h.deliver(raised);
    h.clock.advance(10 * 60_000);
    const cleared = h.alertCleared(raised, 'temperature back below 85');
    await h.deliver(cleared);
    await h.deliver({ ...cleared, id: uuidV7Ids.next() });
    const wo = await only(raised);
    expect(wo.notes!.map((n) => n.text).slice(1)).toEqual([
      `alert cleared at ${h.clock.now().toISOString()}: temperature back below 85 (last value 85)`,
    ]);
    expect(wo.status).toBe('assigned'); // the work itself still has to be done (or cancelled) by a person
    // The clear of an alert without a work order (a warning) changes nothing.
    const warning = h.alertRaised(pump, { severity: 'warning' });
    await h.deliver(h.alertCleared(warning));
    expect(await h.workOrdersOfAlert(warning.data.alertId)).toEqual([]);
  });

  it('raises the priority when the alert escalates to critical, due by the urgent SLA from creation', async () => {
    const raised = h.alertRaised(pump, { severity: 'major' });
    await h.deliver(raised);
    const createdAt = h.clock.now().getTime();
    h.clock.advance(30 * 60_000);
    const escalated = h.alertEscalated(raised, 'major', 'critical');
    await h.deliver(escalated);
    await h.deliver({ ...escalated, id: uuidV7Ids.next() });
    const wo = await only(raised);
    const due = new Date(createdAt + 2 * HOUR).toISOString();
    expect(wo).toMatchObject({ priority: 'urgent', dueAt: due });
    expect(wo.notes!.at(-1)!.text).toBe(
      `priority raised from high to urgent: alert escalated from major to critical at ${h.clock.now().toISOString()}; ` +
        `now due ${due} (the urgent SLA counted from the work order's creation)`,
    );
    const changes = await eventsOf(PRIORITY_CHANGED, wo.id);
    expect(changes.map((e) => e.data as WorkOrderPriorityChangedData)).toEqual([
      expect.objectContaining({ from: 'high', to: 'urgent', dueAt: due }),
    ]);
    expect(changes[0]!.causationid).toBe(escalated.id);
  });

  it('opens the work order of a warning that escalates to critical', async () => {
    const raised = h.alertRaised(pump, { severity: 'warning' });
    await h.deliver(raised);
    expect(await h.workOrdersOfAlert(raised.data.alertId)).toEqual([]);
    await h.deliver(h.alertEscalated(raised, 'warning', 'critical'));
    expect(await only(raised)).toMatchObject({ priority: 'urgent', title: 'Alert escalated to critical' });
  });

  it('asks for the skill the metric or the asset type needs', async () => {
    const vibration = h.alertRaised(pump, { metric: 'vibration', condition: 'vibration > 7' });
    await h.deliver(vibration);
    expect(await only(vibration)).toMatchObject({ requiredSkill: 'mechanical', assigneeId: mechanic });
    // Nobody does hvac: the work order stays open, and says why.
    const chiller = await h.registerAsset('chiller');
    const hot = h.alertRaised(chiller);
    await h.deliver(hot);
    const open: WorkOrder = await only(hot);
    expect(open).toMatchObject({ requiredSkill: 'hvac', status: 'open', assigneeId: null });
    expect(open.notes!.map((n) => n.text)).toEqual([
      `not assigned: no active, available technician with skill 'hvac' is on shift at ${h.clock.now().toISOString()}`,
    ]);
  });

  it('opens nothing for a decommissioned asset, but does for an asset it has not heard of yet', async () => {
    const retired = await h.registerAsset();
    await h.changeStatus(retired, 'commissioning', 'decommissioning');
    await h.changeStatus(retired, 'decommissioning', 'decommissioned');
    const late = h.alertRaised(retired, { severity: 'critical' });
    await h.deliver(late);
    expect(await h.workOrdersOfAlert(late.data.alertId)).toEqual([]);
    const stranger = h.alertRaised('01900000-0000-7000-8000-00000000f00d', { severity: 'critical' });
    await h.deliver(stranger);
    expect(await only(stranger)).toMatchObject({ priority: 'urgent', requiredSkill: null });
  });

  it('refuses a malformed skill map at start', async () => {
    const attempt = createMaintenanceService({
      logger: createLogger({ service: 'maintenance', level: 'silent' }),
      metrics: createMetricsRegistry('maintenance'),
      clock: h.clock,
      ids: uuidV7Ids,
      pool: h.db.pool,
      bus: createInProcessBus(),
      env: { MAINTENANCE_SKILL_MAP: '{"metrics": {"vibration": "Not A Skill"}}' },
    });
    await expect(attempt).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
