/**
 * A PostgreSQL array literal of finite numbers (`{1,2.5,-3e-7}`), for a parameter cast to
 * `int4[]`, `int8[]`, `float8[]`…. node-postgres turns a JavaScript array into the same text one
 * element at a time, quoting and escaping each as if it were a string; for the large numeric
 * arrays of bulk writes (four of 10,000 elements per telemetry write) that is most of the client's
 * cost of the statement. A number's own string form is read back by PostgreSQL as the same value
 * (the shortest form that round-trips, which float8 input parses exactly).
 *
 * @throws TypeError for a value that is not a finite number (PostgreSQL would read NaN and
 * Infinity as float8 values, and an integer column would refuse them only on the server).
 */
export function numberArray(values: readonly number[]): string {
  for (const v of values) {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new TypeError(`numberArray: ${String(v)} is not a finite number`);
    }
  }
  return `{${values.join(',')}}`;
}
