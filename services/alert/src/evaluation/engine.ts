import type { ClearCondition, Condition, Severity } from '@assetops/contracts';

/** What the engine needs of a rule. Durations in milliseconds. */
export interface RuleSpec {
  condition: Condition;
  forMs: number;
  clear: ClearCondition | null;
  keepFiringMs: number;
  escalation: { severity: Severity; afterMs: number } | null;
}

/**
 * One observation of a metric on event time: the aggregate of the readings of a short window
 * (a TelemetryAggregated event), or a single reading (count 1, first = last = min = max).
 */
export interface Sample {
  firstTs: number;
  first: number;
  lastTs: number;
  last: number;
  min: number;
  max: number;
  count: number;
}

/** The persisted evaluation state of one rule on one asset. */
export interface EvalState {
  phase: 'idle' | 'pending' | 'firing';
  /** Event time the pending period started, or the alert fired. */
  since: number | null;
  /** Event time since when every reading has been on the clear side (keep-firing). */
  clearingSince: number | null;
  escalated: boolean;
  /** Latest event time evaluated: older samples are late and ignored. */
  watermark: number | null;
  /** The previous sample's last reading (rate of change). */
  lastValue: number | null;
  lastValueTs: number | null;
}

export const initialState = (): EvalState => ({
  phase: 'idle',
  since: null,
  clearingSince: null,
  escalated: false,
  watermark: null,
  lastValue: null,
  lastValueTs: null,
});

export type TransitionKind = 'pending' | 'firing' | 'escalated' | 'cleared' | 'cancelled';

/** A change of the alert, at an event time, with the value that caused it. */
export interface Transition {
  kind: TransitionKind;
  at: number;
  value: number | null;
  cause: string;
}

export interface Outcome {
  state: EvalState;
  transitions: Transition[];
  /** The sample was older than what was already evaluated, and ignored. */
  late: boolean;
}

/** The predicates of one sample against a rule. */
interface Reading {
  /** Some reading breached. */
  any: boolean;
  /** Every reading breached (as far as the aggregate tells). */
  all: boolean;
  atFirst: boolean;
  atEnd: boolean;
  /** Every reading is on the clear side (hysteresis threshold, or the firing one). */
  clearAll: boolean;
  /** The value to report: the reading that breached most, or the rate. */
  value: number;
}

function read(rule: RuleSpec, state: EvalState, s: Sample): Reading {
  const c = rule.condition;
  const clear = rule.clear ?? {};
  switch (c.kind) {
    case 'above': {
      const t = c.threshold;
      const ct = clear.threshold ?? t;
      return {
        any: s.max > t,
        all: s.min > t,
        atFirst: s.first > t,
        atEnd: s.last > t,
        clearAll: s.max <= ct,
        value: s.max,
      };
    }
    case 'below': {
      const t = c.threshold;
      const ct = clear.threshold ?? t;
      return {
        any: s.min < t,
        all: s.max < t,
        atFirst: s.first < t,
        atEnd: s.last < t,
        clearAll: s.min >= ct,
        value: s.min,
      };
    }
    case 'outside': {
      const out = (v: number) => v < c.low || v > c.high;
      const lo = clear.low ?? c.low;
      const hi = clear.high ?? c.high;
      return {
        any: out(s.min) || out(s.max),
        all: s.min > c.high || s.max < c.low || (s.count <= 2 && out(s.first) && out(s.last)),
        atFirst: out(s.first),
        atEnd: out(s.last),
        clearAll: s.min >= lo && s.max <= hi,
        value: s.max > c.high ? s.max : s.min,
      };
    }
    case 'inside': {
      const inside = (v: number) => v >= c.low && v <= c.high;
      const lo = clear.low ?? c.low;
      const hi = clear.high ?? c.high;
      return {
        any: inside(s.first) || inside(s.last) || inside(s.min) || inside(s.max),
        all: s.min >= c.low && s.max <= c.high,
        atFirst: inside(s.first),
        atEnd: inside(s.last),
        clearAll: s.max < lo || s.min > hi,
        value: s.last,
      };
    }
    case 'rate_above': {
      // Against the previous observation, or within the window when it is the first.
      let rate = 0;
      if (state.lastValue !== null && state.lastValueTs !== null && s.lastTs > state.lastValueTs) {
        rate = Math.abs(s.last - state.lastValue) / ((s.lastTs - state.lastValueTs) / 1000);
      } else if (s.count >= 2 && s.lastTs > s.firstTs) {
        rate = Math.abs(s.last - s.first) / ((s.lastTs - s.firstTs) / 1000);
      }
      const over = rate > c.perSecond;
      return {
        any: over,
        all: over,
        atFirst: over,
        atEnd: over,
        clearAll: rate <= (clear.threshold ?? c.perSecond),
        value: rate,
      };
    }
    case 'no_data':
      // Data arriving is the clear condition of a no-data rule.
      return { any: false, all: false, atFirst: false, atEnd: false, clearAll: true, value: s.last };
  }
}

