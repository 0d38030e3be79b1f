import { randomUUID } from 'node:crypto';
import {
  type AlertClearedData,
  type EventEnvelope,
  OnboardingCompensationRequested,
  type OnboardingStep,
  OnboardingStepRequested,
} from '@assetops/contracts';
import { createEvent, uuidV7Ids } from '@assetops/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertRule } from '../src/rules/rule.store.js';
import { type AlertHarness, startAlert } from './support/harness.js';

const INITIALIZED = 'assetops.alert.thresholds-initialized.v1';
const REMOVED = 'assetops.alert.thresholds-removed.v1';
const T0 = Date.parse('2026-11-28T11:00:00.000Z');

// Alert's part in the onboarding saga: it confirms a new asset's thresholds, answers the saga's
// requests again, and removes the profile rules it created when the saga compensates.
describe('alert in the onboarding saga', () => {
  let h: AlertHarness;
  beforeAll(async () => {
    h = await startAlert();
  });
  afterAll(() => h?.close());

  const sagaId = randomUUID();
  const answers = async (assetId: string) =>
    (await h.outbox())
      .filter((e) => e.subject === assetId && (e.type === INITIALIZED || e.type === REMOVED))
      .map((e) => {
        const d = e.data as { ruleIds: string[]; sagaId?: string | null };
        return [e.type === INITIALIZED ? 'initialized' : 'removed', d.sagaId, d.ruleIds];
      });
  const profileRules = async (assetId: string) =>
    (
      await h.db.pool.query<{ id: string }>(
        `SELECT id FROM rules WHERE asset_id = $1 AND origin LIKE 'profile:%' ORDER BY created_at, id`,
        [assetId],
      )
    ).rows.map((r) => r.id);
  const request = (assetId: string, step: OnboardingStep, attempt = 2, assetType = 'pump') =>
    createEvent(
      OnboardingStepRequested,
      { sagaId, assetId, assetType, step, attempt },
      { subject: assetId, clock: h.clock, ids: uuidV7Ids },
    );
  const compensation = (assetId: string, step: OnboardingStep) =>
    createEvent(
      OnboardingCompensationRequested,
      {
        sagaId,
        assetId,
        assetType: 'pump',
        step,
        attempt: 1,
        reason: 'telemetry did not confirm after 3 attempts',
      },
      { subject: assetId, clock: h.clock, ids: uuidV7Ids },
    );

  it('confirms the thresholds of a registered asset, and again (same rules) on a repeated request', async () => {
    const asset = await h.registerAsset('pump');
    const rules = await profileRules(asset);
    expect(rules.length).toBeGreaterThan(0);
    await h.deliver(request(asset, 'alert'));
    await h.deliver(request(asset, 'telemetry'));
    await h.deliver(compensation(asset, 'telemetry'));
    expect(await profileRules(asset)).toEqual(rules);
    expect(await answers(asset)).toEqual([
      ['initialized', null, rules],
      ['initialized', sagaId, rules],
    ]);
  });

  it('creates the thresholds of an asset whose registration it missed', async () => {
    const asset = randomUUID();
    await h.deliver(request(asset, 'alert', 2, 'compressor'));
    const rules = await profileRules(asset);
    expect(rules.length).toBeGreaterThan(0);
    expect(await answers(asset)).toEqual([['initialized', sagaId, rules]]);
    const { rows } = await h.db.pool.query(
      'SELECT asset_type, status FROM known_assets WHERE asset_id = $1',
      [asset],
    );
    expect(rows).toEqual([{ asset_type: 'compressor', status: 'commissioning' }]);
  });

  it('removes the profile rules on compensation, clearing their alerts, and keeps the user’s rules', async () => {
    const asset = await h.registerAsset('pump');
    const rules = await profileRules(asset);
    const own = await insertRule(
      h.db.pool,
      randomUUID(),
      {
        name: 'mine',
        assetId: asset,
        metric: 'rpm',
        condition: { kind: 'above', threshold: 3000 },
        severity: 'info',
      },
      'user',
      h.clock.now(),
    );
    // The pump profile's bearing temperature rule (above 85 for 10 s) fires.
    for (let i = 0; i <= 12; i++) await h.deliver(h.reading(asset, 'temperature', T0 + i * 1000, 95));
    const { rows: firing } = await h.db.pool.query(
      `SELECT id FROM alerts WHERE asset_id = $1 AND status = 'firing'`,
      [asset],
    );
    expect(firing).toHaveLength(1);

    await h.deliver(compensation(asset, 'alert'));
    expect(await profileRules(asset)).toEqual([]);
    const { rows: left } = await h.db.pool.query('SELECT id FROM rules WHERE asset_id = $1', [asset]);
    expect(left.map((r) => r.id)).toEqual([own.id]);
    const { rows: open } = await h.db.pool.query(
      `SELECT id FROM alerts WHERE asset_id = $1 AND status <> 'cleared'`,
      [asset],
    );
    expect(open).toEqual([]);
    const cleared = (await h.outbox('assetops.alert.cleared.v1')).filter(
      (e: EventEnvelope) => e.subject === asset,
    );
    expect(cleared.map((e) => (e.data as AlertClearedData).cause)).toEqual(['onboarding undone']);

    // Idempotent: undoing again finds nothing and still answers.
    await h.deliver(compensation(asset, 'alert'));
    expect(await answers(asset)).toEqual([
      ['initialized', null, rules],
      ['removed', sagaId, rules],
      ['removed', sagaId, []],
    ]);

    // Commissioned again: a new onboarding's request creates the profile rules anew.
    await h.deliver(request(asset, 'alert', 1));
    const again = await profileRules(asset);
    expect(again).toHaveLength(rules.length);
    expect(again).not.toEqual(rules);
  });
});
