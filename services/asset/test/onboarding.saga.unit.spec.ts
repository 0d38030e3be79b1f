import type { AssetStatus } from '@assetops/contracts';
import { AppError } from '@assetops/platform';
import { describe, expect, it } from 'vitest';
import {
  decide,
  type OnboardingSaga,
  type SagaInput,
  type SagaTransition,
  startOnboarding,
  waitMs,
} from '../src/sagas/onboarding.saga.js';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const policy = { stepTimeoutMs: 30_000, maxAttempts: 3 };
const ids = { id: '01900000-0000-7000-8000-0000000000aa', assetId: '01900000-0000-7000-8000-000000000001' };

const at = (ms: number) => new Date(T0 + ms);

function started(how: 'registered' | 'recommissioned' = 'registered'): SagaTransition {
  return startOnboarding({ ...ids, correlationId: 'req-1' }, { now: at(0), policy }, how);
}

/** Feeds inputs one after the other (each at its own time); returns the last transition. */
function run(
  saga: OnboardingSaga,
  steps: [ms: number, input: SagaInput, assetStatus?: AssetStatus][],
): { saga: OnboardingSaga; last: SagaTransition | null } {
  let current = saga;
  let last: SagaTransition | null = null;
  for (const [ms, input, assetStatus] of steps) {
    last = decide(current, input, { now: at(ms), assetStatus: assetStatus ?? 'commissioning', policy });
    if (last) current = last.saga;
  }
  return { saga: current, last };
}

const confirmed = (step: 'telemetry' | 'alert'): SagaInput => ({ kind: 'StepConfirmed', step });
const compensated = (step: 'telemetry' | 'alert'): SagaInput => ({ kind: 'CompensationConfirmed', step });
const deadline: SagaInput = { kind: 'DeadlinePassed' };

/** The saga compensating after every attempt timed out: 30 s, then 60 s, then 120 s. */
function exhausted(): OnboardingSaga {
  return run(started().saga, [
    [30_000, deadline],
    [90_000, deadline],
    [210_000, deadline],
  ]).saga;
}

function refusal(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    return err as AppError;
  }
  throw new Error('expected a refusal');
}

