import { AssetRegistered, AssetStatusChanged, AssetUpdated, type EventDefinition } from '@assetops/contracts';
import {
  appendToOutbox,
  type Clock,
  type CommandMeta,
  createEvent,
  type IdGenerator,
  NotFoundError,
  type Pool,
  PreconditionFailedError,
  withTransaction,
} from '@assetops/platform';
import { type AssetCommand, type AssetEvent, type AssetState, decide, evolve } from './asset.decide.js';
import { insertAsset, loadAssetForUpdate, updateAsset } from './asset.store.js';

export interface AssetCommandDeps {
  pool: Pool;
  clock: Clock;
  ids: IdGenerator;
}

const definitions: Record<AssetEvent['type'], EventDefinition> = {
  AssetRegistered,
  AssetUpdated,
  AssetStatusChanged,
};

/**
 * Runs one command on one asset: lock, decide, evolve, save, and append the events to the outbox —
 * all in one transaction, so the state change and its events are never apart.
 */
export async function executeAssetCommand(
  deps: AssetCommandDeps,
  assetId: string,
  command: AssetCommand,
  meta: CommandMeta = {},
): Promise<{ asset: AssetState; events: AssetEvent[] }> {
  return withTransaction(deps.pool, async (tx) => {
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
    if (events.length === 0) return { asset: current!, events };
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
    return { asset: next, events };
  });
}
