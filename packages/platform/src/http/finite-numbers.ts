import type { Ajv, ValidateFunction } from 'ajv';

/**
 * Ajv plugin: type coercion must not turn text into `Infinity`.
 *
 * Ajv's number checks refuse a non-finite number, but coercion (query strings, path parameters,
 * string fields of a body) turns the text `Infinity` or `1e400` into `Infinity`, and Ajv's
 * `minimum`/`maximum` only compare finite numbers — so `?limit=Infinity` passed `maximum: 500` and
 * reached a handler. This wraps every compiled validator: the strings that would coerce to a
 * non-finite number are noted before validating, and if one of them became a number, validation
 * fails like for any other bad value (a 400 problem naming the field). A non-finite number that was
 * never text (a JSON literal such as `1e999` in a field the schema leaves open) is left to the
 * handler, which reports it its own way (telemetry rejects that one reading). It also refuses a
 * string that is not well-formed Unicode (a lone surrogate), which nothing downstream can store.
 */
export function finiteNumbersOnly(ajv: Ajv): Ajv {
  const compile = ajv.compile.bind(ajv);
  ajv.compile = (<T>(schema: object, meta?: boolean): ValidateFunction<T> => {
    const validate = compile<T>(schema, meta);
    const wrapped = ((data: unknown, ctx?: unknown) => {
      const suspects: (string | number)[][] = [];
      const malformed: (string | number)[][] = [];
      collectInfinityText(data, [], suspects, malformed, 0);
      if (malformed.length > 0) {
        // A lone UTF-16 surrogate (`"\ud800"` in JSON) is not text: no database or consumer can
        // store it (PostgreSQL's jsonb refuses it), so the request is malformed.
        wrapped.errors = [
          {
            instancePath: malformed[0]!.map((key) => `/${key}`).join(''),
            schemaPath: '#/unicode',
            keyword: 'unicode',
            params: {},
            message: 'must be well-formed Unicode text (it holds a lone surrogate)',
          },
        ];
        return false;
      }
      const valid = (validate as (d: unknown, c?: unknown) => boolean)(data, ctx);
      wrapped.errors = validate.errors;
      if (!valid || suspects.length === 0) return valid;
      for (const path of suspects) {
        if (!becameNonFinite(valueAt(data, path))) continue;
        wrapped.errors = [
          {
            instancePath: path.map((key) => `/${key}`).join(''),
            schemaPath: '#/finite',
            keyword: 'finite',
            params: {},
            message: 'must be a finite number',
          },
        ];
        return false;
      }
      return true;
    }) as ValidateFunction<T>;
    Object.assign(wrapped, {
      schema: validate.schema,
      schemaEnv: validate.schemaEnv,
      source: validate.source,
    });
    return wrapped;
  }) as Ajv['compile'];
  return ajv;
}

/**
 * Paths of the strings in `value` that read as an infinite number (`Infinity`, `-1e999`…), and of
 * the strings that are not well-formed UTF-16 (a lone surrogate). `path` is the walk's own stack
 * (pushed and popped, copied only for a finding): a body of thousands of readings is walked on
 * every request, and a path array per value was most of the garbage this made.
 */
function collectInfinityText(
  value: unknown,
  path: (string | number)[],
  found: (string | number)[][],
  malformed: (string | number)[][],
  depth: number,
): void {
  if (typeof value === 'string') {
    if (!(value as string & { isWellFormed(): boolean }).isWellFormed()) malformed.push([...path]);
    // Cheap test first: the text must contain "Infinity" or an exponent to overflow a double.
    if (/inf|e/i.test(value)) {
      const n = Number(value);
      if (n === Number.POSITIVE_INFINITY || n === Number.NEGATIVE_INFINITY) found.push([...path]);
    }
    return;
  }
  if (value === null || typeof value !== 'object' || depth > 32) return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (typeof item === 'string' || (item !== null && typeof item === 'object')) {
        path.push(i);
        collectInfinityText(item, path, found, malformed, depth + 1);
        path.pop();
      }
    }
    return;
  }
  for (const key in value) {
    if (!(key as string & { isWellFormed(): boolean }).isWellFormed()) malformed.push([...path, key]);
    const item = (value as Record<string, unknown>)[key];
    if (typeof item === 'string' || (item !== null && typeof item === 'object')) {
      path.push(key);
      collectInfinityText(item, path, found, malformed, depth + 1);
      path.pop();
    }
  }
}

function valueAt(data: unknown, path: readonly (string | number)[]): unknown {
  let current = data;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

/** A number that is not finite, or (array coercion) an array holding one. */
function becameNonFinite(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value);
  return Array.isArray(value) && value.some((v) => typeof v === 'number' && !Number.isFinite(v));
}
