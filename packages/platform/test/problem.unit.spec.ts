import { describe, expect, it } from 'vitest';
import { problem } from '../src/http/problem.js';

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
