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

describe('OUTBOX_RETENTION and INBOX_RETENTION', () => {
  it('default to a day of published outbox rows and a week of processed event ids', () => {
    const config = loadConfig(runServiceConfigSpec, {});
    expect(config.OUTBOX_RETENTION).toBe(24 * 3_600_000);
    expect(config.INBOX_RETENTION).toBe(7 * 24 * 3_600_000);
  });

  it('take a duration in either runtime, and refuse what is not one, naming the setting', () => {
    const config = loadConfig(runServiceConfigSpec, { OUTBOX_RETENTION: '2h', INBOX_RETENTION: '3d' });
    expect(config.OUTBOX_RETENTION).toBe(2 * 3_600_000);
    expect(config.INBOX_RETENTION).toBe(3 * 24 * 3_600_000);
    expect(() => loadConfig(runServiceConfigSpec, { INBOX_RETENTION: 'a while' })).toThrow(/INBOX_RETENTION/);
  });
});
