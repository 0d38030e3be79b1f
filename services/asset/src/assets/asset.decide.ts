import {
  type AssetRegisteredData,
  type AssetStatus,
  type AssetStatusChangedData,
  AssetStatuses,
  type AssetUpdatedData,
} from '@assetops/contracts';
import { ConflictError, IllegalStateError } from '@assetops/platform';

/** The Asset service's state of one asset. */
export interface AssetState {
  id: string;
  name: string;
  type: string;
  location: string | null;
  metadata: Record<string, unknown>;
  status: AssetStatus;
  statusReason: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export type AssetCommand =
  | {
      kind: 'RegisterAsset';
      assetId: string;
      name: string;
      type: string;
      location: string | null;
      metadata: Record<string, unknown>;
    }
  | {
      kind: 'UpdateAsset';
      changes: { name?: string; location?: string | null; metadata?: Record<string, unknown> };
    }
  | { kind: 'ChangeAssetStatus'; status: AssetStatus; reason: string | null };

export type AssetEvent =
  | { type: 'AssetRegistered'; data: AssetRegisteredData }
  | { type: 'AssetUpdated'; data: AssetUpdatedData }
  | { type: 'AssetStatusChanged'; data: AssetStatusChangedData };

/**
 * The lifecycle. `decommissioning` may go back to where the asset came from because the
 * decommissioning saga compensates a refusal by restoring the former status; `decommissioned` is
 * terminal. `commissioning_failed` is where a failed onboarding leaves an asset; it may be retried.
 */
export const transitions: Readonly<Record<AssetStatus, readonly AssetStatus[]>> = {
  commissioning: ['active', 'commissioning_failed', 'decommissioning'],
  commissioning_failed: ['commissioning', 'decommissioning'],
  active: ['maintenance', 'decommissioning'],
  maintenance: ['active', 'decommissioning'],
  decommissioning: ['decommissioned', 'active', 'maintenance', 'commissioning', 'commissioning_failed'],
  decommissioned: [],
};

// Guard against a status added to the contracts but forgotten here.
for (const status of AssetStatuses) {
  if (!transitions[status]) throw new Error(`no transitions defined for status ${status}`);
}

/** Whether the lifecycle allows `from → to`. */
export function canTransition(from: AssetStatus, to: AssetStatus): boolean {
  return transitions[from].includes(to);
}

/**
 * Decides which events a command produces on the current state (null: the asset does not exist).
 * Pure: time comes in through `now`. A command that changes nothing produces no event, so a retried
 * request (or saga step) is harmless.
 */
export function decide(command: AssetCommand, state: AssetState | null, now: Date): AssetEvent[] {
  const at = now.toISOString();
  switch (command.kind) {
    case 'RegisterAsset': {
      if (state) throw new ConflictError('ASSET_ALREADY_EXISTS', `asset ${command.assetId} already exists`);
      return [
        {
          type: 'AssetRegistered',
          data: {
            assetId: command.assetId,
            name: command.name,
            type: command.type,
            location: command.location,
            metadata: command.metadata,
            status: 'commissioning',
            registeredAt: at,
          },
        },
      ];
    }
    case 'UpdateAsset': {
      const current = mustExist(state);
      if (current.status === 'decommissioned') {
        throw new IllegalStateError(
          'ASSET_DECOMMISSIONED',
          `asset ${current.id} is decommissioned and cannot change`,
        );
      }
      const changes: AssetUpdatedData['changes'] = {};
      const { name, location, metadata } = command.changes;
      if (name !== undefined && name !== current.name) changes.name = name;
      if (location !== undefined && location !== current.location) changes.location = location;
      if (metadata !== undefined && !sameJson(metadata, current.metadata)) changes.metadata = metadata;
      if (Object.keys(changes).length === 0) return [];
      return [
        {
          type: 'AssetUpdated',
          data: { assetId: current.id, changes, version: current.version + 1, updatedAt: at },
        },
      ];
    }
    case 'ChangeAssetStatus': {
      const current = mustExist(state);
      if (command.status === current.status) return [];
      if (!canTransition(current.status, command.status)) {
        throw new IllegalStateError(
          'ASSET_ILLEGAL_TRANSITION',
          `asset ${current.id} cannot go from ${current.status} to ${command.status}`,
          { from: current.status, to: command.status, allowed: transitions[current.status] },
        );
      }
      return [
        {
          type: 'AssetStatusChanged',
          data: {
            assetId: current.id,
            assetType: current.type,
            from: current.status,
            to: command.status,
            reason: command.reason,
            version: current.version + 1,
            changedAt: at,
          },
        },
      ];
    }
  }
}

/** Applies an event to the state. */
export function evolve(state: AssetState | null, event: AssetEvent): AssetState {
  switch (event.type) {
    case 'AssetRegistered': {
      const d = event.data;
      return {
        id: d.assetId,
        name: d.name,
        type: d.type,
        location: d.location,
        metadata: d.metadata,
        status: d.status,
        statusReason: null,
        version: 1,
        createdAt: d.registeredAt,
        updatedAt: d.registeredAt,
      };
    }
    case 'AssetUpdated': {
      const current = mustExist(state);
      return {
        ...current,
        ...event.data.changes,
        version: event.data.version,
        updatedAt: event.data.updatedAt,
      };
    }
    case 'AssetStatusChanged': {
      const current = mustExist(state);
      return {
        ...current,
        status: event.data.to,
        statusReason: event.data.reason,
        version: event.data.version,
        updatedAt: event.data.changedAt,
      };
    }
  }
}

function mustExist(state: AssetState | null): AssetState {
  // The store loads the asset before deciding and answers 404 itself; reaching here is a bug.
  if (!state) throw new Error('command on an asset that was not loaded');
  return state;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
