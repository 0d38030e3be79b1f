import { randomUUID } from 'node:crypto';
import type { AlertRaisedData, CreateRuleBody, EventEnvelope } from '@assetops/contracts';
import { createEventConsumer, createInProcessBus, createLogger, uuidV7Ids } from '@assetops/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Evaluator } from '../src/evaluation/evaluator.js';
import { RelevanceChanges, RelevanceIndex } from '../src/evaluation/relevance.js';
import { insertRule } from '../src/rules/rule.store.js';
import { type AlertHarness, startAlert } from './support/harness.js';

const T0 = Date.parse('2026-11-28T11:00:00.000Z');
const RAISED = 'assetops.alert.raised.v1';
const CLEARED = 'assetops.alert.cleared.v1';

describe('alert evaluation on the telemetry feed', () => {
  let h: AlertHarness;
  beforeAll(async () => {
    h = await startAlert();
  });
  afterAll(() => h?.close());

  const rule = (assetId: string, more: Partial<CreateRuleBody> = {}) =>
    insertRule(
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
    );
  const alertsOf = async (assetId: string) =>
    (
      await h.db.pool.query(
        'SELECT id, status, severity, episode, value FROM alerts WHERE asset_id = $1 ORDER BY episode',
        [assetId],
      )
    ).rows;
  const raisedFor = async (assetId: string) =>
    (await h.outbox(RAISED)).filter((e) => (e.data as AlertRaisedData).assetId === assetId);
  const feed = async (assetId: string, values: number[], metric = 'temperature', start = T0) => {
    for (const [i, v] of values.entries()) await h.deliver(h.reading(assetId, metric, start + i * 1000, v));
  };

  it('creates the default rules of the type profile and announces ThresholdsInitialized', async () => {
    const asset = await h.registerAsset('compressor');
    const { rows } = await h.db.pool.query(
      'SELECT name, origin FROM rules WHERE asset_id = $1 ORDER BY name',
      [asset],
    );
    expect(rows.map((r) => r.origin)).toEqual(rows.map(() => 'profile:compressor'));
    expect(rows.length).toBeGreaterThanOrEqual(2);
    const init = (await h.outbox('assetops.alert.thresholds-initialized.v1')).find(
      (e) => e.subject === asset,
    );
    expect(init?.data).toMatchObject({ assetId: asset, assetType: 'compressor', profile: 'compressor' });
    expect((init!.data as { ruleIds: string[] }).ruleIds).toHaveLength(rows.length);
    const other = await h.registerAsset('unknown-type');
    const none = (await h.outbox('assetops.alert.thresholds-initialized.v1')).find(
      (e) => e.subject === other,
    );
    expect(none?.data).toMatchObject({ profile: null, ruleIds: [] });
  });

  it('raises after the pending period, records the history, and clears with hysteresis', async () => {
    const asset = await h.registerAsset('gearbox');
    await rule(asset, { forSeconds: 3, clear: { threshold: 75 } });
    await feed(asset, [70, 81, 82]);
    expect((await alertsOf(asset)).map((a) => a.status)).toEqual(['pending']);
    expect(await raisedFor(asset)).toHaveLength(0);
    await feed(asset, [83, 84, 79, 81, 78], 'temperature', T0 + 3000);
    const [alert] = await alertsOf(asset);
    expect(alert).toMatchObject({ status: 'firing', episode: 1 });
    const raised = await raisedFor(asset);
    expect(raised).toHaveLength(1);
    expect(raised[0]!.data).toMatchObject({
      assetId: asset,
      severity: 'major',
      at: new Date(T0 + 4000).toISOString(),
    });
    await feed(asset, [74], 'temperature', T0 + 8000);
    expect((await alertsOf(asset)).map((a) => a.status)).toEqual(['cleared']);
    expect((await h.outbox(CLEARED)).filter((e) => e.subject === asset)).toHaveLength(1);
    const { rows: history } = await h.db.pool.query(
      'SELECT status, at, cause FROM alert_history WHERE alert_id = $1 ORDER BY seq',
      [alert.id],
    );
    expect(history.map((r) => [r.status, r.at.toISOString()])).toEqual([
      ['pending', new Date(T0 + 1000).toISOString()],
      ['firing', new Date(T0 + 4000).toISOString()],
      ['cleared', new Date(T0 + 8000).toISOString()],
    ]);
  });

  it('starts a new episode after a clear and a new crossing', async () => {
    const asset = await h.registerAsset('gearbox');
    await rule(asset);
    await feed(asset, [85, 70, 90]);
    expect((await alertsOf(asset)).map((a) => [a.episode, a.status])).toEqual([
      [1, 'cleared'],
      [2, 'firing'],
    ]);
  });

  it('keeps a pending period across a restart and fires once', async () => {
    const asset = await h.registerAsset('gearbox');
    await rule(asset, { forSeconds: 5 });
    await feed(asset, [81, 82, 83]);
    await h.restart();
    await feed(asset, [84, 85, 86, 87], 'temperature', T0 + 3000);
    expect((await alertsOf(asset)).map((a) => a.status)).toEqual(['firing']);
    expect(await raisedFor(asset)).toHaveLength(1);
  });

  it('raises nothing twice when the same telemetry event is delivered again', async () => {
    const asset = await h.registerAsset('gearbox');
    await rule(asset);
    const bus = createInProcessBus();
    const consumer = createEventConsumer({
      name: 'alert',
      pool: h.db.pool,
      bus,
      sources: ['telemetry'],
      handlers: h.service.consumer!.handlers,
      logger: createLogger({ service: 'alert', level: 'silent' }),
    });
    await consumer.start();
    const event = h.reading(asset, 'temperature', T0, 99);
    await bus.publish([event]);
    await bus.publish([event]);
    await consumer.drain();
    await consumer.stop();
    // And evaluated directly once more (a replay that bypasses the inbox): event time makes it late.
    await h.deliver(event);
    expect(await alertsOf(asset)).toHaveLength(1);
    expect(await raisedFor(asset)).toHaveLength(1);
  });

  it('records alerts as suppressed while the asset is in maintenance, and raises again after', async () => {
    const asset = await h.registerAsset('gearbox');
    await rule(asset);
    await h.changeStatus(asset, 'commissioning', 'active');
    await h.changeStatus(asset, 'active', 'maintenance');
    await feed(asset, [95, 96]);
    expect((await alertsOf(asset)).map((a) => a.status)).toEqual(['suppressed']);
    expect(await raisedFor(asset)).toHaveLength(0);
    await h.changeStatus(asset, 'maintenance', 'active');
    expect((await alertsOf(asset)).map((a) => a.status)).toEqual(['cleared']);
    await feed(asset, [97], 'temperature', T0 + 5000);
    expect((await alertsOf(asset)).map((a) => a.status)).toEqual(['cleared', 'firing']);
    expect(await raisedFor(asset)).toHaveLength(1);
  });

  it('raises a no-data alert again after maintenance when the asset is still silent', async () => {
    const asset = await h.registerAsset('gearbox');
    await rule(asset, { condition: { kind: 'no_data', seconds: 60 } });
    await h.changeStatus(asset, 'commissioning', 'active');
    await h.changeStatus(asset, 'active', 'maintenance');
    const evaluator = new Evaluator({ clock: h.clock, ids: uuidV7Ids });
    expect(await evaluator.checkSilence(h.db.pool)).toBe(0); // watching starts now
    h.clock.advance(61_000);
    expect(await evaluator.checkSilence(h.db.pool)).toBe(1);
    expect((await alertsOf(asset)).map((a) => a.status)).toEqual(['suppressed']);
    await h.changeStatus(asset, 'maintenance', 'active');
    expect((await alertsOf(asset)).map((a) => a.status)).toEqual(['cleared']);
    // Still silent: the next check raises it, now that nothing suppresses it.
    expect(await evaluator.checkSilence(h.db.pool)).toBe(1);
    expect((await alertsOf(asset)).map((a) => a.status)).toEqual(['cleared', 'firing']);
    expect(await raisedFor(asset)).toHaveLength(1);
  });

  it('clears the alerts of a decommissioned asset and raises nothing for it', async () => {
    const asset = await h.registerAsset('gearbox');
    await rule(asset);
    await feed(asset, [95]);
    await h.changeStatus(asset, 'commissioning', 'decommissioning');
    await h.changeStatus(asset, 'decommissioning', 'decommissioned');
    await feed(asset, [99], 'temperature', T0 + 10_000);
    expect((await alertsOf(asset)).map((a) => a.status)).toEqual(['cleared']);
    const cleared = (await h.outbox(CLEARED)).filter((e: EventEnvelope) => e.subject === asset);
    expect(cleared.map((e) => (e.data as { cause: string }).cause)).toEqual(['asset decommissioned']);
  });

  it('escalates a long-firing alert once', async () => {
    const asset = await h.registerAsset('gearbox');
    await rule(asset, { escalation: { severity: 'critical', afterSeconds: 3 } });
    await feed(asset, [85, 86, 87, 88, 89]);
    expect((await alertsOf(asset)).map((a) => a.severity)).toEqual(['critical']);
    expect((await h.outbox('assetops.alert.escalated.v1')).filter((e) => e.subject === asset)).toHaveLength(
      1,
    );
  });

  it('fires a no-data rule after the silence (clock injected), and clears it when data comes', async () => {
    const asset = await h.registerAsset('gearbox');
    await rule(asset, { condition: { kind: 'no_data', seconds: 60 } });
    const evaluator = new Evaluator({ clock: h.clock, ids: uuidV7Ids });
    expect(await evaluator.checkSilence(h.db.pool)).toBe(0); // watching starts now
    h.clock.advance(59_000);
    expect(await evaluator.checkSilence(h.db.pool)).toBe(0);
    h.clock.advance(2_000);
    expect(await evaluator.checkSilence(h.db.pool)).toBe(1);
    expect(await evaluator.checkSilence(h.db.pool)).toBe(0);
    expect((await alertsOf(asset)).map((a) => a.status)).toEqual(['firing']);
    await h.deliver(h.reading(asset, 'temperature', h.clock.now().getTime(), 50));
    expect((await alertsOf(asset)).map((a) => a.status)).toEqual(['cleared']);
    // The data restarted the clock: silent again for the rule's minute, it fires a second episode.
    h.clock.advance(59_000);
    expect(await evaluator.checkSilence(h.db.pool)).toBe(0);
    h.clock.advance(2_000);
    expect(await evaluator.checkSilence(h.db.pool)).toBe(1);
    expect((await alertsOf(asset)).map((a) => [a.status, a.episode])).toEqual([
      ['cleared', 1],
      ['firing', 2],
    ]);
  });

  it('counts a no-data silence from the last data, moving a deadline that passed while data came', async () => {
    const asset = await h.registerAsset('gearbox');
    const created = await rule(asset, { condition: { kind: 'no_data', seconds: 60 } });
    const evaluator = new Evaluator({ clock: h.clock, ids: uuidV7Ids });
    const deadline = async () =>
      (
        await h.db.pool.query<{ silent_at: Date | null }>(
          'SELECT silent_at FROM eval_state WHERE rule_id = $1',
          [created.id],
        )
      ).rows[0]!.silent_at?.getTime();
    expect(await evaluator.checkSilence(h.db.pool)).toBe(0); // watching starts now
    const start = h.clock.now().getTime();
    expect(await deadline()).toBe(start + 60_000);
    h.clock.advance(30_000);
    await h.deliver(h.reading(asset, 'temperature', h.clock.now().getTime(), 50)); // data at +30 s
    expect(await deadline()).toBe(start + 60_000); // kept: a lower bound, moved once it passes
    h.clock.advance(31_000);
    expect(await evaluator.checkSilence(h.db.pool)).toBe(0); // +61 s: silent for 31 s only
    expect(await deadline()).toBe(start + 90_000);
    h.clock.advance(28_000);
    expect(await evaluator.checkSilence(h.db.pool)).toBe(0);
    h.clock.advance(2_000); // +91 s: silent for 61 s
    expect(await evaluator.checkSilence(h.db.pool)).toBe(1);
    expect((await alertsOf(asset)).map((a) => a.status)).toEqual(['firing']);
    expect(await deadline()).toBeUndefined(); // none while it fires
  });

  it('fires a no-data rule on its new deadline when its for-time changes', async () => {
    const asset = await h.registerAsset('gearbox');
    const created = await rule(asset, { condition: { kind: 'no_data', seconds: 60 }, forSeconds: 30 });
    const evaluator = new Evaluator({ clock: h.clock, ids: uuidV7Ids });
    expect(await evaluator.checkSilence(h.db.pool)).toBe(0); // watching starts now: due in 90 s
    h.clock.advance(30_000);
    const changed = await h.service.app.inject({
      method: 'PATCH',
      url: `/api/v1/alert-rules/${created.id}`,
      payload: { forSeconds: 0 },
    });
    expect(changed.statusCode).toBe(200);
    h.clock.advance(29_000);
    expect(await evaluator.checkSilence(h.db.pool)).toBe(0);
    h.clock.advance(2_000); // 61 s of silence: due with the new for-time, not at 90 s
    expect(await evaluator.checkSilence(h.db.pool)).toBe(1);
    // Firing, it has no deadline.
    const { rows } = await h.db.pool.query('SELECT silent_at FROM eval_state WHERE rule_id = $1', [
      created.id,
    ]);
    expect(rows).toEqual([{ silent_at: null }]);
  });

  it('watches the assets of a type no-data rule, seeding their states only when told to', async () => {
    const type = `silent-${randomUUID().slice(0, 8)}`;
    const first = await h.registerAsset(type);
    await insertRule(
      h.db.pool,
      randomUUID(),
      {
        name: 'quiet',
        assetType: type,
        metric: 'flow',
        condition: { kind: 'no_data', seconds: 30 },
        severity: 'warning',
      },
      'user',
      h.clock.now(),
    );
    const evaluator = new Evaluator({ clock: h.clock, ids: uuidV7Ids });
    const statesOf = async (assetId: string) =>
      (await h.db.pool.query('SELECT rule_id FROM eval_state WHERE asset_id = $1', [assetId])).rowCount;
    // Not seeded: the type rule has no state for the asset, so nothing watches it yet.
    expect(await evaluator.checkSilence(h.db.pool, { seed: false })).toBe(0);
    expect(await statesOf(first)).toBe(0);
    expect(await evaluator.checkSilence(h.db.pool)).toBe(0); // seeded: watching starts now
    expect(await statesOf(first)).toBe(1);
    const second = await h.registerAsset(type); // joins the type later
    h.clock.advance(20_000);
    expect(await evaluator.checkSilence(h.db.pool)).toBe(0);
    h.clock.advance(11_000);
    expect(await evaluator.checkSilence(h.db.pool, { seed: false })).toBe(1); // the first asset only
    expect((await alertsOf(first)).map((a) => a.status)).toEqual(['firing']);
    expect(await alertsOf(second)).toEqual([]);
    h.clock.advance(20_000);
    expect(await evaluator.checkSilence(h.db.pool, { seed: false })).toBe(1);
    expect((await alertsOf(second)).map((a) => a.status)).toEqual(['firing']);
  });

  it('tells when rules or known assets changed, so that seeding runs only then', async () => {
    const changes = new RelevanceChanges(h.db.pool, { settleMs: 0, fullMs: 3_600_000 });
    let now = Date.now();
    expect(await changes.due(now)).toBe(true); // never ran
    changes.ran(now);
    expect(await changes.due(++now)).toBe(false);
    expect(await changes.due(++now, true)).toBe(true); // forced
    await h.registerAsset('gearbox');
    expect(await changes.due(++now)).toBe(true);
    changes.ran(now);
    expect(await changes.due(++now)).toBe(false);
    await rule(await h.registerAsset('gearbox'));
    expect(await changes.due(++now)).toBe(true);
    // Within the settle time of a move it stays due (a change counted before it committed).
    const settling = new RelevanceChanges(h.db.pool, { settleMs: 5_000, fullMs: 3_600_000 });
    expect(await settling.due(now)).toBe(true);
    settling.ran(now);
    expect(await settling.due(now + 4_000)).toBe(true);
    expect(await settling.due(now + 6_000)).toBe(false);
    // And after the full period, whatever the counter says.
    expect(await settling.due(now + 3_600_000)).toBe(true);
    // A run that took 200 ms: not again within 2 s (ten times as long), unless forced; a change
    // seen meanwhile is run for once that time is up.
    const cooling = new RelevanceChanges(h.db.pool, { settleMs: 0, fullMs: 3_600_000 });
    expect(await cooling.due(now)).toBe(true);
    cooling.ran(now, 200);
    await h.registerAsset('gearbox');
    expect(await cooling.due(now + 1_000)).toBe(false);
    expect(await cooling.due(now + 1_500, true)).toBe(true);
    expect(await cooling.due(now + 2_001)).toBe(true);
    cooling.ran(now + 2_001, 200);
    expect(await cooling.due(now + 4_002)).toBe(false); // nothing moved since
  });

  it('stores only the telemetry windows some rule watches (the consumer filter)', async () => {
    const accept = h.service.consumer!.accept!;
    const watched = await h.registerAsset('gearbox');
    const created = await h.service.app.inject({
      method: 'POST',
      url: '/api/v1/alert-rules',
      payload: {
        name: 'hot',
        assetId: watched,
        metric: 'temperature',
        condition: { kind: 'above', threshold: 80 },
        severity: 'major',
      },
    });
    expect(created.statusCode).toBe(201);
    expect(accept(h.reading(watched, 'temperature', T0, 1))).toBe(true);
    expect(accept(h.reading(watched, 'humidity', T0, 1))).toBe(false);
    // A window of several metrics is stored when one of them is watched.
    expect(accept(h.readings(watched, T0, { humidity: 1, temperature: 2 }))).toBe(true);
    expect(accept(h.readings(watched, T0, { humidity: 1, rpm: 2 }))).toBe(false);
    // A pump's profile rules apply at once, before any reload of the index.
    const pump = await h.registerAsset('pump');
    expect(accept(h.reading(pump, 'temperature', T0, 1))).toBe(true);
    expect(accept(h.reading(pump, 'humidity', T0, 1))).toBe(false);
    expect(accept(h.readings(pump, T0, { humidity: 1, temperature: 2 }))).toBe(true);
    // Other events are never filtered.
    expect(accept((await h.outbox('assetops.alert.thresholds-initialized.v1'))[0]!)).toBe(true);
  });

  it('reloads its rule index only when rules or known assets changed (made on another instance too)', async () => {
    const index = new RelevanceIndex(h.db.pool, createLogger({ service: 'alert', level: 'silent' }), 1000, {
      settleMs: 0,
      fullReloadMs: 3_600_000,
      cooldownFactor: 0, // every change reloads at once here (the cooldown has its own test)
    });
    await index.refresh();
    expect(index.reloads).toBe(1);
    await index.refresh();
    await index.refresh();
    expect(index.reloads).toBe(1); // nothing changed: one tiny query each, no reload
    const asset = await h.registerAsset('gearbox'); // a known asset added
    await index.refresh();
    expect(index.reloads).toBe(2);
    expect(index.accepts(h.reading(asset, 'temperature', T0, 1))).toBe(false);
    // A rule written by another instance (straight into the database, no note to this one).
    await rule(asset);
    await index.refresh();
    expect(index.reloads).toBe(3);
    expect(index.accepts(h.reading(asset, 'temperature', T0, 1))).toBe(true);
    await h.db.pool.query('UPDATE rules SET enabled = false WHERE asset_id = $1', [asset]);
    await index.refresh();
    expect(index.accepts(h.reading(asset, 'temperature', T0, 1))).toBe(false);
    // A forced reload (after a change made through this instance) does not wait for the counter.
    await index.refresh({ force: true });
    expect(index.reloads).toBe(5);
    await index.refresh();
    expect(index.reloads).toBe(5);
  });
});
