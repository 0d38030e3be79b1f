import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../src/index.js';

describe('retryDelayMs', () => {
  const policy = { maxAttempts: 8, baseDelayMs: 200, maxDelayMs: 60_000 };

  it('doubles with every failure, jittered within the upper half', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, policy, () => 0))).toEqual([100, 200, 400, 800]);
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, policy, () => 1))).toEqual([200, 400, 800, 1600]);
  });

  it('never exceeds the maximum, however many failures', () => {
    expect(retryDelayMs(30, policy, () => 1)).toBe(60_000);
    expect(retryDelayMs(5000, policy, () => 0.5)).toBe(45_000);
  });
});
