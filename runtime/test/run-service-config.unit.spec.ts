import { loadConfig } from '@assetops/platform';
import { describe, expect, it } from 'vitest';
import { runServiceConfigSpec } from '../src/config.js';

const inboxBatchSizeOf = (raw: string | undefined) =>
  loadConfig(runServiceConfigSpec, { INBOX_BATCH_SIZE: raw }).INBOX_BATCH_SIZE;

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
      expect(() => inboxBatchSizeOf(bad)).toThrow(
        `INBOX_BATCH_SIZE=${JSON.stringify(bad)}: must be an integer between 1 and 10000`,
      );
    }
  });
});

describe('DB_SELF_VACUUM', () => {
  it('defaults to auto and refuses a mode it does not know, naming the setting', () => {
    expect(loadConfig(runServiceConfigSpec, {}).DB_SELF_VACUUM).toBe('auto');
    expect(() => loadConfig(runServiceConfigSpec, { DB_SELF_VACUUM: 'sometimes' })).toThrow(
      'DB_SELF_VACUUM="sometimes": must be one of auto, on, off',
    );
  });
});
