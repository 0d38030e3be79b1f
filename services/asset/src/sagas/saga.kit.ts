import type { SagaAction, SagaStatus } from '@assetops/contracts';
import { IllegalStateError } from '@assetops/platform';

/**
 * What the asset-level sagas (onboarding, decommissioning) share: the timing of their waits and
 * the rule that only a saga in `needs_attention` can be retried or skipped. Pure.
 */
export interface SagaPolicy {
  /** How long the first request of a wait is given; each retry waits twice as long (at most 8×). */
  stepTimeoutMs: number;
  /** Requests per wait before giving up on it. */
  maxAttempts: number;
}

/** How long the `attempt`-th request of a wait is given: doubling from the step timeout, at most 8×. */
export function waitMs(policy: SagaPolicy, attempt: number): number {
  return policy.stepTimeoutMs * 2 ** Math.min(Math.max(attempt - 1, 0), 3);
}

/** When the `attempt`-th request of a wait, sent now, times out. */
export function deadlineAfter(ctx: { now: Date; policy: SagaPolicy }, attempt: number): string {
  return new Date(ctx.now.getTime() + waitMs(ctx.policy, attempt)).toISOString();
}

/** Refuses retry/skip of a saga that is not waiting for a person. */
export function mustNeedAttention(saga: { id: string; status: SagaStatus }, action: SagaAction): void {
  if (saga.status !== 'needs_attention') {
    throw new IllegalStateError(
      'SAGA_NOT_NEEDING_ATTENTION',
      `saga ${saga.id} is ${saga.status}; only a saga in needs_attention can be given ${action}`,
      { sagaStatus: saga.status },
    );
  }
}
