import { uuidv7 } from 'uuidv7';

/**
 * Time and identity, passed into domain logic instead of read from globals, so tests can fix them.
 *
 * @example
 * const clock = systemClock; clock.now(); // Date
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Generates identifiers; production uses time-ordered UUIDv7 (good B-tree locality, sortable). */
export interface IdGenerator {
  next(): string;
}

export const uuidV7Ids: IdGenerator = { next: () => uuidv7() };
