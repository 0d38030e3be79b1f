/** The part of a TelemetryAggregated window a counter needs. */
export interface CounterWindow {
  first: number;
  firstTs: string;
  last: number;
  lastTs: string;
  min: number;
  max: number;
}

/** What a plan remembers of its counter: the last value counted and the event time it was read at. */
export interface CounterMemory {
  lastValue: number | null;
  /** Windows ending at or before this time are late (or from before the plan counted) and ignored. */
  countedUntil: string | null;
}

export type CounterOutcome =
  | { counted: false }
  | { counted: true; usage: number; lastValue: number; countedUntil: string };

/**
 * The usage a window of a monotonic counter (an operating-hours meter, a cycle count) adds.
 *
 * - Usage is the rise of the counter: from the last value counted to the window's `first`, then
 *   within the window to its `last`.
 * - A value lower than the one before is a reset (meter replaced, controller restarted): the new
 *   counter counts from 0, so the step adds the new value itself (Prometheus' `increase` does the
 *   same). Any decrease is a reset — a counter that jitters downwards is not a counter.
 * - Within a window only first, last, min and max are known. A reset shows as `min < first` or
 *   `max > last`; assuming one reset, a `max` above `last` is the peak before it (the new counter's
 *   values never exceed `last`), so the window adds `(max − first) + last`; otherwise the rise
 *   before the reset is unknown and counts 0 (an undercount, never an overcount).
 * - The first window a plan sees sets the baseline: only its own rise counts, not the counter's
 *   absolute value.
 * - A window whose `lastTs` is not after `countedUntil` is a late window (or a replay under another
 *   event id) whose readings the baseline already passed: it is ignored, which makes the counting
 *   idempotent. A window that straddles `countedUntil` (late readings and new ones) counts as one
 *   step from the last value to its `last`.
 */
export function countCounterUsage(memory: CounterMemory, window: CounterWindow): CounterOutcome {
  const lastTs = Date.parse(window.lastTs);
  const until = memory.countedUntil === null ? null : Date.parse(memory.countedUntil);
  if (until !== null && lastTs <= until) return { counted: false };
  let usage: number;
  if (memory.lastValue === null) usage = withinWindow(window);
  else if (until !== null && Date.parse(window.firstTs) <= until) usage = step(memory.lastValue, window.last);
  else usage = step(memory.lastValue, window.first) + withinWindow(window);
  return { counted: true, usage, lastValue: window.last, countedUntil: window.lastTs };
}

/** One step of the counter: its rise, or after a reset the new counter's value (counted from 0). */
function step(from: number, to: number): number {
  return to >= from ? to - from : to;
}

function withinWindow(w: CounterWindow): number {
  if (w.min >= w.first && w.max <= w.last) return w.last - w.first;
  const beforeReset = w.max > w.last ? w.max - w.first : 0;
  return beforeReset + w.last;
}
