import type { Ajv, ValidateFunction } from 'ajv';

/**
 * Ajv plugin: a value that validates must not hold `Infinity`, `-Infinity` or `NaN`.
 *
 * Ajv's number checks refuse a non-finite JSON number, but type coercion (query strings, path
 * parameters) turns the text `Infinity` or `1e400` into `Infinity`, and Ajv's `minimum`/`maximum`
 * only compare finite numbers — so `?limit=Infinity` passed `maximum: 500` and reached a handler.
 * This wraps every compiled validator: after a pass, the coerced data is scanned and a non-finite
 * number fails validation like any other bad value (a 400 problem naming the field).
 */
export function finiteNumbersOnly(ajv: Ajv): Ajv {
  const compile = ajv.compile.bind(ajv);
  ajv.compile = (<T>(schema: object, meta?: boolean): ValidateFunction<T> => {
    const validate = compile<T>(schema, meta);
    const wrapped = ((data: unknown, ctx?: unknown) => {
      const valid = (validate as (d: unknown, c?: unknown) => boolean)(data, ctx);
      wrapped.errors = validate.errors;
      if (!valid) return false;
      const path = nonFinitePath(data, '', 0);
      if (path === undefined) return true;
      wrapped.errors = [
        {
          instancePath: path,
          schemaPath: '#/finite',
          keyword: 'finite',
          params: {},
          message: 'must be a finite number',
        },
      ];
      return false;
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

/** The JSON-pointer path of the first non-finite number in `value`, or undefined. */
function nonFinitePath(value: unknown, path: string, depth: number): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : path;
  if (value === null || typeof value !== 'object' || depth > 32) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (item !== null && (typeof item === 'object' || typeof item === 'number')) {
        const found = nonFinitePath(item, `${path}/${i}`, depth + 1);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  }
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (item !== null && (typeof item === 'object' || typeof item === 'number')) {
      const found = nonFinitePath(item, `${path}/${key}`, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}