/** Words for a condition, for alert causes and events: `temperature > 90`. */
export function describeCondition(metric: string, c: Condition): string {
  switch (c.kind) {
    case 'above':
      return `${metric} > ${c.threshold}`;
    case 'below':
      return `${metric} < ${c.threshold}`;
    case 'outside':
      return `${metric} outside [${c.low}, ${c.high}]`;
    case 'inside':
      return `${metric} inside [${c.low}, ${c.high}]`;
    case 'rate_above':
      return `${metric} changing faster than ${c.perSecond}/s`;
    case 'no_data':
      return `no ${metric} data for ${c.seconds} s`;
  }
}

/**
 * Evaluates one sample on event time. Pending (`forMs`): the condition must hold through every
 * reading for that long; one reading back on the normal side cancels it. Firing: clears when every
 * reading is on the clear side (hysteresis threshold) — continuously for `keepFiringMs` if set.
 * Escalation: once, when the alert has been firing for `escalation.afterMs` and the condition still
 * breaches. Samples at or before the watermark are late: ignored, so the outcome depends only on
 * the order of event times.
 */
export function evaluate(rule: RuleSpec, prev: EvalState, s: Sample): Outcome {
  if (prev.watermark !== null && s.lastTs <= prev.watermark)
    return { state: prev, transitions: [], late: true };
  const r = read(rule, prev, s);
  const state: EvalState = { ...prev, watermark: s.lastTs, lastValue: s.last, lastValueTs: s.lastTs };
  const transitions: Transition[] = [];
  const fire = (at: number, cause: string) => {
    transitions.push({ kind: 'firing', at, value: r.value, cause });
    Object.assign(state, { phase: 'firing', since: at, clearingSince: null, escalated: false });
  };

  if (prev.phase === 'idle') {
    if (r.any && rule.condition.kind !== 'no_data') {
      const start = r.atFirst ? s.firstTs : s.lastTs;
      if (rule.forMs === 0) {
        fire(start, 'condition met');
      } else if (r.atEnd) {
        transitions.push({
          kind: 'pending',
          at: start,
          value: r.value,
          cause: 'condition met; waiting for the pending period',
        });
        Object.assign(state, { phase: 'pending', since: start });
        if (r.all && s.lastTs - start >= rule.forMs)
          fire(start + rule.forMs, `condition held for ${rule.forMs / 1000} s`);
      }
    }
  } else if (prev.phase === 'pending') {
    const since = prev.since ?? s.firstTs;
    if (r.all) {
      if (s.lastTs - since >= rule.forMs)
        fire(Math.max(since + rule.forMs, s.firstTs), `condition held for ${rule.forMs / 1000} s`);
    } else if (r.atEnd) {
      // It dipped back inside the window and crossed again: the pending period starts over.
      state.since = s.lastTs;
    } else {
      transitions.push({
        kind: 'cancelled',
        at: s.firstTs,
        value: s.last,
        cause: 'condition ended before the pending period',
      });
      Object.assign(state, { phase: 'idle', since: null });
    }
  } else {
    // firing (or acknowledged, which the engine does not distinguish)
    if (r.clearAll) {
      const clearingSince = prev.clearingSince ?? s.firstTs;
      if (s.lastTs - clearingSince >= rule.keepFiringMs) {
        const cause = rule.condition.kind === 'no_data' ? 'data received again' : 'condition cleared';
        transitions.push({ kind: 'cleared', at: clearingSince + rule.keepFiringMs, value: s.last, cause });
        Object.assign(state, { phase: 'idle', since: null, clearingSince: null, escalated: false });
      } else {
        state.clearingSince = clearingSince;
      }
    } else {
      state.clearingSince = null;
      const esc = rule.escalation;
      if (esc && !prev.escalated && prev.since !== null && s.lastTs - prev.since >= esc.afterMs) {
        transitions.push({
          kind: 'escalated',
          at: s.lastTs,
          value: r.value,
          cause: `still firing after ${esc.afterMs / 1000} s`,
        });
        state.escalated = true;
      }
    }
  }
  return { state, transitions, late: false };
}

/** How long after data was last seen a no-data rule fires (its silence plus `for`); null for other rules. */
export function silenceMs(rule: Pick<RuleSpec, 'condition' | 'forMs'>): number | null {
  return rule.condition.kind === 'no_data' ? rule.condition.seconds * 1000 + rule.forMs : null;
}

/**
 * A no-data rule checked at `nowMs` (wall clock: absent data has no event time) against the last
 * time data was seen (or the time watching began). Fires once when the silence exceeds the rule's
 * `seconds` (+ its pending period).
 */
export function evaluateSilence(rule: RuleSpec, prev: EvalState, lastSeenMs: number, nowMs: number): Outcome {
  if (rule.condition.kind !== 'no_data' || prev.phase === 'firing')
    return { state: prev, transitions: [], late: false };
  const silentFor = nowMs - lastSeenMs;
  const limit = silenceMs(rule)!;
  if (silentFor < limit) return { state: prev, transitions: [], late: false };
  const at = lastSeenMs + limit;
  return {
    state: { ...prev, phase: 'firing', since: at, clearingSince: null, escalated: false },
    transitions: [
      { kind: 'firing', at, value: null, cause: `no data for ${Math.round(silentFor / 1000)} s` },
    ],
    late: false,
  };
}
