import { AppError } from '@assetops/platform';
import { describe, expect, it } from 'vitest';
import {
  type AssetCommand,
  type AssetState,
  canTransition,
  decide,
  evolve,
} from '../src/assets/asset.decide.js';

const now = new Date('2026-03-01T10:00:00.000Z');
const id = '01900000-0000-7000-8000-000000000001';

function registered(overrides: Partial<AssetState> = {}): AssetState {
  const events = decide(
    {
      kind: 'RegisterAsset',
      assetId: id,
      name: 'Feed pump',
      type: 'pump',
      location: 'Plant A',
      metadata: { serial: 'X1' },
    },
    null,
    now,
  );
  return { ...events.reduce<AssetState | null>(evolve, null)!, ...overrides };
}

function thenError(command: AssetCommand, state: AssetState | null): AppError {
  try {
    decide(command, state, now);
  } catch (err) {
    return err as AppError;
  }
  throw new Error('expected the command to be refused');
}

describe('asset lifecycle (decide/evolve)', () => {
  it('registers an asset in commissioning', () => {
    const events = decide(
      { kind: 'RegisterAsset', assetId: id, name: 'Feed pump', type: 'pump', location: null, metadata: {} },
      null,
      now,
    );
    expect(events).toEqual([
      {
        type: 'AssetRegistered',
        data: {
          assetId: id,
          name: 'Feed pump',
          type: 'pump',
          location: null,
          metadata: {},
          status: 'commissioning',
          registeredAt: '2026-03-01T10:00:00.000Z',
        },
      },
    ]);
    expect(evolve(null, events[0]!)).toMatchObject({ id, status: 'commissioning', version: 1 });
  });

  it('walks commissioning → active ⇄ maintenance → decommissioning → decommissioned', () => {
    let state = registered();
    const path = [
      'active',
      'maintenance',
      'active',
      'maintenance',
      'decommissioning',
      'decommissioned',
    ] as const;
    for (const status of path) {
      const events = decide({ kind: 'ChangeAssetStatus', status, reason: `to ${status}` }, state, now);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        type: 'AssetStatusChanged',
        data: { from: state.status, to: status, assetType: 'pump' },
      });
      state = evolve(state, events[0]!);
    }
    expect(state).toMatchObject({ status: 'decommissioned', statusReason: 'to decommissioned', version: 7 });
  });

  it.each([
    ['commissioning', 'maintenance'],
    ['commissioning', 'decommissioned'],
    ['active', 'commissioning'],
    ['active', 'decommissioned'],
    ['maintenance', 'commissioning'],
    ['decommissioned', 'active'],
    ['decommissioned', 'decommissioning'],
  ] as const)('refuses %s → %s with ASSET_ILLEGAL_TRANSITION', (from, to) => {
    const err = thenError(
      { kind: 'ChangeAssetStatus', status: to, reason: null },
      registered({ status: from }),
    );
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe('ASSET_ILLEGAL_TRANSITION');
    expect(err.status).toBe(409);
    expect(err.details).toMatchObject({ from, to });
    expect(canTransition(from, to)).toBe(false);
  });

  it('lets a refused decommissioning return the asset to its former status', () => {
    for (const former of ['active', 'maintenance', 'commissioning'] as const) {
      expect(canTransition('decommissioning', former)).toBe(true);
    }
  });

  it('treats a change to the current status as a no-op (no event)', () => {
    expect(
      decide({ kind: 'ChangeAssetStatus', status: 'commissioning', reason: null }, registered(), now),
    ).toEqual([]);
  });

  it('emits only the fields that changed, with the next version', () => {
    const state = registered();
    const events = decide(
      { kind: 'UpdateAsset', changes: { name: 'Feed pump', location: null, metadata: { serial: 'X1' } } },
      state,
      now,
    );
    expect(events).toEqual([
      {
        type: 'AssetUpdated',
        data: { assetId: id, changes: { location: null }, version: 2, updatedAt: now.toISOString() },
      },
    ]);
    expect(evolve(state, events[0]!)).toMatchObject({ location: null, name: 'Feed pump', version: 2 });
  });

  it('compares metadata by content, not key order', () => {
    const state = registered({ metadata: { a: 1, b: { c: 2, d: 3 } } });
    expect(
      decide({ kind: 'UpdateAsset', changes: { metadata: { b: { d: 3, c: 2 }, a: 1 } } }, state, now),
    ).toEqual([]);
  });

  it('refuses updates to a decommissioned asset', () => {
    const err = thenError(
      { kind: 'UpdateAsset', changes: { name: 'x' } },
      registered({ status: 'decommissioned' }),
    );
    expect(err.code).toBe('ASSET_DECOMMISSIONED');
  });

  it('refuses registering an id twice', () => {
    const err = thenError(
      { kind: 'RegisterAsset', assetId: id, name: 'x', type: 'pump', location: null, metadata: {} },
      registered(),
    );
    expect(err.code).toBe('ASSET_ALREADY_EXISTS');
  });
});