describe('onboarding saga (decide)', () => {
  it('starts waiting for both steps; a registration requests nothing, a re-commissioning requests both', () => {
    const { saga, effects, history } = started();
    expect(saga).toMatchObject({
      status: 'running',
      step: 'telemetry',
      steps: { telemetry: 'pending', alert: 'pending' },
      attempts: 1,
      deadline: at(30_000).toISOString(),
      correlationId: 'req-1',
    });
    expect(effects).toEqual([]);
    expect(history.map((h) => [h.step, h.action, h.outcome])).toEqual([
      ['telemetry', 'initialize', 'requested'],
      ['alert', 'initialize', 'requested'],
    ]);
    expect(started('recommissioned').effects).toEqual([
      { kind: 'RequestStep', step: 'telemetry', attempt: 1 },
      { kind: 'RequestStep', step: 'alert', attempt: 1 },
    ]);
  });

  it('activates the asset once both steps confirmed, in either order', () => {
    for (const order of [
      ['telemetry', 'alert'],
      ['alert', 'telemetry'],
    ] as const) {
      const first = run(started().saga, [[1000, confirmed(order[0])]]);
      expect(first.saga).toMatchObject({ status: 'running', step: order[1] });
      expect(first.last?.effects).toEqual([]);
      const { saga, last } = run(first.saga, [[2000, confirmed(order[1])]]);
      expect(saga).toMatchObject({ status: 'completed', step: null, deadline: null });
      expect(last?.effects).toEqual([
        { kind: 'ChangeAssetStatus', to: 'active', reason: 'onboarding completed' },
      ]);
      expect(last?.history.at(-1)).toMatchObject({ step: 'asset', action: 'activate', outcome: 'done' });
    }
  });

  it('ignores duplicate and late confirmations', () => {
    const half = run(started().saga, [[1000, confirmed('telemetry')]]).saga;
    expect(
      decide(half, confirmed('telemetry'), { now: at(2000), assetStatus: 'commissioning', policy }),
    ).toBeNull();
    const done = run(half, [[2000, confirmed('alert')]]).saga;
    for (const input of [confirmed('alert'), compensated('alert'), deadline]) {
      expect(decide(done, input, { now: at(999_000), assetStatus: 'active', policy })).toBeNull();
    }
    // A confirmation arriving while compensating does not stop the compensation.
    expect(
      decide(exhausted(), confirmed('telemetry'), { now: at(211_000), assetStatus: 'commissioning', policy }),
    ).toBeNull();
  });

  it('does nothing before the deadline; then asks again for the unconfirmed steps only, waiting twice as long', () => {
    const half = run(started().saga, [[1000, confirmed('telemetry')]]).saga;
    expect(decide(half, deadline, { now: at(29_999), assetStatus: 'commissioning', policy })).toBeNull();
    const { saga, last } = run(half, [[30_000, deadline]]);
    expect(saga).toMatchObject({ status: 'running', attempts: 2, deadline: at(90_000).toISOString() });
    expect(last?.effects).toEqual([{ kind: 'RequestStep', step: 'alert', attempt: 2 }]);
    expect(last?.history.map((h) => [h.step, h.outcome, h.detail])).toEqual([
      ['alert', 'timed_out', { attempt: 1 }],
      ['alert', 'requested', { attempt: 2 }],
    ]);
    expect([1, 2, 3, 4, 5, 9].map((n) => waitMs(policy, n) / 1000)).toEqual([30, 60, 120, 240, 240, 240]);
  });

  it('compensates in reverse order after the last attempt, then marks the asset commissioning_failed', () => {
    const timedOut = run(started().saga, [
      [30_000, deadline],
      [90_000, deadline],
    ]).saga;
    const { saga, last } = run(timedOut, [[210_000, deadline]]);
    const reason = 'telemetry and alert did not confirm after 3 attempts';
    expect(saga).toMatchObject({
      status: 'compensating',
      step: 'alert',
      steps: { telemetry: 'pending', alert: 'compensating' },
      attempts: 1,
      reason,
    });
    expect(last?.effects).toEqual([{ kind: 'RequestCompensation', step: 'alert', attempt: 1, reason }]);

    const next = run(saga, [[211_000, compensated('alert')]]);
    expect(next.saga).toMatchObject({ status: 'compensating', step: 'telemetry', attempts: 1 });
    expect(next.last?.effects).toEqual([
      { kind: 'RequestCompensation', step: 'telemetry', attempt: 1, reason },
    ]);
    // A compensation confirmed out of turn, or twice, changes nothing.
    expect(
      decide(next.saga, compensated('alert'), { now: at(212_000), assetStatus: 'commissioning', policy }),
    ).toBeNull();

    const end = run(next.saga, [[212_000, compensated('telemetry')]]);
    expect(end.saga).toMatchObject({
      status: 'failed',
      step: null,
      deadline: null,
      steps: { telemetry: 'compensated', alert: 'compensated' },
    });
    expect(end.last?.effects).toEqual([
      { kind: 'ChangeAssetStatus', to: 'commissioning_failed', reason: `onboarding failed: ${reason}` },
    ]);
  });

  it('asks for attention when a compensation does not confirm; retry and skip go on from there', () => {
    const stuck = run(exhausted(), [
      [240_000, deadline],
      [300_000, deadline],
      [420_000, deadline],
    ]);
    expect(stuck.saga).toMatchObject({ status: 'needs_attention', step: 'alert', deadline: null });
    expect(stuck.saga.attention).toContain('compensation of alert did not confirm after 3 attempts');
    // Onboarding has failed whatever becomes of the clean-up.
    expect(stuck.last?.effects).toEqual([
      {
        kind: 'ChangeAssetStatus',
        to: 'commissioning_failed',
        reason: expect.stringContaining('onboarding failed'),
      },
    ]);
    expect(
      decide(stuck.saga, deadline, { now: at(999_000), assetStatus: 'commissioning_failed', policy }),
    ).toBeNull();

    const retried = run(stuck.saga, [[500_000, { kind: 'Retry' }, 'commissioning_failed']]);
    expect(retried.saga).toMatchObject({
      status: 'compensating',
      step: 'alert',
      attempts: 1,
      attention: null,
    });
    expect(retried.last?.effects).toEqual([
      { kind: 'RequestCompensation', step: 'alert', attempt: 1, reason: expect.any(String) },
    ]);

    const skipped = run(stuck.saga, [[500_000, { kind: 'Skip' }, 'commissioning_failed']]);
    expect(skipped.saga).toMatchObject({
      status: 'compensating',
      step: 'telemetry',
      steps: { alert: 'skipped', telemetry: 'compensating' },
    });
    const end = run(skipped.saga, [[501_000, compensated('telemetry'), 'commissioning_failed']]);
    expect(end.saga.status).toBe('failed');
    // Already commissioning_failed: recorded, not changed again.
    expect(end.last?.effects).toEqual([]);
    expect(end.last?.history.at(-1)).toMatchObject({
      step: 'asset',
      action: 'mark_failed',
      outcome: 'unchanged',
    });
  });

  it('accepts a late compensation confirmation while waiting for a person', () => {
    const stuck = run(exhausted(), [
      [240_000, deadline],
      [300_000, deadline],
      [420_000, deadline],
    ]).saga;
    const { saga } = run(stuck, [[430_000, compensated('alert'), 'commissioning_failed']]);
    expect(saga).toMatchObject({ status: 'compensating', step: 'telemetry', attention: null });
  });

  it('refuses retry and skip unless the saga needs attention', () => {
    for (const kind of ['Retry', 'Skip'] as const) {
      const err = refusal(() =>
        decide(started().saga, { kind }, { now: at(1), assetStatus: 'commissioning', policy }),
      );
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ code: 'SAGA_NOT_NEEDING_ATTENTION', status: 409 });
    }
  });

  it('leaves an asset moved by hand alone: completes without a status change', () => {
    const { saga, last } = run(started().saga, [
      [1000, confirmed('telemetry'), 'decommissioning'],
      [2000, confirmed('alert'), 'decommissioning'],
    ]);
    expect(saga.status).toBe('completed');
    expect(last?.effects).toEqual([]);
    expect(last?.history.at(-1)).toMatchObject({
      step: 'asset',
      action: 'activate',
      outcome: 'unchanged',
      detail: { assetStatus: 'decommissioning' },
    });
  });

  it('undoes nothing on an asset put to work by hand: needs attention, and skip completes it', () => {
    const stuck = run(started().saga, [
      [30_000, deadline, 'active'],
      [90_000, deadline, 'active'],
      [210_000, deadline, 'active'],
    ]);
    expect(stuck.saga).toMatchObject({ status: 'needs_attention', step: 'telemetry', reason: null });
    expect(stuck.saga.attention).toContain('made active by hand');
    expect(stuck.last?.effects).toEqual([]);
    const retried = run(stuck.saga, [[300_000, { kind: 'Retry' }, 'active']]);
    expect(retried.saga).toMatchObject({ status: 'running', attempts: 1 });
    expect(retried.last?.effects.map((e) => e.kind)).toEqual(['RequestStep', 'RequestStep']);
    const skipped = run(stuck.saga, [[300_000, { kind: 'Skip' }, 'active']]);
    expect(skipped.saga).toMatchObject({
      status: 'completed',
      steps: { telemetry: 'skipped', alert: 'skipped' },
    });
    expect(skipped.last?.effects).toEqual([]);
  });
});
