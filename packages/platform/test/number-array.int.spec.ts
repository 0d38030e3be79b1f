import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { numberArray } from '../src/index.js';
import { createTestDatabase, type TestDatabase } from '../src/testkit/index.js';

describe('numberArray (numeric array parameters as one literal)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('numberarray');
  });
  afterAll(() => db?.drop());

  it('writes the literal PostgreSQL reads', () => {
    expect(numberArray([])).toBe('{}');
    expect(numberArray([1, -2, 2.5, 1e21, 5e-324])).toBe('{1,-2,2.5,1e+21,5e-324}');
  });

  it('refuses what is not a finite number', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => numberArray([1, bad])).toThrow(TypeError);
    }
    expect(() => numberArray([1, '2' as unknown as number])).toThrow('is not a finite number');
  });

  it('round-trips every float8 and int8 value exactly through the server', async () => {
    const floats = [
      0.1,
      1 / 3,
      -2 / 7,
      Math.PI * 1e-300,
      5e-324,
      Number.MAX_VALUE,
      -Number.MIN_VALUE,
      123456789.12345679,
      71.2,
      ...Array.from(
        { length: 1000 },
        () => (Math.random() - 0.5) * 10 ** Math.floor(Math.random() * 40 - 20),
      ),
    ];
    const { rows } = await db.pool.query<{ v: number }>(
      'SELECT v FROM unnest($1::float8[]) WITH ORDINALITY AS u(v, i) ORDER BY i',
      [numberArray(floats)],
    );
    expect(rows.map((r) => r.v)).toEqual(floats);
    const ints = [0, 1, -1, 2 ** 31 - 1, 1_764_761_234_567, Number.MAX_SAFE_INTEGER];
    const { rows: back } = await db.pool.query<{ t: string }>(
      'SELECT t::text FROM unnest($1::int8[]) WITH ORDINALITY AS u(t, i) ORDER BY i',
      [numberArray(ints)],
    );
    expect(back.map((r) => Number(r.t))).toEqual(ints);
  });
});
