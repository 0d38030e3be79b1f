import type { Condition } from '@assetops/contracts';
import { describe, expect, it } from 'vitest';
import {
  type EvalState,
  evaluate,
  evaluateSilence,
  initialState,
  type RuleSpec,
  type Sample,
  type Transition,
} from '../src/evaluation/engine.js';

const rule = (condition: Condition, more: Partial<RuleSpec> = {}): RuleSpec => ({
  condition,
  forMs: 0,
  clear: null,
  keepFiringMs: 0,
  escalation: null,
  ...more,
});

/** One reading as a sample. */
const at = (ts: number, value: number): Sample => ({
  firstTs: ts,
  first: value,
  lastTs: ts,
  last: value,
  min: value,
  max: value,
  count: 1,
});

/** Runs readings (one per second from t=0 unless given as [ts, value]) and collects the transitions. */
function run(r: RuleSpec, values: (number | [number, number])[], state: EvalState = initialState()) {
  const transitions: Transition[] = [];
  let s = state;
  values.forEach((v, i) => {
    const [ts, value] = Array.isArray(v) ? v : [i * 1000, v];
    const out = evaluate(r, s, at(ts, value));
    s = out.state;
    transitions.push(...out.transitions);
  });
  return { state: s, kinds: transitions.map((t) => `${t.kind}@${t.at}`), transitions };
}

describe('alert rule evaluation', () => {
  it('fires on each condition type, and clears when it no longer holds', () => {
    expect(run(rule({ kind: 'above', threshold: 80 }), [70, 81, 85, 79]).kinds).toEqual([
      'firing@1000',
      'cleared@3000',
    ]);
    expect(run(rule({ kind: 'below', threshold: 10 }), [12, 9, 11]).kinds).toEqual([
      'firing@1000',
      'cleared@2000',
    ]);
    expect(run(rule({ kind: 'outside', low: 10, high: 20 }), [15, 21, 15, 5, 15]).kinds).toEqual([
      'firing@1000',
      'cleared@2000',
      'firing@3000',
      'cleared@4000',
    ]);
    expect(run(rule({ kind: 'inside', low: 10, high: 20 }), [5, 15, 25]).kinds).toEqual([
      'firing@1000',
      'cleared@2000',
    ]);
    // 1 unit/s is fine; 10 units in one second is not.
    expect(run(rule({ kind: 'rate_above', perSecond: 5 }), [0, 1, 2, 12, 13]).kinds).toEqual([
      'firing@3000',
      'cleared@4000',
    ]);
  });

  it('judges a window aggregate by its extremes: a spike inside the window fires', () => {
    const spike: Sample = { firstTs: 0, first: 70, lastTs: 900, last: 71, min: 70, max: 95, count: 10 };
    expect(evaluate(rule({ kind: 'above', threshold: 90 }), initialState(), spike).transitions).toEqual([
      { kind: 'firing', at: 900, value: 95, cause: 'condition met' },
    ]);
  });

  it('waits for the pending period, and cancels it when the condition ends early', () => {
    const r = rule({ kind: 'above', threshold: 80 }, { forMs: 3000 });
    expect(run(r, [81, 82, 79, 81, 82, 83, 84]).kinds).toEqual([
      'pending@0',
      'cancelled@2000',
      'pending@3000',
      'firing@6000',
    ]);
  });

  it('gives a noisy signal around the threshold one episode, thanks to hysteresis', () => {
    const noisy = Array.from({ length: 200 }, (_, i) => 80 + (i % 2 === 0 ? 0.6 : -0.6) + Math.sin(i) * 0.3);
    const withoutHysteresis = run(rule({ kind: 'above', threshold: 80 }), noisy);
    expect(withoutHysteresis.kinds.filter((k) => k.startsWith('firing')).length).toBeGreaterThan(50);
    const withHysteresis = run(rule({ kind: 'above', threshold: 80 }, { clear: { threshold: 75 } }), [
      ...noisy,
      74,
    ]);
    expect(withHysteresis.kinds).toEqual(['firing@0', 'cleared@200000']);
  });

  it('keeps firing until the clear side held for the keep-firing duration', () => {
    const r = rule({ kind: 'above', threshold: 80 }, { keepFiringMs: 3000 });
    expect(run(r, [85, 70, 70, 85, 70, 70, 70, 70]).kinds).toEqual(['firing@0', 'cleared@7000']);
  });

  it('escalates once when the alert keeps firing', () => {
    const r = rule({ kind: 'above', threshold: 80 }, { escalation: { severity: 'critical', afterMs: 5000 } });
    expect(run(r, [85, 86, 87, 88, 89, 90, 91, 92, 70]).kinds).toEqual([
      'firing@0',
      'escalated@5000',
      'cleared@8000',
    ]);
  });

  it('ignores samples older than what it already evaluated (event time decides)', () => {
    const r = rule({ kind: 'above', threshold: 80 });
    const { state } = run(r, [[5000, 70]]);
    const late = evaluate(r, state, at(4000, 99));
    expect(late).toMatchObject({ late: true, transitions: [] });
    expect(late.state).toBe(state);
  });

  it('gives the same transitions however the samples are cut into windows', () => {
    const r = rule({ kind: 'above', threshold: 80 }, { forMs: 2000, clear: { threshold: 75 } });
    const series = [70, 81, 82, 83, 84, 76, 74, 70];
    const perReading = run(r, series).kinds;
    // The same readings in windows of two.
    let s = initialState();
    const kinds: string[] = [];
    for (let i = 0; i < series.length; i += 2) {
      const a = series[i]!;
      const b = series[i + 1]!;
      const out = evaluate(r, s, {
        firstTs: i * 1000,
        first: a,
        lastTs: (i + 1) * 1000,
        last: b,
        min: Math.min(a, b),
        max: Math.max(a, b),
        count: 2,
      });
      s = out.state;
      kinds.push(...out.transitions.map((t) => `${t.kind}@${t.at}`));
    }
    expect(perReading).toEqual(['pending@1000', 'firing@3000', 'cleared@6000']);
    expect(kinds).toEqual(perReading);
  });

  it('fires a no-data rule after the silence, once, and clears it when data arrives', () => {
    const r = rule({ kind: 'no_data', seconds: 30 });
    expect(evaluateSilence(r, initialState(), 0, 29_000).transitions).toEqual([]);
    const fired = evaluateSilence(r, initialState(), 0, 31_000);
    expect(fired.transitions).toEqual([
      { kind: 'firing', at: 30_000, value: null, cause: 'no data for 31 s' },
    ]);
    expect(evaluateSilence(r, fired.state, 0, 60_000).transitions).toEqual([]);
    expect(evaluate(r, fired.state, at(61_000, 5)).transitions.map((t) => t.kind)).toEqual(['cleared']);
  });
});
