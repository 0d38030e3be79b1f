import {
  type AssetStatus,
  type OnboardingStep,
  OnboardingSteps,
  type SagaAction,
  type SagaStatus,
  type SagaStepStatus,
} from '@assetops/contracts';
import { deadlineAfter, mustNeedAttention, type SagaPolicy } from './saga.kit.js';

export { type SagaPolicy, waitMs } from './saga.kit.js';

/**
 * The onboarding saga of one asset, orchestrated by the Asset service (which owns asset-level saga
 * state). Each step is an action and its compensation, side by side:
 *
 * | step        | action (participant)                         | compensation                          |
 * |-------------|----------------------------------------------|---------------------------------------|
 * | `telemetry` | open the asset's stream (accept readings)    | close ingestion (`INGESTION_CLOSED`)  |
 * | `alert`     | create the type profile's rules (thresholds) | remove the profile rules it created   |
 *
 * Both actions start together on AssetRegistered; the saga waits for both confirmations, then moves
 * the asset `commissioning → active`. A wait that times out is asked again (OnboardingStepRequested),
 * each wait twice as long as the one before; after `maxAttempts` requests the saga compensates every
 * step, one at a time in reverse order (alert, then telemetry) with the same timeouts and retries,
 * and marks the asset `commissioning_failed` with the reason. A compensation that does not confirm
 * leaves the saga in `needs_attention` (retry or skip), never silently stuck.
 *
 * When a person has moved the asset out of `commissioning` in the meantime, the saga still sees its
 * steps through but leaves the asset's status alone; if the asset was made `active` or sent to
 * `maintenance` by hand, nothing is undone automatically: the saga asks for attention instead.
 *
 * Pure: time, the asset's status and the policy come in through {@link SagaContext}.
 */
