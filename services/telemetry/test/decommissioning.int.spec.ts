import { randomUUID } from 'node:crypto';
import {
  DecommissioningCompensationRequested,
  type DecommissioningStep,
  DecommissioningStepRequested,
  type EventEnvelope,
  OnboardingCompensationRequested,
  type TelemetryIngestionStoppedData,
} from '@assetops/contracts';
import { createEvent, uuidV7Ids } from '@assetops/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelemetry, type TelemetryHarness } from './support/harness.js';

const STOPPED = 'assetops.telemetry.ingestion-stopped.v1';
const REOPENED = 'assetops.telemetry.ingestion-reopened.v1';

// Telemetry's part in the decommissioning saga: it holds the asset's readings back (rejected with a
// reason) and lifts exactly its own hold when the saga is called off.
describe('telemetry in the decommissioning saga', () => {
  let t: TelemetryHarness;
  beforeAll(async () => {
    t = await startTelemetry({ now: '2026-11-28T12:00:00.000Z' });
  });
  afterAll(() => t?.close());

  const request = (assetId: string, sagaId: string, step: DecommissioningStep = 'telemetry') =>
    createEvent(
      DecommissioningStepRequested,
      { sagaId, assetId, assetType: 'pump', step, attempt: 1, force: false, note: null },
      { subject: assetId, clock: t.clock, ids: uuidV7Ids },
    );
  const compensation = (assetId: string, sagaId: string) =>
    createEvent(
      DecommissioningCompensationRequested,
      { sagaId, assetId, assetType: 'pump', step: 'telemetry', attempt: 1, reason: 'called off' },
      { subject: assetId, clock: t.clock, ids: uuidV7Ids },
    );
  const answers = async (assetId: string) => {
    const { rows } = await t.db.pool.query<{ event: EventEnvelope<TelemetryIngestionStoppedData> }>(
      'SELECT event FROM outbox WHERE type = ANY($1::text[]) AND subject = $2 ORDER BY position',
      [[STOPPED, REOPENED], assetId],
    );
    return rows.map((r) => [r.event.type === STOPPED ? 'stopped' : 'reopened', r.event.data.sagaId]);
  };
  const reading = async (assetId: string) => {
    const result = await t.ingest([{ assetId, metric: 'rpm', value: 1480 }]);
    return result.accepted === 1 ? 'accepted' : result.rejected[0];
  };

  it('rejects the asset’s readings while held, and accepts them again once the saga is called off', async () => {
    const assetId = await t.registerAsset();
    expect(await reading(assetId)).toBe('accepted');
    const sagaId = randomUUID();
    await t.deliver(request(assetId, sagaId, 'alert')); // not telemetry's step
    await t.deliver(request(assetId, sagaId));
    await t.deliver(request(assetId, sagaId));
    expect(await answers(assetId)).toEqual([
      ['stopped', sagaId],
      ['stopped', sagaId],
    ]);
    expect(await reading(assetId)).toMatchObject({
      code: 'ASSET_DECOMMISSIONING',
      reason: expect.stringContaining('being decommissioned'),
    });

    // Another saga's compensation lifts nothing.
    await t.deliver(compensation(assetId, randomUUID()));
    expect(await reading(assetId)).toMatchObject({ code: 'ASSET_DECOMMISSIONING' });
    await t.deliver(compensation(assetId, sagaId));
    await t.deliver(compensation(assetId, sagaId));
    expect((await answers(assetId)).slice(2)).toEqual([
      ['reopened', expect.any(String)],
      ['reopened', sagaId],
      ['reopened', sagaId],
    ]);
    expect(await reading(assetId)).toBe('accepted');
  });

  it('does not reopen what onboarding closed, and says decommissioned once it is', async () => {
    const assetId = await t.registerAsset();
    await t.deliver(
      createEvent(
        OnboardingCompensationRequested,
        { sagaId: randomUUID(), assetId, assetType: 'pump', step: 'telemetry', attempt: 1, reason: 'failed' },
        { subject: assetId, clock: t.clock, ids: uuidV7Ids },
      ),
    );
    const sagaId = randomUUID();
    await t.deliver(request(assetId, sagaId));
    await t.deliver(compensation(assetId, sagaId));
    expect(await reading(assetId)).toMatchObject({ code: 'INGESTION_CLOSED' });

    const held = await t.registerAsset();
    await t.deliver(request(held, randomUUID()));
    await t.changeStatus(held, 'decommissioned');
    expect(await reading(held)).toMatchObject({ code: 'ASSET_DECOMMISSIONED' });
  });
});
