import { randomUUID } from 'node:crypto';
import {
  type EventEnvelope,
  OnboardingCompensationRequested,
  type OnboardingStep,
  OnboardingStepRequested,
  type TelemetryStreamInitializedData,
} from '@assetops/contracts';
import { createEvent, uuidV7Ids } from '@assetops/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelemetry, type TelemetryHarness } from './support/harness.js';

const INITIALIZED = 'assetops.telemetry.stream-initialized.v1';
const CLOSED = 'assetops.telemetry.stream-closed.v1';

// Telemetry's part in the onboarding saga: it confirms a registered asset's stream, answers the
// saga's requests again, and closes ingestion when the saga compensates.
describe('telemetry in the onboarding saga', () => {
  let t: TelemetryHarness;
  beforeAll(async () => {
    t = await startTelemetry({ now: '2026-11-28T12:00:00.000Z' });
  });
  afterAll(() => t?.close());

  const sagaId = randomUUID();
  const answers = async (assetId: string) => {
    const { rows } = await t.db.pool.query<{ event: EventEnvelope<TelemetryStreamInitializedData> }>(
      'SELECT event FROM outbox WHERE type = ANY($1::text[]) AND subject = $2 ORDER BY position',
      [[INITIALIZED, CLOSED], assetId],
    );
    return rows.map((r) => [r.event.type === INITIALIZED ? 'initialized' : 'closed', r.event.data.sagaId]);
  };
  const request = (assetId: string, step: OnboardingStep, attempt = 2) =>
    createEvent(
      OnboardingStepRequested,
      { sagaId, assetId, assetType: 'pump', step, attempt },
      { subject: assetId, clock: t.clock, ids: uuidV7Ids },
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
        reason: 'alert did not confirm after 3 attempts',
      },
      { subject: assetId, clock: t.clock, ids: uuidV7Ids },
    );
  const readingCode = async (assetId: string) => {
    const result = await t.ingest([{ assetId, metric: 'rpm', value: 1480 }]);
    return result.accepted === 1 ? 'accepted' : result.rejected[0]?.code;
  };

  it('confirms a registered asset’s stream, caused by its registration', async () => {
    const asset = await t.registerAsset();
    expect(await answers(asset)).toEqual([['initialized', null]]);
    const { rows } = await t.db.pool.query<{ event: EventEnvelope }>(
      'SELECT event FROM outbox WHERE type = $1 AND subject = $2',
      [INITIALIZED, asset],
    );
    expect(rows[0]?.event.causationid).toBeDefined();
    expect(await readingCode(asset)).toBe('accepted');
  });

  it('answers a repeated request again, and ignores the other participant’s steps', async () => {
    const asset = await t.registerAsset();
    await t.deliver(request(asset, 'telemetry'));
    await t.deliver(request(asset, 'telemetry', 3));
    await t.deliver(request(asset, 'alert'));
    await t.deliver(compensation(asset, 'alert'));
    expect(await answers(asset)).toEqual([
      ['initialized', null],
      ['initialized', sagaId],
      ['initialized', sagaId],
    ]);
    expect(await readingCode(asset)).toBe('accepted');
  });

  it('learns an asset whose registration it missed from the saga’s request', async () => {
    const asset = randomUUID();
    expect(await readingCode(asset)).toBe('UNKNOWN_ASSET');
    await t.deliver(request(asset, 'telemetry'));
    expect(await answers(asset)).toEqual([['initialized', sagaId]]);
    expect(await readingCode(asset)).toBe('accepted');
  });

  it('closes ingestion on compensation (idempotent) and opens it again on a new request', async () => {
    const asset = await t.registerAsset();
    expect(await readingCode(asset)).toBe('accepted');
    await t.deliver(compensation(asset, 'telemetry'));
    expect(await readingCode(asset)).toBe('INGESTION_CLOSED');
    await t.deliver(compensation(asset, 'telemetry'));
    expect(await readingCode(asset)).toBe('INGESTION_CLOSED');
    expect(await answers(asset)).toEqual([
      ['initialized', null],
      ['closed', sagaId],
      ['closed', sagaId],
    ]);
    // Commissioned again: a new onboarding asks for the stream, and readings are accepted again.
    await t.deliver(request(asset, 'telemetry', 1));
    expect(await readingCode(asset)).toBe('accepted');
  });
});
