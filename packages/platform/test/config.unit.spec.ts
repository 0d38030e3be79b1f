import { describe, expect, it } from 'vitest';
import {
  boolean,
  ConfigError,
  duration,
  integer,
  loadConfig,
  optional,
  port,
  string,
  url,
  urlList,
} from '../src/index.js';

const spec = {
  PORT: port({ default: 8080, description: 'HTTP port' }),
  DATABASE_URL: url({ protocols: ['postgres:', 'postgresql:'], secret: true, description: 'the database' }),
  NATS_URL: urlList({ protocols: ['nats:'], default: ['nats://127.0.0.1:4222'], description: 'NATS' }),
  POOL: integer({ default: 10, min: 1, max: 50, description: 'pool size' }),
  DEMO: boolean({ default: true, description: 'demo data' }),
  RETENTION: duration({ default: 86_400_000, description: 'retention' }),
  TOKEN: optional(string({ minLength: 16, secret: true, description: 'token' })),
  LEVEL: string({ default: 'info', oneOf: ['info', 'debug'], description: 'level' }),
};

describe('loadConfig', () => {
  it('parses values and applies defaults', () => {
    const config = loadConfig(spec, {
      DATABASE_URL: 'postgres://u:p@db:5432/asset',
      NATS_URL: 'nats://a:4222, nats://b:4222',
      RETENTION: '7d',
      DEMO: 'off',
    });
    expect(config).toEqual({
      PORT: 8080,
      DATABASE_URL: 'postgres://u:p@db:5432/asset',
      NATS_URL: ['nats://a:4222', 'nats://b:4222'],
      POOL: 10,
      DEMO: false,
      RETENTION: 7 * 86_400_000,
      TOKEN: undefined,
      LEVEL: 'info',
    });
  });

  it('reports every bad value at once, with a clear message each, hiding secrets', () => {
    const err = (() => {
      try {
        loadConfig(spec, {
          PORT: '80a',
          POOL: '0',
          DEMO: 'maybe',
          RETENTION: '3 weeks',
          TOKEN: 'short',
          LEVEL: 'loud',
        });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.problems).toEqual([
      'PORT="80a": must be a port number between 0 and 65535',
      'DATABASE_URL is required: the database',
      'POOL="0": must be an integer between 1 and 50',
      'DEMO="maybe": must be true or false',
      'RETENTION="3 weeks": must be a duration such as 500ms, 30s, 5m, 24h, 7d, 2w or 5y',
      'TOKEN=(hidden): must be at least 16 characters long',
      'LEVEL="loud": must be one of info, debug',
    ]);
  });

  it('refuses a URL with the wrong protocol', () => {
    expect(() => loadConfig(spec, { DATABASE_URL: 'mysql://db/x' })).toThrow(
      /DATABASE_URL=\(hidden\): must use postgres: or postgresql:, not mysql:/,
    );
  });
});
