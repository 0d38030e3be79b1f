import { randomUUID } from 'node:crypto';
import {
  type AlertClearedData,
  type AssetAlertingDisabledData,
  type AssetAlertingRestoredData,
  DecommissioningCompensationRequested,
  type DecommissioningStep,
  DecommissioningStepRequested,
} from '@assetops/contracts';
import { createEvent, uuidV7Ids } from '@assetops/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertRule } from '../src/rules/rule.store.js';
import { type AlertHarness, startAlert } from './support/harness.js';

const T0 = Date.parse('2026-11-28T11:00:00.000Z');
const DISABLED = 'assetops.alert.asset-alerting-disabled.v1';
const RESTORED = 'assetops.alert.asset-alerting-restored.v1';
const CLEARED = 'assetops.alert.cleared.v1';

// Alert's part in the decommissioning saga: it disables the asset's rules and clears its active
// alerts, and on compensation re-enables exactly the rules it disabled.
describe('alert in the decommissioning saga', () => {
  let h: AlertHarness;
  beforeAll(async () => {
    h = await startAlert({ now: '2026-11-28T12:00:00.000Z' });
  });
  afterAll(() => h?.close());

  const request = (assetId: string, sagaId: string, step: DecommissioningStep = 'alert') =>
    createEvent(
      DecommissioningStepRequested,
      { sagaId, assetId, assetType: 'pump', step, attempt: 1, force: false, note: null },
      { subject: assetId, clock: h.clock, ids: uuidV7Ids },
    );
  const compensation = (assetId: string, sagaId: string) =>
    createEvent(
      DecommissioningCompensationRequested,
      { sagaId, assetId, assetType: 'pump', step: 'alert', attempt: 1, reason: 'telemetry did not confirm' },
      { subject: assetId, clock: h.clock, ids: uuidV7Ids },
    );
  const enabledRules = async (assetId: string) =>
    (
      await h.db.pool.query<{ id: string }>(
        'SELECT id FROM rules WHERE asset_id = $1 AND enabled ORDER BY id',
        [assetId],
      )
    ).rows.map((r) => r.id);
  const ofAsset = async (type: string, assetId: string) =>
    (await h.outbox(type)).filter((e) => e.subject === assetId).map((e) => e.data);

  it('disables the asset’s rules, clears its alerts; compensation re-enables exactly those rules', async () => {
    const assetId = await h.registerAsset('pump');
    const profileRules = await enabledRules(assetId);
    expect(profileRules.length).toBeGreaterThan(0);
    // A rule a person had disabled before: the saga must not enable it when it is called off.
    const byHand = await insertRule(
      h.db.pool,
      randomUUID(),
      {
        name: 'mine',
        assetId,
        metric: 'rpm',
        condition: { kind: 'above', threshold: 3000 },
        severity: 'info',
        enabled: false,
      },
      'user',
      h.clock.now(),
    );
    // The bearing temperature rule (above 85 for 10 s) fires.
    for (let i = 0; i <= 12; i++) await h.deliver(h.reading(assetId, 'temperature', T0 + i * 1000, 95));
    const firing = await h.db.pool.query(`SELECT id FROM alerts WHERE asset_id = $1 AND status = 'firing'`, [
      assetId,
    ]);
    expect(firing.rows).toHaveLength(1);

    const sagaId = randomUUID();
    await h.deliver(request(assetId, sagaId, 'maintenance')); // not alert's step
    await h.deliver(request(assetId, sagaId));
    await h.deliver(request(assetId, sagaId)); // repeated: the same answer
    expect(await enabledRules(assetId)).toEqual([]);
    const answers = (await ofAsset(DISABLED, assetId)) as AssetAlertingDisabledData[];
    expect(answers).toHaveLength(2);
    expect(answers[0]).toMatchObject({ sagaId, ruleIds: profileRules, clearedAlerts: 1 });
    expect(answers[1]).toMatchObject({ sagaId, ruleIds: profileRules, clearedAlerts: 0 });
    const cleared = (await ofAsset(CLEARED, assetId)) as AlertClearedData[];
    expect(cleared).toEqual([expect.objectContaining({ cause: 'asset decommissioning' })]);
    // Readings meanwhile raise nothing.
    for (let i = 13; i <= 30; i++) await h.deliver(h.reading(assetId, 'temperature', T0 + i * 1000, 99));
    const open = await h.db.pool.query(`SELECT id FROM alerts WHERE asset_id = $1 AND status <> 'cleared'`, [
      assetId,
    ]);
    expect(open.rows).toEqual([]);

    await h.deliver(compensation(assetId, sagaId));
    await h.deliver(compensation(assetId, sagaId));
    expect(await enabledRules(assetId)).toEqual(profileRules);
    const restored = (await ofAsset(RESTORED, assetId)) as AssetAlertingRestoredData[];
    expect(restored.map((r) => r.ruleIds)).toEqual([profileRules, []]);
    const mine = await h.db.pool.query<{ enabled: boolean }>('SELECT enabled FROM rules WHERE id = $1', [
      byHand.id,
    ]);
    expect(mine.rows[0]?.enabled).toBe(false);
  });

  it('answers a compensation of a saga that disabled nothing', async () => {
    const assetId = await h.registerAsset('pump');
    const before = await enabledRules(assetId);
    await h.deliver(compensation(assetId, randomUUID()));
    expect(await enabledRules(assetId)).toEqual(before);
    expect((await ofAsset(RESTORED, assetId)) as AssetAlertingRestoredData[]).toMatchObject([
      { ruleIds: [] },
    ]);
  });
});
