import { describe, expect, it } from 'vitest';
import { compileRouteTable, defaultRoutes, splitPath } from '../src/proxy/route-table.js';

describe('route table', () => {
  const match = compileRouteTable(defaultRoutes);

  it('routes a prefix and everything below it', () => {
    expect(match('/api/v1/assets')?.upstream).toBe('asset');
    expect(match('/api/v1/assets/')?.upstream).toBe('asset');
    expect(match('/api/v1/assets/0190/status')?.upstream).toBe('asset');
    expect(match('/api/v1/alerts/7/acknowledge')?.upstream).toBe('alert');
  });

  it('matches whole segments only', () => {
    expect(match('/api/v1/assetsX')).toBeUndefined();
    expect(match('/api/v1')).toBeUndefined();
    expect(match('/api/v2/assets')).toBeUndefined();
  });

  it('prefers the longest pattern, whatever the table order', () => {
    const reversed = compileRouteTable(Object.fromEntries(Object.entries(defaultRoutes).reverse()));
    for (const m of [match, reversed]) {
      expect(m('/api/v1/assets/0190/telemetry')).toEqual({
        upstream: 'telemetry',
        pattern: '/api/v1/assets/:id/telemetry',
      });
      expect(m('/api/v1/assets/0190/telemetry/latest')?.upstream).toBe('telemetry');
      expect(m('/api/v1/assets/0190/telemetryX')?.upstream).toBe('asset');
      expect(m('/api/v1/assets/0190')?.upstream).toBe('asset');
    }
  });

  it('prefers a literal segment over a parameter at the same place', () => {
    const m = compileRouteTable({ '/api/v1/things/:id': 'a', '/api/v1/things/special': 'b' });
    expect(m('/api/v1/things/special')?.upstream).toBe('b');
    expect(m('/api/v1/things/other')?.upstream).toBe('a');
  });

  it('compares decoded segments and refuses dot segments and bad encoding', () => {
    expect(match('/api/v1/%61ssets')?.upstream).toBe('asset');
    expect(match('/api/v1/assets/%2e%2e/alerts')).toBeUndefined();
    expect(match('/api/v1/assets/../alerts')).toBeUndefined();
    expect(match('/api/v1/assets/..\\alerts')).toBeUndefined();
    expect(match('/api/v1/assets/%E0%A4%A')).toBeUndefined();
    expect(splitPath('/api/v1/assets/a%2Fb')).toEqual(['api', 'v1', 'assets', 'a/b']);
  });

  it('refuses malformed patterns at start-up', () => {
    expect(() => compileRouteTable({ 'api/v1/x': 'a' })).toThrow(/must start with/);
    expect(() => compileRouteTable({ '/api/v1/x/': 'a' })).toThrow(/empty segment/);
    expect(() => compileRouteTable({ '/api/v1/:': 'a' })).toThrow(/unnamed/);
    expect(() => compileRouteTable({ '/api/v1/x': '' })).toThrow(/no upstream/);
  });
});
