import {
  AssetAlertingDisabled,
  AssetAlertingRestored,
  AssetMaintenanceRestored,
  AssetMaintenanceWithdrawalRefused,
  AssetMaintenanceWithdrawn,
  DecommissioningCompensationRequested,
  DecommissioningStepRequested,
  type EventEnvelope,
  TelemetryIngestionReopened,
  TelemetryIngestionStopped,
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
  IllegalStateError,
  type Logger,
  NotFoundError,
  type Pool,
  type PoolClient,
  withTransaction,
} from '@assetops/platform';
import { applyAssetCommand } from '../assets/asset.commands.js';
import type { AssetState } from '../assets/asset.decide.js';
import { loadAssetForUpdate } from '../assets/asset.store.js';
import {
  DECOMMISSIONABLE,
  type DecommissioningSaga,
  type DecommissioningSagaInput,
  type DecommissioningTransition,
  decideDecommissioning,
  startDecommissioning,
} from './decommissioning.saga.js';
import type { SagaPolicy } from './onboarding.saga.js';
import {
  appendSagaHistory,
  dueSagas,
  findOpenDecommissioning,
  findOpenOnboarding,
  insertSaga,
  loadSagaForUpdate,
  nextDeadline,
  sagaAssetId,
  updateSaga,
} from './saga.store.js';

export interface DecommissioningSagasDeps {
  pool: Pool;
  clock: Clock;
  ids: IdGenerator;
  policy: SagaPolicy;
  logger?: Logger;
}

interface Origin {
  cause?: EventEnvelope;
  meta?: CommandMeta;
}

const DEADLINE_BATCH = 100;

/**
 * Runs decommissioning sagas: the I/O around the pure {@link decideDecommissioning}, the way
 * `OnboardingSagas` runs onboarding. Every input is applied in one transaction that locks the
 * asset row, then the saga row, decides, and stores the saga, its history, the messages it sends
 * (outbox) and the asset's status change together — so a crash at any point leaves either all of
 * a step or none of it, and a restarted service goes on from the stored state (deadlines included).
 *
 * @example
 * const sagas = new DecommissioningSagas({ pool, clock, ids, policy });
 * const saga = await sagas.start(assetId, { force: false }, meta); // 202 with saga.id
 */
export class DecommissioningSagas {
  constructor(private readonly deps: DecommissioningSagasDeps) {}

  /**
   * Starts decommissioning an asset: 404 `ASSET_NOT_FOUND`; 409 `ASSET_DECOMMISSIONED`,
   * `DECOMMISSIONING_IN_PROGRESS` (another saga is not over) or `ONBOARDING_IN_PROGRESS` (the two
   * sagas would undo each other's work: the onboarding must end, or be retried or skipped, first).
   */
  async start(
    assetId: string,
    request: { force?: boolean | undefined; reason?: string | undefined },
    meta: CommandMeta,
  ): Promise<DecommissioningSaga> {
    return withTransaction(this.deps.pool, async (tx) => {
      const asset = await loadAssetForUpdate(tx, assetId);
      if (!asset) throw new NotFoundError('ASSET_NOT_FOUND', `asset ${assetId} does not exist`);
      if (!DECOMMISSIONABLE.includes(asset.status)) {
        throw new IllegalStateError('ASSET_DECOMMISSIONED', `asset ${assetId} is already decommissioned`, {
          assetStatus: asset.status,
        });
      }
      const running = await findOpenDecommissioning(tx, assetId);
      if (running) {
        throw new ConflictError(
          'DECOMMISSIONING_IN_PROGRESS',
          `asset ${assetId} is being decommissioned already (saga ${running})`,
          { sagaId: running },
        );
      }
      const onboarding = await findOpenOnboarding(tx, assetId);
      if (onboarding) {
        throw new ConflictError(
          'ONBOARDING_IN_PROGRESS',
          `asset ${assetId} has an onboarding saga that is not over (${onboarding}); let it end, or retry or skip it first`,
          { sagaId: onboarding },
        );
      }
      const transition = startDecommissioning(
        { id: this.deps.ids.next(), assetId, correlationId: meta.correlationId ?? null },
        { force: request.force ?? false, note: request.reason ?? null, formerStatus: asset.status },
        { now: this.deps.clock.now(), policy: this.deps.policy },
      );
      await insertSaga(tx, transition.saga);
      await this.store(tx, asset, transition, { meta }, false);
      return transition.saga;
    });
  }

