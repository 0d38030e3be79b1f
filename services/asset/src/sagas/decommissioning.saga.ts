import {
  type AssetStatus,
  type DecommissioningStep,
  DecommissioningSteps,
  type SagaAction,
  type SagaStatus,
  type SagaStepStatus,
} from '@assetops/contracts';
import { deadlineAfter, mustNeedAttention, type SagaPolicy } from './saga.kit.js';

/**
 * The decommissioning saga of one asset, orchestrated by the Asset service. Each step is an action
 * and its compensation, side by side:
 *
 * | step          | action (participant)                                         | compensation                            |
 * |---------------|--------------------------------------------------------------|-----------------------------------------|
 * | `maintenance` | cancel unfinished work orders, deactivate plans — or REFUSE   | reactivate exactly the plans it stopped |
 * |               | while work is in progress (unless `force`)                    | (cancelled work orders stay cancelled)  |
 * | `alert`       | disable the asset's rules, clear its active alerts           | re-enable exactly the rules it disabled |
 * | `telemetry`   | hold the asset's readings back (`ASSET_DECOMMISSIONING`)     | lift the hold                           |
 *
 * The steps run one at a time in that order. Maintenance goes first because it is the one that
 * may refuse: a refusal then costs nothing to undo (no alert cleared, no reading lost). Alert goes
 * before Telemetry so that stopping readings cannot trip a no-data rule; compensation, in reverse
 * order, reopens ingestion before the rules come back for the same reason.
 *
 * The request moves the asset to `decommissioning` at once; all confirmed → `decommissioned`. A
 * refusal, or a step that does not confirm after `maxAttempts` requests (each wait twice as long as
 * the one before), calls the saga off: the steps reached are compensated in reverse order — the
 * one that timed out included, since its request may still be acted on — and the asset goes back
 * to the status it had, with the reason on the saga and in the asset's status reason. A
 * compensation that does not confirm leaves the saga in `needs_attention` (retry or skip) and the
 * asset in `decommissioning` until it is resolved.
 *
 * A person who moves the asset out of `decommissioning` meanwhile is not overruled: the saga still
 * sees its steps through but leaves the asset's status alone (history `unchanged`).
 *
 * Pure: time, the asset's status and the policy come in through {@link DecommissioningContext}.
 */
