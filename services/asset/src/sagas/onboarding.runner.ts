import {
  type EventEnvelope,
  OnboardingCompensationRequested,
  OnboardingStepRequested,
  TelemetryStreamClosed,
  TelemetryStreamInitialized,
  ThresholdsInitialized,
  ThresholdsRemoved,
} from '@assetops/contracts';
import {
  appendToOutbox,
  type Clock,
  type CommandMeta,
  ConflictError,
  createEvent,
  type EventHandlers,
  eventHandler,
  type IdGenerator,
  type Logger,
  type Pool,
  type PoolClient,
  withTransaction,
} from '@assetops/platform';
import { type AssetChange, applyAssetCommand } from '../assets/asset.commands.js';
import type { AssetState } from '../assets/asset.decide.js';
import { loadAssetForUpdate } from '../assets/asset.store.js';
import {
  decide,
  type OnboardingSaga,
  type SagaInput,
  type SagaPolicy,
  type SagaTransition,
  startOnboarding,
} from './onboarding.saga.js';
import {
  appendSagaHistory,
  dueSagas,
  findOpenOnboarding,
  insertSaga,
  loadSagaForUpdate,
  nextDeadline,
  sagaAssetId,
  updateSaga,
} from './saga.store.js';

export interface OnboardingSagasDeps {
  pool: Pool;
  clock: Clock;
  ids: IdGenerator;
  policy: SagaPolicy;
  logger?: Logger;
}

/** Where an input came from: the event it answers, or a request (a person's retry or skip). */
interface Origin {
  cause?: EventEnvelope;
  meta?: CommandMeta;
}

const DEADLINE_BATCH = 100;

/**
 * Runs onboarding sagas: the I/O around the pure {@link decide}. Every input is applied in one
 * transaction that locks the asset row, then the saga row — the order every writer of an asset and
 * its sagas takes — decides, and stores the saga, its history, the messages it sends (outbox) and the
 * asset's status change together. Inputs come from the participants' replies (event handlers), the
 * deadline check, and a person's retry or skip.
 *
 * @example
 * const sagas = new OnboardingSagas({ pool, clock, ids, policy: { stepTimeoutMs: 30_000, maxAttempts: 3 } });
 * consumer: { sources: ['telemetry', 'alert'], handlers: sagas.handlers() }
 */
export class OnboardingSagas {
  constructor(private readonly deps: OnboardingSagasDeps) {}

  /**
   * The hook of the asset commands: a registered asset starts its onboarding; an asset that comes
   * back to `commissioning` (after a failed onboarding, or from decommissioning) starts a new one,
   * unless one is still open.
   */
  readonly onAssetChange = async (
    tx: PoolClient,
    change: AssetChange,
    meta: CommandMeta,
  ): Promise<string | undefined> => {
    const registered = change.events.some((e) => e.type === 'AssetRegistered');
    const recommissioned =
      !registered && change.before?.status !== 'commissioning' && change.asset.status === 'commissioning';
    if (!registered && !recommissioned) return undefined;
    if (recommissioned) {
      const open = await findOpenOnboarding(tx, change.asset.id);
      // Retrying a failed onboarding while the last one's clean-up is unresolved would let the two
      // undo each other's work: refused. Coming back from decommissioning (that saga compensating)
      // is not: the open onboarding simply goes on with the asset.
      if (open && change.before?.status === 'commissioning_failed') {
        throw new ConflictError(
          'ONBOARDING_IN_PROGRESS',
          `asset ${change.asset.id} has an onboarding saga that is not over (${open}); retry or skip it first`,
          { sagaId: open },
        );
      }
      if (open) return undefined;
    }
    const transition = startOnboarding(
      { id: this.deps.ids.next(), assetId: change.asset.id, correlationId: meta.correlationId ?? null },
      { now: this.deps.clock.now(), policy: this.deps.policy },
      registered ? 'registered' : 'recommissioned',
    );
    await insertSaga(tx, transition.saga);
    await this.store(tx, change.asset, transition, { meta }, false);
    return transition.saga.id;
  };

  /** The handlers of the participants' replies (the Asset service consumes `telemetry` and `alert`). */
  handlers(): EventHandlers {
    return {
      ...eventHandler(TelemetryStreamInitialized, (tx, e) =>
        this.reply(tx, e, e.data.assetId, e.data.sagaId, { kind: 'StepConfirmed', step: 'telemetry' }),
      ),
      ...eventHandler(ThresholdsInitialized, (tx, e) =>
        this.reply(tx, e, e.data.assetId, e.data.sagaId ?? null, {
          kind: 'StepConfirmed',
          step: 'alert',
          detail: { profile: e.data.profile, rules: e.data.ruleIds.length },
        }),
      ),
      ...eventHandler(TelemetryStreamClosed, (tx, e) =>
        this.reply(tx, e, e.data.assetId, e.data.sagaId, {
          kind: 'CompensationConfirmed',
          step: 'telemetry',
        }),
      ),
      ...eventHandler(ThresholdsRemoved, (tx, e) =>
        this.reply(tx, e, e.data.assetId, e.data.sagaId, {
          kind: 'CompensationConfirmed',
          step: 'alert',
          detail: { rules: e.data.ruleIds.length },
        }),
      ),
    };
  }