export interface OnboardingSaga {
  id: string;
  type: 'onboarding';
  assetId: string;
  status: SagaStatus;
  /** The step waited on (the first unconfirmed one, or the one being compensated); null when over. */
  step: OnboardingStep | null;
  steps: Record<OnboardingStep, SagaStepStatus>;
  /** How many times the current wait's request went out. */
  attempts: number;
  /** When the current wait times out; null when nothing is awaited. */
  deadline: string | null;
  /** Why onboarding failed. */
  reason: string | null;
  /** Why a person is needed (in `needs_attention`). */
  attention: string | null;
  /** The correlation id of the request that started the saga; carried by every message it sends. */
  correlationId: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface SagaContext {
  now: Date;
  /** The asset's status when the input is decided on (the asset row is locked). */
  assetStatus: AssetStatus;
  policy: SagaPolicy;
}

export type SagaInput =
  | { kind: 'StepConfirmed'; step: OnboardingStep; detail?: Record<string, unknown> }
  | { kind: 'CompensationConfirmed'; step: OnboardingStep; detail?: Record<string, unknown> }
  | { kind: 'DeadlinePassed' }
  | { kind: 'Retry' }
  | { kind: 'Skip' };

/** What the saga asks the world to do; the runner turns these into events and asset commands. */
export type SagaEffect =
  | { kind: 'RequestStep'; step: OnboardingStep; attempt: number }
  | { kind: 'RequestCompensation'; step: OnboardingStep; attempt: number; reason: string }
  | { kind: 'ChangeAssetStatus'; to: 'active' | 'commissioning_failed'; reason: string };

/** One history entry (the store numbers them). */
export interface SagaHistoryItem {
  step: OnboardingStep | 'asset';
  action: 'initialize' | 'compensate' | 'activate' | 'mark_failed';
  outcome: 'requested' | 'confirmed' | 'timed_out' | 'retried' | 'skipped' | 'done' | 'unchanged';
  detail: Record<string, unknown> | null;
}

export interface SagaTransition {
  saga: OnboardingSaga;
  effects: SagaEffect[];
  history: SagaHistoryItem[];
}

/** Compensations run in the reverse order of the actions. */
export const compensationOrder: readonly OnboardingStep[] = [...OnboardingSteps].reverse();

/** The status reason of an asset that onboarding made active. */
export const ACTIVATED_REASON = 'onboarding completed';

/** What a person may do about the saga now. */
export function sagaActions(saga: OnboardingSaga): SagaAction[] {
  return saga.status === 'needs_attention' ? ['retry', 'skip'] : [];
}

/**
 * A new onboarding saga, waiting for both steps. On registration the participants act on
 * AssetRegistered itself, so nothing is requested; when an asset is commissioned again
 * (`recommissioned`) every step is requested explicitly.
 */
export function startOnboarding(
  ids: { id: string; assetId: string; correlationId: string | null },
  ctx: Pick<SagaContext, 'now' | 'policy'>,
  how: 'registered' | 'recommissioned',
): SagaTransition {
  const at = ctx.now.toISOString();
  const saga: OnboardingSaga = {
    id: ids.id,
    type: 'onboarding',
    assetId: ids.assetId,
    status: 'running',
    step: OnboardingSteps[0],
    steps: { telemetry: 'pending', alert: 'pending' },
    attempts: 1,
    deadline: deadlineAfter(ctx, 1),
    reason: null,
    attention: null,
    correlationId: ids.correlationId,
    version: 1,
    createdAt: at,
    updatedAt: at,
  };
  const via = how === 'registered' ? 'AssetRegistered' : 'OnboardingStepRequested';
  return {
    saga,
    effects:
      how === 'registered'
        ? []
        : OnboardingSteps.map((step) => ({ kind: 'RequestStep' as const, step, attempt: 1 })),
    history: OnboardingSteps.map((step) => entry(step, 'initialize', 'requested', { attempt: 1, via })),
  };
}

/**
 * Decides what an input does to a saga: the next state, the effects and the history entries, or
 * null when it changes nothing (a duplicate or late confirmation, a deadline not yet reached) — so
 * every input may be delivered more than once. Retry and skip outside `needs_attention` are refused.
 */
export function decide(saga: OnboardingSaga, input: SagaInput, ctx: SagaContext): SagaTransition | null {
  switch (input.kind) {
    case 'StepConfirmed': {
      const waitingForward =
        saga.status === 'running' || (saga.status === 'needs_attention' && !compensating(saga));
      if (!waitingForward || saga.steps[input.step] !== 'pending') return null;
      const t = begin(saga, ctx);
      t.saga.steps[input.step] = 'done';
      t.history.push(
        entry(input.step, 'initialize', 'confirmed', { attempt: saga.attempts, ...(input.detail ?? {}) }),
      );
      const next = OnboardingSteps.find((step) => t.saga.steps[step] === 'pending');
      if (next === undefined) return complete(t, ctx);
      t.saga.step = next;
      return t;
    }
    case 'CompensationConfirmed': {
      if (saga.step !== input.step || saga.steps[input.step] !== 'compensating') return null;
      const t = begin(saga, ctx);
      t.saga.steps[input.step] = 'compensated';
      t.saga.attention = null; // a late confirmation ends a wait for a person
      t.history.push(
        entry(input.step, 'compensate', 'confirmed', { attempt: saga.attempts, ...(input.detail ?? {}) }),
      );
      return compensateNext(t, input.step, ctx);
    }
    case 'DeadlinePassed': {
      if (saga.deadline === null || Date.parse(saga.deadline) > ctx.now.getTime()) return null;
      if (saga.status === 'running') return forwardTimedOut(saga, ctx);
      if (saga.status === 'compensating') return compensationTimedOut(saga, ctx);
      return null;
    }
    case 'Retry': {
      mustNeedAttention(saga, 'retry');
      const t = begin(saga, ctx);
      t.saga.attempts = 1;
      t.saga.deadline = deadlineAfter(ctx, 1);
      t.saga.attention = null;
      if (compensating(saga)) {
        const step = saga.step!;
        t.saga.status = 'compensating';
        t.history.push(entry(step, 'compensate', 'retried', null));
        t.history.push(entry(step, 'compensate', 'requested', { attempt: 1 }));
        t.effects.push({ kind: 'RequestCompensation', step, attempt: 1, reason: saga.reason ?? '' });
        return t;
      }
      t.saga.status = 'running';
      for (const step of pendingSteps(saga)) {
        t.history.push(entry(step, 'initialize', 'retried', null));
        t.history.push(entry(step, 'initialize', 'requested', { attempt: 1 }));
        t.effects.push({ kind: 'RequestStep', step, attempt: 1 });
      }
      return t;
    }
    case 'Skip': {
      mustNeedAttention(saga, 'skip');
      const t = begin(saga, ctx);
      t.saga.attention = null;
      if (compensating(saga)) {
        const step = saga.step!;
        t.saga.steps[step] = 'skipped';
        t.history.push(entry(step, 'compensate', 'skipped', null));
        return compensateNext(t, step, ctx);
      }
      for (const step of pendingSteps(saga)) {
        t.saga.steps[step] = 'skipped';
        t.history.push(entry(step, 'initialize', 'skipped', null));
      }
      return complete(t, ctx);
    }
  }
}

function forwardTimedOut(saga: OnboardingSaga, ctx: SagaContext): SagaTransition {
  const t = begin(saga, ctx);
  const pending = pendingSteps(saga);
  for (const step of pending)
    t.history.push(entry(step, 'initialize', 'timed_out', { attempt: saga.attempts }));
  if (saga.attempts < ctx.policy.maxAttempts) {
    const attempt = saga.attempts + 1;
    t.saga.attempts = attempt;
    t.saga.deadline = deadlineAfter(ctx, attempt);
    for (const step of pending) {
      t.history.push(entry(step, 'initialize', 'requested', { attempt }));
      t.effects.push({ kind: 'RequestStep', step, attempt });
    }
    return t;
  }
  const reason = `${pending.join(' and ')} did not confirm after ${saga.attempts} attempts`;
  if (ctx.assetStatus === 'active' || ctx.assetStatus === 'maintenance') {
    // Someone put the asset to work by hand: undoing its set-up now would hurt more than help.
    t.saga.status = 'needs_attention';
    t.saga.deadline = null;
    t.saga.attention = `${reason}; the asset was made ${ctx.assetStatus} by hand, so nothing is undone automatically: retry the steps or skip them`;
    return t;
  }
  t.saga.status = 'compensating';
  t.saga.reason = reason;
  return requestCompensation(t, compensationOrder[0]!, ctx);
}

function compensationTimedOut(saga: OnboardingSaga, ctx: SagaContext): SagaTransition {
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
  t.saga.attention = `compensation of ${step} did not confirm after ${saga.attempts} attempts: retry it, or skip it once undone by hand`;
  // Onboarding has failed whatever becomes of the clean-up: the asset says so now.
  markAssetFailed(t, ctx);
  return t;
}

function requestCompensation(t: SagaTransition, step: OnboardingStep, ctx: SagaContext): SagaTransition {
  t.saga.status = 'compensating';
  t.saga.step = step;
  t.saga.steps[step] = 'compensating';
  t.saga.attempts = 1;
  t.saga.deadline = deadlineAfter(ctx, 1);
  t.history.push(entry(step, 'compensate', 'requested', { attempt: 1 }));
  t.effects.push({ kind: 'RequestCompensation', step, attempt: 1, reason: t.saga.reason ?? '' });
  return t;
}

/** After `done` was compensated (or skipped): the next compensation in reverse order, or the end. */
function compensateNext(t: SagaTransition, done: OnboardingStep, ctx: SagaContext): SagaTransition {
  const next = compensationOrder[compensationOrder.indexOf(done) + 1];
  if (next !== undefined) return requestCompensation(t, next, ctx);
  t.saga.status = 'failed';
  t.saga.step = null;
  t.saga.deadline = null;
  markAssetFailed(t, ctx);
  return t;
}

function complete(t: SagaTransition, ctx: SagaContext): SagaTransition {
  t.saga.status = 'completed';
  t.saga.step = null;
  t.saga.deadline = null;
  t.saga.attention = null;
  if (ctx.assetStatus === 'commissioning') {
    t.effects.push({ kind: 'ChangeAssetStatus', to: 'active', reason: ACTIVATED_REASON });
    t.history.push(entry('asset', 'activate', 'done', null));
  } else {
    // The asset was moved by hand meanwhile; the saga only records that it did not touch it.
    t.history.push(entry('asset', 'activate', 'unchanged', { assetStatus: ctx.assetStatus }));
  }
  return t;
}

function markAssetFailed(t: SagaTransition, ctx: SagaContext): void {
  if (ctx.assetStatus === 'commissioning') {
    const reason = `onboarding failed: ${t.saga.reason ?? 'unknown'}`.slice(0, 1000);
    t.effects.push({ kind: 'ChangeAssetStatus', to: 'commissioning_failed', reason });
    t.history.push(entry('asset', 'mark_failed', 'done', { reason }));
  } else {
    t.history.push(entry('asset', 'mark_failed', 'unchanged', { assetStatus: ctx.assetStatus }));
  }
}

/** Whether the saga is undoing its steps (also while a compensation waits for a person). */
function compensating(saga: OnboardingSaga): boolean {
  return saga.step !== null && saga.steps[saga.step] === 'compensating';
}

function pendingSteps(saga: OnboardingSaga): OnboardingStep[] {
  return OnboardingSteps.filter((step) => saga.steps[step] === 'pending');
}

function begin(saga: OnboardingSaga, ctx: SagaContext): SagaTransition {
  return {
    saga: { ...saga, steps: { ...saga.steps }, version: saga.version + 1, updatedAt: ctx.now.toISOString() },
    effects: [],
    history: [],
  };
}

function entry(
  step: SagaHistoryItem['step'],
  action: SagaHistoryItem['action'],
  outcome: SagaHistoryItem['outcome'],
  detail: Record<string, unknown> | null,
): SagaHistoryItem {
  return { step, action, outcome, detail };
}