export interface DecommissioningSaga {
  id: string;
  type: 'decommissioning';
  assetId: string;
  status: SagaStatus;
  /** The step waited on (requested, or being compensated); null when over. */
  step: DecommissioningStep | null;
  steps: Record<DecommissioningStep, SagaStepStatus>;
  attempts: number;
  deadline: string | null;
  /** Why the saga was called off (a refusal, a timeout). */
  reason: string | null;
  attention: string | null;
  correlationId: string | null;
  input: DecommissioningInput;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** What the saga was started with. */
export interface DecommissioningInput {
  force: boolean;
  /** The reason the person gave, if any. */
  note: string | null;
  /** The asset's status before, restored when the saga is called off. */
  formerStatus: AssetStatus;
}

export interface DecommissioningContext {
  now: Date;
  /** The asset's status when the input is decided on (the asset row is locked). */
  assetStatus: AssetStatus;
  policy: SagaPolicy;
}

export type DecommissioningSagaInput =
  | { kind: 'StepConfirmed'; step: DecommissioningStep; detail?: Record<string, unknown> }
  | { kind: 'StepRefused'; step: DecommissioningStep; reason: string; detail?: Record<string, unknown> }
  | { kind: 'CompensationConfirmed'; step: DecommissioningStep; detail?: Record<string, unknown> }
  | { kind: 'DeadlinePassed' }
  | { kind: 'Retry' }
  | { kind: 'Skip' };

export type DecommissioningEffect =
  | { kind: 'RequestStep'; step: DecommissioningStep; attempt: number }
  | { kind: 'RequestCompensation'; step: DecommissioningStep; attempt: number; reason: string }
  | { kind: 'ChangeAssetStatus'; to: AssetStatus; reason: string };

export interface DecommissioningHistoryItem {
  step: DecommissioningStep | 'asset';
  action: 'execute' | 'compensate' | 'hold' | 'decommission' | 'restore';
  outcome: 'requested' | 'confirmed' | 'refused' | 'timed_out' | 'retried' | 'skipped' | 'done' | 'unchanged';
  detail: Record<string, unknown> | null;
}

export interface DecommissioningTransition {
  saga: DecommissioningSaga;
  effects: DecommissioningEffect[];
  history: DecommissioningHistoryItem[];
}

/** The asset's status reason once decommissioned, when the person gave none. */
export const DECOMMISSIONED_REASON = 'decommissioning completed';

/** Statuses an asset may be decommissioned from (the lifecycle's edges into `decommissioning`). */
export const DECOMMISSIONABLE: readonly AssetStatus[] = [
  'commissioning',
  'commissioning_failed',
  'active',
  'maintenance',
  'decommissioning',
];

/** What a person may do about the saga now. */
export function decommissioningActions(saga: DecommissioningSaga): SagaAction[] {
  return saga.status === 'needs_attention' ? ['retry', 'skip'] : [];
}

/**
 * A new decommissioning saga: the asset moves to `decommissioning` and Maintenance is asked first.
 * The caller has checked that the asset may be decommissioned (see {@link DECOMMISSIONABLE}).
 */
export function startDecommissioning(
  ids: { id: string; assetId: string; correlationId: string | null },
  input: DecommissioningInput,
  ctx: Pick<DecommissioningContext, 'now' | 'policy'>,
): DecommissioningTransition {
  const at = ctx.now.toISOString();
  const first = DecommissioningSteps[0];
  const saga: DecommissioningSaga = {
    id: ids.id,
    type: 'decommissioning',
    assetId: ids.assetId,
    status: 'running',
    step: first,
    steps: { maintenance: 'pending', alert: 'pending', telemetry: 'pending' },
    attempts: 1,
    deadline: deadlineAfter(ctx, 1),
    reason: null,
    attention: null,
    correlationId: ids.correlationId,
    input,
    version: 1,
    createdAt: at,
    updatedAt: at,
  };
  const t: DecommissioningTransition = { saga, effects: [], history: [] };
  if (input.formerStatus !== 'decommissioning') {
    const reason = input.note ? `decommissioning: ${input.note}` : 'decommissioning requested';
    t.effects.push({ kind: 'ChangeAssetStatus', to: 'decommissioning', reason });
    t.history.push(entry('asset', 'hold', 'done', { from: input.formerStatus }));
  }
  t.effects.push({ kind: 'RequestStep', step: first, attempt: 1 });
  t.history.push(entry(first, 'execute', 'requested', { attempt: 1, force: input.force }));
  return t;
}

/**
 * Decides what an input does to a saga: the next state, the effects and the history entries, or
 * null when it changes nothing (a duplicate or late answer, a deadline not yet reached), so every
 * input may be delivered more than once. Retry and skip outside `needs_attention` are refused.
 */
export function decideDecommissioning(
  saga: DecommissioningSaga,
  input: DecommissioningSagaInput,
  ctx: DecommissioningContext,
): DecommissioningTransition | null {
  switch (input.kind) {
    case 'StepConfirmed': {
      if (!awaitingStep(saga, input.step)) return null;
      const t = begin(saga, ctx);
      t.saga.steps[input.step] = 'done';
      t.history.push(
        entry(input.step, 'execute', 'confirmed', { attempt: saga.attempts, ...(input.detail ?? {}) }),
      );
      const next = DecommissioningSteps[DecommissioningSteps.indexOf(input.step) + 1];
      if (next === undefined) return complete(t, ctx);
      return requestStep(t, next, ctx);
    }
    case 'StepRefused': {
      if (!awaitingStep(saga, input.step)) return null;
      const t = begin(saga, ctx);
      // A refusal changed nothing on the participant's side: there is nothing of it to undo.
      t.saga.steps[input.step] = 'refused';
      t.saga.reason = `${input.step} refused: ${input.reason}`.slice(0, 1000);
      t.history.push(
        entry(input.step, 'execute', 'refused', {
          attempt: saga.attempts,
          reason: input.reason,
          ...(input.detail ?? {}),
        }),
      );
      return compensateBefore(t, input.step, ctx);
    }
    case 'CompensationConfirmed': {
      if (saga.step !== input.step || saga.steps[input.step] !== 'compensating') return null;
      const t = begin(saga, ctx);
      t.saga.steps[input.step] = 'compensated';
      t.saga.attention = null; // a late confirmation ends a wait for a person
      t.history.push(
        entry(input.step, 'compensate', 'confirmed', { attempt: saga.attempts, ...(input.detail ?? {}) }),
      );
      return compensateBefore(t, input.step, ctx);
    }
    case 'DeadlinePassed': {
      if (saga.deadline === null || Date.parse(saga.deadline) > ctx.now.getTime()) return null;
      if (saga.status === 'running') return stepTimedOut(saga, ctx);
      if (saga.status === 'compensating') return compensationTimedOut(saga, ctx);
      return null;
    }
    case 'Retry': {
      mustNeedAttention(saga, 'retry');
      const step = saga.step!;
      const t = begin(saga, ctx);
      t.saga.status = 'compensating';
      t.saga.attempts = 1;
      t.saga.deadline = deadlineAfter(ctx, 1);
      t.saga.attention = null;
      t.history.push(entry(step, 'compensate', 'retried', null));
      t.history.push(entry(step, 'compensate', 'requested', { attempt: 1 }));
      t.effects.push({ kind: 'RequestCompensation', step, attempt: 1, reason: saga.reason ?? '' });
      return t;
    }
    case 'Skip': {
      mustNeedAttention(saga, 'skip');
      const step = saga.step!;
      const t = begin(saga, ctx);
      t.saga.attention = null;
      t.saga.steps[step] = 'skipped';
      t.history.push(entry(step, 'compensate', 'skipped', null));
      return compensateBefore(t, step, ctx);
    }
  }
}

/** Whether the saga waits for `step`'s action (not for its compensation, not for a person). */
function awaitingStep(saga: DecommissioningSaga, step: DecommissioningStep): boolean {
  return saga.status === 'running' && saga.step === step && saga.steps[step] === 'pending';
}

function stepTimedOut(saga: DecommissioningSaga, ctx: DecommissioningContext): DecommissioningTransition {
  const t = begin(saga, ctx);
  const step = saga.step!;
  t.history.push(entry(step, 'execute', 'timed_out', { attempt: saga.attempts }));
  if (saga.attempts < ctx.policy.maxAttempts) {
    const attempt = saga.attempts + 1;
    t.saga.attempts = attempt;
    t.saga.deadline = deadlineAfter(ctx, attempt);
    t.history.push(entry(step, 'execute', 'requested', { attempt }));
    t.effects.push({ kind: 'RequestStep', step, attempt });
    return t;
  }
  t.saga.reason = `${step} did not confirm after ${saga.attempts} attempts`;
  // The participant may still act on a request it has not answered: undo it too, after it (the
  // requests of one asset reach a participant in order).
  return requestCompensation(t, step, ctx);
}

function compensationTimedOut(
  saga: DecommissioningSaga,
  ctx: DecommissioningContext,
): DecommissioningTransition {
  const t = begin(saga, ctx);
  const step = saga.step!;
  t.history.push(entry(step, 'compensate', 'timed_out', { attempt: saga.attempts }));
  if (saga.attempts < ctx.policy.maxAttempts) {
    const attempt = saga.attempts + 1;
    t.saga.attempts = attempt;
    t.saga.deadline = deadlineAfter(ctx, attempt);
    t.history.push(entry(step, 'compensate', 'requested', { attempt }));
    t.effects.push({ kind: 'RequestCompensation', step, attempt, reason: saga.reason ?? '' });
    return t;
  }
  t.saga.status = 'needs_attention';
  t.saga.deadline = null;
  // The asset stays in decommissioning: it is neither out of service nor fully back in it.
  t.saga.attention = `compensation of ${step} did not confirm after ${saga.attempts} attempts: retry it, or skip it once undone by hand`;
  return t;
}

function requestStep(
  t: DecommissioningTransition,
  step: DecommissioningStep,
  ctx: DecommissioningContext,
): DecommissioningTransition {
  t.saga.step = step;
  t.saga.attempts = 1;
  t.saga.deadline = deadlineAfter(ctx, 1);
  t.history.push(entry(step, 'execute', 'requested', { attempt: 1 }));
  t.effects.push({ kind: 'RequestStep', step, attempt: 1 });
  return t;
}

function requestCompensation(
  t: DecommissioningTransition,
  step: DecommissioningStep,
  ctx: DecommissioningContext,
): DecommissioningTransition {
  t.saga.status = 'compensating';
  t.saga.step = step;
  t.saga.steps[step] = 'compensating';
  t.saga.attempts = 1;
  t.saga.deadline = deadlineAfter(ctx, 1);
  t.history.push(entry(step, 'compensate', 'requested', { attempt: 1 }));
  t.effects.push({ kind: 'RequestCompensation', step, attempt: 1, reason: t.saga.reason ?? '' });
  return t;
}

/**
 * After `from` was compensated, skipped or refused: the compensation of the step before it (every
 * step before the one reached is done), or the end — the asset back to its former status.
 */
function compensateBefore(
  t: DecommissioningTransition,
  from: DecommissioningStep,
  ctx: DecommissioningContext,
): DecommissioningTransition {
  const previous = DecommissioningSteps[DecommissioningSteps.indexOf(from) - 1];
  if (previous !== undefined) return requestCompensation(t, previous, ctx);
  t.saga.status = 'failed';
  t.saga.step = null;
  t.saga.deadline = null;
  const former = t.saga.input.formerStatus;
  if (ctx.assetStatus === 'decommissioning' && former !== 'decommissioning') {
    const reason = `decommissioning called off: ${t.saga.reason ?? 'unknown'}`.slice(0, 1000);
    t.effects.push({ kind: 'ChangeAssetStatus', to: former, reason });
    t.history.push(entry('asset', 'restore', 'done', { to: former }));
  } else {
    t.history.push(entry('asset', 'restore', 'unchanged', { assetStatus: ctx.assetStatus }));
  }
  return t;
}

function complete(t: DecommissioningTransition, ctx: DecommissioningContext): DecommissioningTransition {
  t.saga.status = 'completed';
  t.saga.step = null;
  t.saga.deadline = null;
  t.saga.attention = null;
  if (ctx.assetStatus === 'decommissioning') {
    const reason = t.saga.input.note ?? DECOMMISSIONED_REASON;
    t.effects.push({ kind: 'ChangeAssetStatus', to: 'decommissioned', reason });
    t.history.push(entry('asset', 'decommission', 'done', null));
  } else {
    // A person moved the asset meanwhile; the saga only records that it did not touch it.
    t.history.push(entry('asset', 'decommission', 'unchanged', { assetStatus: ctx.assetStatus }));
  }
  return t;
}

function begin(saga: DecommissioningSaga, ctx: DecommissioningContext): DecommissioningTransition {
  return {
    saga: { ...saga, steps: { ...saga.steps }, version: saga.version + 1, updatedAt: ctx.now.toISOString() },
    effects: [],
    history: [],
  };
}

function entry(
  step: DecommissioningHistoryItem['step'],
  action: DecommissioningHistoryItem['action'],
  outcome: DecommissioningHistoryItem['outcome'],
  detail: Record<string, unknown> | null,
): DecommissioningHistoryItem {
  return { step, action, outcome, detail };
}
