import type { Condition, Severity } from '@assetops/contracts';
import {
  type EvalState,
  evaluate,
  evaluateSilence,
  initialState,
  type RuleSpec,
  type Sample,
  type Transition,
} from '../evaluation/engine.js';

/** An alert the rule would have raised, in epoch milliseconds. */
export interface ReplayEpisode {
  assetId: string;
  raisedAt: number;
  clearedAt: number | null;
  severity: Severity;
  peakValue: number | null;
  pendingSince?: number;
  escalatedAt?: number;
}

/**
 * Replays one rule on one asset's history, sample by sample in event-time order, through the same
 * engine the live evaluation uses: what it would have raised, when, and how far it went. For a
 * no-data rule the silences between samples are checked as the timer would have (watching starts
 * at `fromMs`). Pure: the caller feeds the samples.
 */
export class Replay {
  readonly episodes: ReplayEpisode[] = [];
  samples = 0;
  cancelledPending = 0;
  private state: EvalState = initialState();
  private open: ReplayEpisode | undefined;
  private pendingSince: number | undefined;
  private lastSeen: number;

  constructor(
    private readonly rule: RuleSpec & { severity: Severity },
    readonly assetId: string,
    fromMs: number,
  ) {
    this.lastSeen = fromMs;
  }

  push(sample: Sample): void {
    this.samples++;
    this.checkSilence(sample.firstTs);
    const wasFiring = this.state.phase === 'firing';
    const value = peakCandidate(this.rule.condition, this.state, sample);
    const outcome = evaluate(this.rule, this.state, sample);
    if (outcome.late) return;
    if (wasFiring && this.open && value !== null)
      this.open.peakValue = worse(this.rule.condition, this.open.peakValue, value);
    this.record(outcome.transitions);
    this.state = outcome.state;
    this.lastSeen = sample.lastTs;
  }

  /** The end of the range: a no-data rule may fire on the trailing silence. */
  finish(toMs: number): void {
    this.checkSilence(toMs);
  }

  private checkSilence(nowMs: number): void {
    if (this.rule.condition.kind !== 'no_data') return;
    const outcome = evaluateSilence(this.rule, this.state, this.lastSeen, nowMs);
    this.record(outcome.transitions);
    this.state = outcome.state;
  }

  private record(transitions: Transition[]): void {
    for (const t of transitions) {
      switch (t.kind) {
        case 'pending':
          this.pendingSince = t.at;
          break;
        case 'cancelled':
          this.pendingSince = undefined;
          this.cancelledPending++;
          break;
        case 'firing':
          this.open = {
            assetId: this.assetId,
            raisedAt: t.at,
            clearedAt: null,
            severity: this.rule.severity,
            peakValue: this.rule.condition.kind === 'no_data' ? null : t.value,
            ...(this.pendingSince === undefined ? {} : { pendingSince: this.pendingSince }),
          };
          this.episodes.push(this.open);
          this.pendingSince = undefined;
          break;
        case 'escalated':
          if (this.open) {
            this.open.severity = this.rule.escalation?.severity ?? this.open.severity;
            this.open.escalatedAt = t.at;
          }
          break;
        case 'cleared':
          if (this.open) this.open.clearedAt = t.at;
          this.open = undefined;
          break;
      }
    }
  }
}

/** The value of a sample that goes furthest to the wrong side of the condition (as the engine reports it). */
function peakCandidate(c: Condition, state: EvalState, s: Sample): number | null {
  switch (c.kind) {
    case 'above':
      return s.max;
    case 'below':
      return s.min;
    case 'outside':
      return s.max - c.high >= c.low - s.min ? s.max : s.min;
    case 'rate_above':
      if (state.lastValue !== null && state.lastValueTs !== null && s.lastTs > state.lastValueTs) {
        return Math.abs(s.last - state.lastValue) / ((s.lastTs - state.lastValueTs) / 1000);
      }
      return s.count >= 2 && s.lastTs > s.firstTs
        ? Math.abs(s.last - s.first) / ((s.lastTs - s.firstTs) / 1000)
        : 0;
    case 'inside':
    case 'no_data':
      // Inside a range there is no "further"; no data has no value.
      return null;
  }
}

function worse(c: Condition, current: number | null, candidate: number): number {
  if (current === null) return candidate;
  switch (c.kind) {
    case 'below':
      return Math.min(current, candidate);
    case 'outside': {
      const beyond = (v: number) => Math.max(v - c.high, c.low - v);
      return beyond(candidate) > beyond(current) ? candidate : current;
    }
    default:
      return Math.max(current, candidate);
  }
}

/** A reading as a sample (count 1). */
export function readingSample(tsMs: number, value: number): Sample {
  return { firstTs: tsMs, first: value, lastTs: tsMs, last: value, min: value, max: value, count: 1 };
}
