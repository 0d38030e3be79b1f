import { describe, expect, it } from 'vitest';
import { problem, toProblem } from '../src/http/problem.js';

describe('problem documents', () => {
  it('keeps the standard members when an extension member has the same name', () => {
    const doc = problem(409, 'SAGA_BUSY', 'the saga is running', {
      status: 'running',
      code: 'OTHER',
      errors: [],
    } as unknown as Parameters<typeof problem>[3]);
    expect(doc).toEqual({
      type: 'urn:assetops:problem:saga-busy',
      title: 'Conflict',
      status: 409,
      code: 'SAGA_BUSY',
      detail: 'the saga is running',
      errors: [],
    });
  });
});

describe('values the database refuses', () => {
  it('answer 400, naming the kind of value, not 500', () => {
    for (const code of ['22021', '22P05']) {
      expect(
        toProblem(Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code })),
      ).toMatchObject({
        status: 400,
        code: 'INVALID_CHARACTER',
      });
    }
    for (const code of ['22001', '22003', '22008']) {
      expect(toProblem(Object.assign(new Error('out of range'), { code }))).toMatchObject({
        status: 400,
        code: 'VALUE_OUT_OF_RANGE',
      });
    }
  });
});

describe('database outages', () => {
  it('answer 503 DATABASE_UNAVAILABLE (retryable), not 500', () => {
    for (const err of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
      Object.assign(new Error('connection failure'), { code: '08006' }),
      Object.assign(new Error('remaining connection slots are reserved for superuser connections'), {
        code: '53300',
      }),
      Object.assign(new Error('out of memory'), { code: '53200' }),
      new Error('Connection terminated unexpectedly'),
      // The server's Unix socket while it restarts.
      Object.assign(new Error('connect ENOENT /var/run/postgresql/.s.PGSQL.5432'), {
        code: 'ENOENT',
        syscall: 'connect',
      }),
    ]) {
      expect(toProblem(err)).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE' });
    }
    // A file missing otherwise is no outage.
    expect(
      toProblem(Object.assign(new Error('open ENOENT'), { code: 'ENOENT', syscall: 'open' })),
    ).toMatchObject({
      status: 500,
    });
    expect(toProblem(Object.assign(new Error('syntax error'), { code: '42601' }))).toMatchObject({
      status: 500,
      code: 'INTERNAL_ERROR',
    });
  });
});
