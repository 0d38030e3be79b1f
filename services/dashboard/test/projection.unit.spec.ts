import { randomUUID } from 'node:crypto';
import { TelemetryAggregated } from '@assetops/contracts';
import { describe, expect, it } from 'vitest';
import { compactionKey } from '../src/projection/projection.handlers.js';
import { alertScore, severityRank, worseSeverity } from '../src/projection/projection.rules.js';
import { reconcile } from '../src/reconciliation/reconciliation.diff.js';
import { parseLastEventId, sseComment, sseMessage } from '../src/stream/stream.format.js';
import { containsPattern } from '../src/views/view.sort.js';
import { events } from './support/harness.js';

describe('projection rules', () => {
  it('orders severities and never lowers one', () => {
    expect(severityRank('critical')).toBeGreaterThan(severityRank('major'));
    expect(worseSeverity('major', 'warning')).toBe('major');
    expect(worseSeverity('warning', 'critical')).toBe('critical');
  });

  it('scores alerts worst first, saturating each level', () => {
    const oneCritical = alertScore({ info: 0, warning: 0, major: 0, critical: 1 });
    const manyMajors = alertScore({ info: 999, warning: 999, major: 5000, critical: 0 });
    expect(oneCritical).toBeGreaterThan(manyMajors);
    expect(alertScore({ info: 1, warning: 2, major: 3, critical: 0 })).toBe(3_002_001);
  });

  it('compacts only telemetry, by asset and set of metrics, in order of windows', () => {
    const assetId = randomUUID();
    const event = events.telemetry(assetId, 'rpm', 1, '2026-03-02T10:00:00.400Z');
    expect(event.type).toBe(TelemetryAggregated.type);
    const key = compactionKey(event)!;
    expect(key).toEqual({
      key: expect.stringMatching(`^telemetry:${assetId}:`),
      ts: '2026-03-02T10:00:00.000Z',
    });
    const both = compactionKey(
      events.telemetryOf(assetId, { rpm: 1, temperature: 2 }, '2026-03-02T10:00:00.400Z'),
    );
    const bothReordered = compactionKey(
      events.telemetryOf(assetId, { temperature: 2, rpm: 1 }, '2026-03-02T10:00:05.000Z'),
    );
    expect(both!.key).not.toBe(key.key);
    expect(bothReordered).toEqual({ key: both!.key, ts: '2026-03-02T10:00:05.000Z' });
    expect(compactionKey(events.telemetry(randomUUID(), 'rpm', 1, '2026-03-02T10:00:00.400Z'))!.key).not.toBe(
      key.key,
    );
    expect(compactionKey(events.registered(assetId))).toBeUndefined();
  });

  it('escapes LIKE wildcards in the search text', () => {
    expect(containsPattern('100%_a\\b')).toBe('%100\\%\\_a\\\\b%');
  });
});

describe('SSE format', () => {
  it('writes one message per event, data on one line', () => {
    expect(sseMessage({ event: 'asset', id: 7, data: { name: 'a\nb' } })).toBe(
      'event: asset\nid: 7\ndata: {"name":"a\\nb"}\n\n',
    );
    expect(sseComment('keep\nalive')).toBe(': keep alive\n\n');
  });

  it('accepts only its own positions as Last-Event-ID', () => {
    expect(parseLastEventId('42')).toBe(42);
    expect(parseLastEventId(' 42 ')).toBe(42);
    expect(parseLastEventId('abc')).toBeUndefined();
    expect(parseLastEventId(undefined)).toBeUndefined();
    expect(parseLastEventId('-1')).toBeUndefined();
  });
});

describe('reconciliation diff', () => {
  const a = randomUUID();
  const b = randomUUID();

  it('reports nothing when both sides agree', () => {
    const side = { assets: [{ id: a, status: 'active' }], alerts: [], workOrders: [] };
    expect(reconcile(side, side)).toMatchObject({ driftCount: 0, drift: [] });
  });

  it('reports missing, unexpected and mismatching items, and counts', () => {
    const result = reconcile(
      {
        assets: [{ id: a, status: 'active' }],
        alerts: [{ id: b, assetId: a, severity: 'critical', status: 'firing' }],
      },
      {
        assets: [
          { id: a, status: 'maintenance' },
          { id: b, status: 'active' },
        ],
        alerts: [{ id: b, assetId: a, severity: 'major', status: 'acknowledged' }],
      },
    );
    expect(result.driftCount).toBe(4);
    expect(result.drift).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'asset', id: a, issue: 'mismatch', field: 'status' }),
        expect.objectContaining({ kind: 'asset', id: b, issue: 'unexpected' }),
        expect.objectContaining({
          kind: 'alert',
          id: b,
          field: 'severity',
          source: 'critical',
          readModel: 'major',
        }),
        expect.objectContaining({ kind: 'alert', id: b, field: 'status' }),
      ]),
    );
    expect(result.counts.assetsByStatus).toEqual({
      active: { source: 1, readModel: 1 },
      maintenance: { source: 0, readModel: 1 },
    });
  });

  it('skips what a source could not provide', () => {
    const result = reconcile({}, { assets: [{ id: a, status: 'active' }] });
    expect(result.driftCount).toBe(0);
    expect(result.counts.assetsByStatus).toEqual({});
  });
});
