import { AssetRegistered, AssetStatusChanged, AssetUpdated, type EventDefinition } from '@assetops/contracts';
import {
  appendToOutbox,
  type Clock,
  type CommandMeta,
  createEvent,
  type IdGenerator,
  NotFoundError,
  type Pool,
  type PoolClient,
  PreconditionFailedError,
  withTransaction,
} from '@assetops/platform';
import { type AssetCommand, type AssetEvent, type AssetState, decide, evolve } from './asset.decide.js';
import { insertAsset, loadAssetForUpdate, updateAsset } from './asset.store.js';

export interface AssetCommandDeps {
  pool: Pool;
  clock: Clock;
  ids: IdGenerator;
  /**
   * Runs in the command's transaction after a change (not after a no-op), so that what the change
   * starts — the onboarding saga of a new asset — commits with it or not at all. Returns the id of
   * a saga it started, if any; throwing refuses the command.
   */
  onChange?: AssetChangeHook;
}

/** What a command changed: the state before (null for a registration), after, and its events. */
export interface AssetChange {
  before: AssetState | null;
  asset: AssetState;
  events: AssetEvent[];
}

export type AssetChangeHook = (
  tx: PoolClient,
  change: AssetChange,
  meta: CommandMeta,
) => Promise<string | undefined>;

const definitions: Record<AssetEvent['type'], EventDefinition> = {
  AssetRegistered,
  AssetUpdated,
  AssetStatusChanged,
};

/**
 * Runs one command on one asset: lock, decide, evolve, save, and append the events to the outbox —
 * all in one transaction, so the state change and its events are never apart. `sagaId` is the saga
 * the change started (the onboarding of a registered asset).
 */
export async function executeAssetCommand(
  deps: AssetCommandDeps,
  assetId: string,
  command: AssetCommand,
  meta: CommandMeta = {},
): Promise<{ asset: AssetState; events: AssetEvent[]; sagaId?: string | undefined }> {
  return withTransaction(deps.pool, async (tx) => {
    const change = await applyAssetCommand(tx, deps, assetId, command, meta);
    if (change.events.length === 0 || !deps.onChange) return change;
    return { ...change, sagaId: await deps.onChange(tx, change, meta) };
  });
}

/**
 * {@link executeAssetCommand} inside the caller's transaction (a saga step changing the asset's
 * status commits with the saga's own progress). No `onChange` hook.
 */
export async function applyAssetCommand(
  tx: PoolClient,
  deps: Pick<AssetCommandDeps, 'clock' | 'ids'>,
  assetId: string,
  command: AssetCommand,
  meta: CommandMeta = {},
): Promise<AssetChange> {
  const current = command.kind === 'RegisterAsset' ? null : await loadAssetForUpdate(tx, assetId);
  if (command.kind !== 'RegisterAsset') {
    if (!current) throw new NotFoundError('ASSET_NOT_FOUND', `asset ${assetId} does not exist`);
    if (meta.expectedVersion !== undefined && meta.expectedVersion !== current.version) {
      throw new PreconditionFailedError(
        'ASSET_VERSION_MISMATCH',
        `asset ${assetId} is at version ${current.version}, not ${meta.expectedVersion}`,
        { currentVersion: current.version },
      );
    }
  }
  const events = decide(command, current, deps.clock.now());
  if (events.length === 0) return { before: current, asset: current!, events };
  const next = events.reduce<AssetState | null>(evolve, current)!;
  if (current) await updateAsset(tx, next);
  else await insertAsset(tx, next);
  await appendToOutbox(
    tx,
    events.map((event) =>
      createEvent(definitions[event.type], event.data, {
        subject: next.id,
        clock: deps.clock,
        ids: deps.ids,
        correlationId: meta.correlationId,
        causationId: meta.causationId,
        traceparent: meta.traceparent,
      }),
    ),
  );
  return { before: current, asset: next, events };
}
