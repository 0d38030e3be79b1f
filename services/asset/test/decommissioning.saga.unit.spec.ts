import type { AssetStatus, DecommissioningStep } from '@assetops/contracts';
import type { AppError } from '@assetops/platform';
import { describe, expect, it } from 'vitest';
import {
  type DecommissioningInput,
  type DecommissioningSagaInput,
  type DecommissioningTransition,
  decideDecommissioning,
  startDecommissioning,
} from '../src/sagas/decommissioning.saga.js';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const policy = { stepTimeoutMs: 30_000, maxAttempts: 3 };
const ids = {
  id: '01900000-0000-7000-8000-0000000000bb',
  assetId: '01900000-0000-7000-8000-000000000002',
  correlationId: 'req-9',
};
const at = (ms: number) => new Date(T0 + ms);

type Step = [ms: number, input: DecommissioningSagaInput, assetStatus?: AssetStatus];

/**
 * given(inputs already applied).when(input).thenCheck(…): the saga after the given inputs (each at its
 * own time, asset in `decommissioning` unless said), then the transition of the one under test.
 */
function given(steps: Step[] = [], input: Partial<DecommissioningInput> = {}) {
  let saga = startDecommissioning(
    ids,
    { force: false, note: null, formerStatus: 'active', ...input },
    { now: at(0), policy },
  ).saga;
  for (const [ms, next, assetStatus] of steps) {
    const t = decideDecommissioning(saga, next, {
      now: at(ms),
      assetStatus: assetStatus ?? 'decommissioning',
      policy,
    });
    if (t) saga = t.saga;
  }
  return {
    saga,
    when(next: DecommissioningSagaInput, ms: number, assetStatus: AssetStatus = 'decommissioning') {
      const transition = decideDecommissioning(saga, next, { now: at(ms), assetStatus, policy });
      return {
        thenCheck(check: (t: DecommissioningTransition | null) => void) {
          check(transition);
        },
      };
    },
  };
}

const confirmed = (step: DecommissioningStep): DecommissioningSagaInput => ({ kind: 'StepConfirmed', step });
const compensated = (step: DecommissioningStep): DecommissioningSagaInput => ({
  kind: 'CompensationConfirmed',
  step,
});
const refused: DecommissioningSagaInput = {
  kind: 'StepRefused',
  step: 'maintenance',
  reason: 'a work order is in progress',
};
const deadline: DecommissioningSagaInput = { kind: 'DeadlinePassed' };
/** Every attempt at the alert step timed out (30 s, 60 s, 120 s after maintenance confirmed at 1 s). */
const alertExhausted: Step[] = [
  [1_000, confirmed('maintenance')],
  [31_000, deadline],
  [91_000, deadline],
];
const ALERT_GAVE_UP_AT = 211_000;

function refusalOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    return err as AppError;
  }
  throw new Error('expected a refusal');
}

