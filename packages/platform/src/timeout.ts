/**
 * The promise's outcome, or a rejection with `message` (default "timed out after `ms` ms") when it
 * takes longer than `ms`. The promise itself is not cancelled; the timer never keeps the process up.
 *
 * @example
 * await withTimeout(check(), 2_000);
 * const rows = await withTimeout(count(), 2_000).catch(() => undefined); // undefined when late
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, message?: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message ?? `timed out after ${ms} ms`)), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
