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
    ]) {
      expect(toProblem(err)).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE' });
    }
    expect(toProblem(Object.assign(new Error('syntax error'), { code: '42601' }))).toMatchObject({
      status: 500,
      code: 'INTERNAL_ERROR',
    });
  });
});
