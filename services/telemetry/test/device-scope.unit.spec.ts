import { describe, expect, it } from 'vitest';
import { deviceScopeOf, restrictToScope } from '../src/ingest/device-scope.js';

const MINE = '0190a000-0000-7000-8000-000000000001';
const OTHER = '0190a000-0000-7000-8000-000000000002';
const reading = (assetId: string) => ({ assetId, metric: 'rpm', value: 1, tsMs: 0 });

describe('device scope of an ingest request', () => {
  it('reads the header the gateway sets', () => {
    expect(deviceScopeOf(undefined)).toBeUndefined();
    expect(deviceScopeOf('fleet')).toEqual({ kind: 'fleet' });
    expect(deviceScopeOf(`asset:${MINE.toUpperCase()}`)).toEqual({ kind: 'asset', assetId: MINE });
    expect(() => deviceScopeOf('asset:nope')).toThrow(/asset:<uuid> or fleet/);
    expect(() => deviceScopeOf(['fleet', 'fleet'])).toThrow();
  });

  it('turns readings of other assets into OUT_OF_SCOPE rejections and leaves the rest', () => {
    const scope = { kind: 'asset', assetId: MINE } as const;
    expect(restrictToScope(reading(MINE), scope)).toEqual(reading(MINE));
    expect(restrictToScope(reading(OTHER), scope)).toMatchObject({ code: 'OUT_OF_SCOPE' });
    const invalid = { code: 'INVALID_VALUE', reason: 'x' };
    expect(restrictToScope(invalid, scope)).toBe(invalid);
    expect(restrictToScope(reading(OTHER), { kind: 'fleet' })).toEqual(reading(OTHER));
    expect(restrictToScope(reading(OTHER), undefined)).toEqual(reading(OTHER));
  });
});
