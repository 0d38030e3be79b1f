import { type WorkOrderStatus, WorkOrderStatuses } from '@assetops/contracts';
import { ValidationError } from '@assetops/platform';

const KNOWN_STATUSES: ReadonlySet<string> = new Set(WorkOrderStatuses);

/**
 * The distinct statuses of `status=a,b&status=c`, each checked; `undefined` (no filter) when the
 * parameter is absent. An unknown or empty status is a 400 `INVALID_STATUS`.
 *
 * @example
 * parseStatuses(['open,assigned', 'on_hold']); // ['open', 'assigned', 'on_hold']
 * parseStatuses(['done']); // throws ValidationError INVALID_STATUS
 */
export function parseStatuses(values: readonly string[] | undefined): WorkOrderStatus[] | undefined {
  if (values === undefined) return undefined;
  const names = [...new Set(values.flatMap((value) => value.split(',')).map((name) => name.trim()))];
  const bad = names.filter((name) => !KNOWN_STATUSES.has(name));
  if (bad.length > 0) {
    const shown = bad.map((name) => (name === '' ? 'an empty status' : JSON.stringify(name.slice(0, 40))));
    const message = `not a work-order status: ${shown.slice(0, 5).join(', ')} (known: ${WorkOrderStatuses.join(', ')})`;
    throw new ValidationError('INVALID_STATUS', message, [{ path: '/querystring/status', message }]);
  }
  return names as WorkOrderStatus[];
}