  /**
   * Times out every saga whose deadline has passed (retry, compensate or ask for attention), each in
   * its own transaction. Returns how many were due and when the next deadline is.
   */
  async checkDeadlines(): Promise<{ processed: number; more: boolean; nextInMs?: number }> {
    const now = this.deps.clock.now();
    const due = await dueSagas(this.deps.pool, 'onboarding', now, DEADLINE_BATCH);
    let failures = 0;
    for (const id of due) {
      try {
        await withTransaction(this.deps.pool, (tx) => this.advance(tx, id, { kind: 'DeadlinePassed' }, {}));
      } catch (err) {
        // One saga that cannot advance (its asset locked for long, a bug) must not hold up the others.
        failures++;
        this.deps.logger?.error(
          { err, sagaId: id },
          'saga deadline could not be handled; trying again later',
        );
      }
    }
    const next = await nextDeadline(this.deps.pool);
    const nextInMs = next ? Math.max(0, next.getTime() - this.deps.clock.now().getTime()) : undefined;
    return {
      processed: due.length,
      more: due.length === DEADLINE_BATCH && failures < due.length,
      ...(nextInMs === undefined ? {} : { nextInMs }),
    };
  }

  /** A person's retry or skip of a saga in needs_attention. Null when the saga does not exist. */
  async act(sagaId: string, action: 'Retry' | 'Skip', meta: CommandMeta): Promise<OnboardingSaga | null> {
    return withTransaction(this.deps.pool, (tx) => this.advance(tx, sagaId, { kind: action }, { meta }));
  }

  private async reply(
    tx: PoolClient,
    event: EventEnvelope,
    assetId: string,
    sagaId: string | null,
    input: SagaInput,
  ): Promise<void> {
    // An answer to AssetRegistered carries no saga id: it belongs to the asset's open onboarding.
    const id = sagaId ?? (await findOpenOnboarding(tx, assetId));
    if (id) await this.advance(tx, id, input, { cause: event }, assetId);
  }

  /**
   * Applies one input to one saga inside `tx`. Returns the saga after it; null when there is no such
   * saga (or, given `ofAsset`, not one of that asset: a reply naming another asset's saga).
   */
  private async advance(
    tx: PoolClient,
    sagaId: string,
    input: SagaInput,
    origin: Origin,
    ofAsset?: string,
  ): Promise<OnboardingSaga | null> {
    const assetId = await sagaAssetId(tx, sagaId);
    if (!assetId || (ofAsset !== undefined && assetId !== ofAsset)) return null;
    const asset = await loadAssetForUpdate(tx, assetId);
    const saga = await loadSagaForUpdate(tx, sagaId);
    // Another type's saga (a reply naming it by mistake) is not this runner's to decide on.
    if (!asset || !saga || saga.type !== 'onboarding') return null;
    const transition = decide(saga, input, {
      now: this.deps.clock.now(),
      assetStatus: asset.status,
      policy: this.deps.policy,
    });
    if (!transition) return saga;
    await this.store(tx, asset, transition, origin, true);
    return transition.saga;
  }

  /** Stores a transition: its effects (events, the asset's status), the saga and its history. */
  private async store(
    tx: PoolClient,
    asset: AssetState,
    transition: SagaTransition,
    origin: Origin,
    update: boolean,
  ): Promise<void> {
    const { saga } = transition;
    const eventMeta = {
      subject: asset.id,
      clock: this.deps.clock,
      ids: this.deps.ids,
      // Every message of one onboarding shares the correlation of the request that registered the asset.
      correlationId: saga.correlationId ?? origin.cause?.correlationid ?? origin.meta?.correlationId,
      causationId: origin.cause?.id,
      traceparent: origin.meta?.traceparent ?? origin.cause?.traceparent,
    };
    for (const effect of transition.effects) {
      switch (effect.kind) {
        case 'RequestStep':
          await appendToOutbox(tx, [
            createEvent(
              OnboardingStepRequested,
              {
                sagaId: saga.id,
                assetId: asset.id,
                assetType: asset.type,
                step: effect.step,
                attempt: effect.attempt,
              },
              eventMeta,
            ),
          ]);
          break;
        case 'RequestCompensation':
          await appendToOutbox(tx, [
            createEvent(
              OnboardingCompensationRequested,
              {
                sagaId: saga.id,
                assetId: asset.id,
                assetType: asset.type,
                step: effect.step,
                attempt: effect.attempt,
                reason: effect.reason.slice(0, 1000),
              },
              eventMeta,
            ),
          ]);
          break;
        case 'ChangeAssetStatus':
          await applyAssetCommand(
            tx,
            this.deps,
            asset.id,
            { kind: 'ChangeAssetStatus', status: effect.to, reason: effect.reason },
            {
              correlationId: eventMeta.correlationId,
              causationId: eventMeta.causationId,
              traceparent: eventMeta.traceparent,
            },
          );
          break;
      }
    }
    if (update) await updateSaga(tx, saga);
    await appendSagaHistory(tx, saga.id, transition.history, saga.updatedAt);
  }
}
