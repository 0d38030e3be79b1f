import type { ShiftWindow, Weekday } from '@assetops/contracts';

// getUTCDay() order: Sunday is 0.
const DAY_INDEX: Readonly<Record<Weekday, number>> = {
  sun: 0,
  mon: 1,
  tue: 2,
  wed: 3,
  thu: 4,
  fri: 5,
  sat: 6,
};

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':');
  return Number(h) * 60 + Number(m);
}

/**
 * Whether `at` falls in one of the weekly windows (UTC). A window runs on each of its days from
 * `start` to `end`; an `end` at or before `start` runs past midnight into the next day, so a
 * Friday `22:00`–`06:00` window covers Saturday until 06:00. No windows at all: always on shift
 * (an on-call technician, governed only by the `available` switch).
 *
 * @example
 * isOnShift([{ days: ['mon'], start: '22:00', end: '06:00' }], new Date('2026-03-03T05:00:00Z')); // true (Tue 05:00)
 */
export function isOnShift(shifts: readonly ShiftWindow[], at: Date): boolean {
  if (shifts.length === 0) return true;
  const today = at.getUTCDay();
  const yesterday = (today + 6) % 7;
  const now = at.getUTCHours() * 60 + at.getUTCMinutes();
  return shifts.some((window) => {
    const start = minutes(window.start);
    const end = minutes(window.end);
    const overnight = end <= start;
    return window.days.some((day) => {
      const index = DAY_INDEX[day];
      if (!overnight) return index === today && now >= start && now < end;
      // The part before midnight belongs to the window's day, the part after to the next day.
      return (index === today && now >= start) || (index === yesterday && now < end);
    });
  });
}

/**
 * Shift windows in one shape (`days`, `start`, `end`, in that key order): whatever order a client
 * sent the keys in, or jsonb stored them in, equal windows compare equal.
 */
export function normalizeShifts(shifts: readonly ShiftWindow[]): ShiftWindow[] {
  return shifts.map((w) => ({ days: [...w.days], start: w.start, end: w.end }));
}
