import { describe, expect, it } from 'vitest';
import { inboxBatchSizeOf } from '../src/run-service.js';

describe('INBOX_BATCH_SIZE', () => {
  it('defaults to 1,000 events per consumer transaction', () => {
    expect(inboxBatchSizeOf(undefined)).toBe(1000);
    expect(inboxBatchSizeOf('')).toBe(1000);
  });

  it('takes a whole number from 1 to 10,000', () => {
    expect(inboxBatchSizeOf('1')).toBe(1);
    expect(inboxBatchSizeOf('200')).toBe(200);
    expect(inboxBatchSizeOf('10000')).toBe(10_000);
  });

  it('refuses anything else, naming the setting', () => {
    for (const bad of ['0', '-5', '2.5', '10001', 'lots', 'Infinity']) {
      expect(() => inboxBatchSizeOf(bad)).toThrow(/INBOX_BATCH_SIZE must be a whole number from 1 to 10000/);
    }
  });
});