describe('decommissioning saga (decide)', () => {
  it('starts by holding the asset and asking maintenance first', () => {
    const t = startDecommissioning(
      ids,
      { force: true, note: 'replaced by pump 7', formerStatus: 'maintenance' },
      { now: at(0), policy },
    );
    expect(t.saga).toMatchObject({
      type: 'decommissioning',
      status: 'running',
      step: 'maintenance',
      steps: { maintenance: 'pending', alert: 'pending', telemetry: 'pending' },
      attempts: 1,
      deadline: at(30_000).toISOString(),
      input: { force: true, note: 'replaced by pump 7', formerStatus: 'maintenance' },
    });
    expect(t.effects).toEqual([
      { kind: 'ChangeAssetStatus', to: 'decommissioning', reason: 'decommissioning: replaced by pump 7' },
      { kind: 'RequestStep', step: 'maintenance', attempt: 1 },
    ]);
    // An asset already put in decommissioning by hand is not moved again.
    const held = startDecommissioning(
      ids,
      { force: false, note: null, formerStatus: 'decommissioning' },
      { now: at(0), policy },
    );
    expect(held.effects).toEqual([{ kind: 'RequestStep', step: 'maintenance', attempt: 1 }]);
  });

  it('runs the steps one at a time, then decommissions the asset', () => {
    given()
      .when(confirmed('maintenance'), 1_000)
      .thenCheck((t) => {
        expect(t?.saga).toMatchObject({ step: 'alert', attempts: 1, deadline: at(31_000).toISOString() });
        expect(t?.effects).toEqual([{ kind: 'RequestStep', step: 'alert', attempt: 1 }]);
      });
    given([
      [1_000, confirmed('maintenance')],
      [2_000, confirmed('alert')],
    ])
      .when(confirmed('telemetry'), 3_000)
      .thenCheck((t) => {
        expect(t?.saga).toMatchObject({ status: 'completed', step: null, deadline: null });
        expect(t?.effects).toEqual([
          { kind: 'ChangeAssetStatus', to: 'decommissioned', reason: 'decommissioning completed' },
        ]);
        expect(t?.history.at(-1)).toMatchObject({ step: 'asset', action: 'decommission', outcome: 'done' });
      });
  });

  it('ignores duplicate, early and late answers', () => {
    given([[1_000, confirmed('maintenance')]])
      .when(confirmed('maintenance'), 2_000)
      .thenCheck((t) => expect(t).toBeNull());
    given()
      .when(confirmed('telemetry'), 2_000)
      .thenCheck((t) => expect(t).toBeNull());
    given()
      .when(compensated('maintenance'), 2_000)
      .thenCheck((t) => expect(t).toBeNull());
    given()
      .when(deadline, 29_999)
      .thenCheck((t) => expect(t).toBeNull());
  });

  it('on a refusal, has nothing to undo and restores the former status with the reason', () => {
    given()
      .when(refused, 1_000)
      .thenCheck((t) => {
        const reason = 'maintenance refused: a work order is in progress';
        expect(t?.saga).toMatchObject({
          status: 'failed',
          step: null,
          reason,
          steps: { maintenance: 'refused', alert: 'pending', telemetry: 'pending' },
        });
        expect(t?.effects).toEqual([
          { kind: 'ChangeAssetStatus', to: 'active', reason: `decommissioning called off: ${reason}` },
        ]);
      });
  });

  it('asks again with a doubled wait, then compensates from the step that timed out, in reverse order', () => {
    given([[1_000, confirmed('maintenance')]])
      .when(deadline, 31_000)
      .thenCheck((t) => {
        expect(t?.saga).toMatchObject({ step: 'alert', attempts: 2, deadline: at(91_000).toISOString() });
        expect(t?.effects).toEqual([{ kind: 'RequestStep', step: 'alert', attempt: 2 }]);
      });
    const reason = 'alert did not confirm after 3 attempts';
    given(alertExhausted)
      .when(deadline, ALERT_GAVE_UP_AT)
      .thenCheck((t) => {
        expect(t?.saga).toMatchObject({ status: 'compensating', step: 'alert', attempts: 1, reason });
        expect(t?.effects).toEqual([{ kind: 'RequestCompensation', step: 'alert', attempt: 1, reason }]);
      });
    given([...alertExhausted, [ALERT_GAVE_UP_AT, deadline]])
      .when(compensated('alert'), ALERT_GAVE_UP_AT + 1_000)
      .thenCheck((t) => {
        expect(t?.saga).toMatchObject({ status: 'compensating', step: 'maintenance' });
        expect(t?.effects).toEqual([
          { kind: 'RequestCompensation', step: 'maintenance', attempt: 1, reason },
        ]);
      });
    given([...alertExhausted, [ALERT_GAVE_UP_AT, deadline], [ALERT_GAVE_UP_AT + 1_000, compensated('alert')]])
      .when(compensated('maintenance'), ALERT_GAVE_UP_AT + 2_000)
      .thenCheck((t) => {
        expect(t?.saga).toMatchObject({
          status: 'failed',
          steps: { maintenance: 'compensated', alert: 'compensated', telemetry: 'pending' },
        });
        expect(t?.effects).toEqual([
          { kind: 'ChangeAssetStatus', to: 'active', reason: `decommissioning called off: ${reason}` },
        ]);
      });
  });

  it('needs attention when a compensation does not confirm; retry asks again, skip goes on', () => {
    const stuck: Step[] = [
      ...alertExhausted,
      [ALERT_GAVE_UP_AT, deadline],
      [ALERT_GAVE_UP_AT + 30_000, deadline],
      [ALERT_GAVE_UP_AT + 90_000, deadline],
    ];
    given(stuck)
      .when(deadline, ALERT_GAVE_UP_AT + 210_000)
      .thenCheck((t) => {
        expect(t?.saga).toMatchObject({ status: 'needs_attention', step: 'alert', deadline: null });
        expect(t?.saga.attention).toContain('compensation of alert did not confirm after 3 attempts');
        expect(t?.effects).toEqual([]); // the asset stays in decommissioning meanwhile
      });
    const attention: Step[] = [...stuck, [ALERT_GAVE_UP_AT + 210_000, deadline]];
    given(attention)
      .when({ kind: 'Retry' }, ALERT_GAVE_UP_AT + 300_000)
      .thenCheck((t) => {
        expect(t?.saga).toMatchObject({
          status: 'compensating',
          step: 'alert',
          attempts: 1,
          attention: null,
        });
        expect(t?.effects).toMatchObject([{ kind: 'RequestCompensation', step: 'alert', attempt: 1 }]);
      });
    given(attention)
      .when({ kind: 'Skip' }, ALERT_GAVE_UP_AT + 300_000)
      .thenCheck((t) => {
        expect(t?.saga).toMatchObject({
          status: 'compensating',
          step: 'maintenance',
          steps: { maintenance: 'compensating', alert: 'skipped' },
        });
      });
    // A late confirmation ends the wait for a person too.
    given(attention)
      .when(compensated('alert'), ALERT_GAVE_UP_AT + 300_000)
      .thenCheck((t) => expect(t?.saga).toMatchObject({ status: 'compensating', step: 'maintenance' }));
  });

  it('refuses retry and skip outside needs_attention', () => {
    const { saga } = given();
    const err = refusalOf(() =>
      decideDecommissioning(saga, { kind: 'Skip' }, { now: at(1), assetStatus: 'decommissioning', policy }),
    );
    expect(err).toMatchObject({ code: 'SAGA_NOT_NEEDING_ATTENTION', status: 409 });
  });

  it('leaves an asset moved by hand meanwhile alone', () => {
    given([
      [1_000, confirmed('maintenance')],
      [2_000, confirmed('alert')],
    ])
      .when(confirmed('telemetry'), 3_000, 'active')
      .thenCheck((t) => {
        expect(t?.saga.status).toBe('completed');
        expect(t?.effects).toEqual([]);
        expect(t?.history.at(-1)).toMatchObject({ outcome: 'unchanged', detail: { assetStatus: 'active' } });
      });
    given()
      .when(refused, 1_000, 'maintenance')
      .thenCheck((t) => {
        expect(t?.saga.status).toBe('failed');
        expect(t?.effects).toEqual([]);
      });
  });
});
