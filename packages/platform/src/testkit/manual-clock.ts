import type { Clock } from '../clock.js';

/**
 * A clock that moves only when told to.
 *
 * @example
 * const clock = new ManualClock('2026-01-01T00:00:00Z'); clock.advance(5_000);
 */
export class ManualClock implements Clock {
  private current: number;
  constructor(start: string | Date = '2026-01-01T00:00:00.000Z') {
    this.current = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current += ms;
  }
  set(to: string | Date): void {
    this.current = new Date(to).getTime();
  }
}