  /** The handlers of the participants' answers (from maintenance, alert and telemetry). */
  handlers(): EventHandlers {
    return {
      ...eventHandler(AssetMaintenanceWithdrawn, (tx, e) =>
        this.reply(tx, e, e.data.assetId, e.data.sagaId, {
          kind: 'StepConfirmed',
          step: 'maintenance',
          detail: {
            cancelledWorkOrders: e.data.cancelledWorkOrderIds.length,
            deactivatedPlans: e.data.deactivatedPlanIds.length,
            forced: e.data.forced,
          },
        }),
      ),
      ...eventHandler(AssetMaintenanceWithdrawalRefused, (tx, e) =>
        this.reply(tx, e, e.data.assetId, e.data.sagaId, {
          kind: 'StepRefused',
          step: 'maintenance',
          reason: e.data.reason,
          detail: { code: e.data.code, workOrderIds: e.data.workOrderIds },
        }),
      ),
      ...eventHandler(AssetMaintenanceRestored, (tx, e) =>
        this.reply(tx, e, e.data.assetId, e.data.sagaId, {
          kind: 'CompensationConfirmed',
          step: 'maintenance',
          detail: { reactivatedPlans: e.data.reactivatedPlanIds.length },
        }),
      ),
      ...eventHandler(AssetAlertingDisabled, (tx, e) =>
        this.reply(tx, e, e.data.assetId, e.data.sagaId, {
          kind: 'StepConfirmed',
          step: 'alert',
          detail: { disabledRules: e.data.ruleIds.length, clearedAlerts: e.data.clearedAlerts },
        }),
      ),
      ...eventHandler(AssetAlertingRestored, (tx, e) =>
        this.reply(tx, e, e.data.assetId, e.data.sagaId, {
          kind: 'CompensationConfirmed',
          step: 'alert',
          detail: { enabledRules: e.data.ruleIds.length },
        }),
      ),
      ...eventHandler(TelemetryIngestionStopped, (tx, e) =>
        this.reply(tx, e, e.data.assetId, e.data.sagaId, { kind: 'StepConfirmed', step: 'telemetry' }),
      ),
      ...eventHandler(TelemetryIngestionReopened, (tx, e) =>
        this.reply(tx, e, e.data.assetId, e.data.sagaId, {
          kind: 'CompensationConfirmed',
          step: 'telemetry',
        }),
      ),
    };
  }

  /** Times out every decommissioning saga whose deadline has passed, each in its own transaction. */
  async checkDeadlines(): Promise<{ processed: number; more: boolean; nextInMs?: number }> {
    const due = await dueSagas(this.deps.pool, 'decommissioning', this.deps.clock.now(), DEADLINE_BATCH);
    let failures = 0;
    for (const id of due) {
      try {
        await withTransaction(this.deps.pool, (tx) => this.advance(tx, id, { kind: 'DeadlinePassed' }, {}));
      } catch (err) {
        // One saga that cannot advance must not hold up the others.
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
  async act(
    sagaId: string,
    action: 'Retry' | 'Skip',
    meta: CommandMeta,
  ): Promise<DecommissioningSaga | null> {
    return withTransaction(this.deps.pool, (tx) => this.advance(tx, sagaId, { kind: action }, { meta }));
  }

  private async reply(
    tx: PoolClient,
    event: EventEnvelope,
    assetId: string,
    sagaId: string,
    input: DecommissioningSagaInput,
  ): Promise<void> {
    await this.advance(tx, sagaId, input, { cause: event }, assetId);
  }

  private async advance(
    tx: PoolClient,
    sagaId: string,
    input: DecommissioningSagaInput,
    origin: Origin,
    ofAsset?: string,
  ): Promise<DecommissioningSaga | null> {
    const assetId = await sagaAssetId(tx, sagaId);
    if (!assetId || (ofAsset !== undefined && assetId !== ofAsset)) return null;
    const asset = await loadAssetForUpdate(tx, assetId);
    const saga = await loadSagaForUpdate(tx, sagaId);
    if (!asset || !saga || saga.type !== 'decommissioning') return null;
    const transition = decideDecommissioning(saga, input, {
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
    transition: DecommissioningTransition,
    origin: Origin,
    update: boolean,
  ): Promise<void> {
    const { saga } = transition;
    const eventMeta = {
      subject: asset.id,
      clock: this.deps.clock,
      ids: this.deps.ids,
      // Every message of one decommissioning shares the correlation of the request that started it.
      correlationId: saga.correlationId ?? origin.cause?.correlationid ?? origin.meta?.correlationId,
      causationId: origin.cause?.id,
      traceparent: origin.meta?.traceparent ?? origin.cause?.traceparent,
    };
    for (const effect of transition.effects) {
      switch (effect.kind) {
        case 'RequestStep':
          await appendToOutbox(tx, [
            createEvent(
              DecommissioningStepRequested,
              {
                sagaId: saga.id,
                assetId: asset.id,
                assetType: asset.type,
                step: effect.step,
                attempt: effect.attempt,
                force: saga.input.force,
                note: saga.input.note,
              },
              eventMeta,
            ),
          ]);
          break;
        case 'RequestCompensation':
          await appendToOutbox(tx, [
            createEvent(
              DecommissioningCompensationRequested,
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
