import { ValidationError } from '@assetops/platform';
import { describe, expect, it } from 'vitest';
import { parseStatuses } from '../src/work-orders/work-order.filter.js';

describe('parseStatuses (the status filter of the work-order list)', () => {
  it('is no filter when the parameter is absent', () => {
    expect(parseStatuses(undefined)).toBeUndefined();
  });

  it('takes one status, several comma-separated or repeated, in first-seen order without repeats', () => {
    expect(parseStatuses(['open'])).toEqual(['open']);
    expect(parseStatuses(['open,assigned', 'on_hold', ' in_progress ', 'open'])).toEqual([
      'open',
      'assigned',
      'on_hold',
      'in_progress',
    ]);
  });

  it('refuses an unknown status, an empty one and a wrong case, naming what it refused', () => {
    for (const values of [['done'], ['open,'], [''], ['OPEN'], ['open', 'closed']]) {
      expect(() => parseStatuses(values), JSON.stringify(values)).toThrow(ValidationError);
    }
    try {
      parseStatuses(['open,done,,x']);
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'INVALID_STATUS', status: 400 });
      expect((err as Error).message).toContain('"done", an empty status, "x"');
    }
  });
});
