import { ListWorkOrdersQuery, type WorkOrderStatus, WorkOrderStatuses } from '@assetops/contracts';
import { ValidationError } from '@assetops/platform';
import { type Static, Type } from '@sinclair/typebox';

/**
 * `GET /api/v1/work-orders` query string as this service accepts it: the contract's
 * `ListWorkOrdersQuery`, except that `status` takes several statuses — comma-separated, repeated,
 * or both (`status=open,assigned&status=on_hold`) — so that "the open work orders of an asset" is
 * one call rather than one per status. A single status is a list of one, as before.
 *
 * TODO: remove once `ListWorkOrdersQuery` in @assetops/contracts declares the list itself.
 */
export const ListWorkOrdersQueryString = Type.Object(
  {
    ...ListWorkOrdersQuery.properties,
    status: Type.Optional(
      // Checked by `parseStatuses` rather than by a pattern, for a refusal that names the bad value.
      Type.Array(Type.String({ maxLength: 200 }), {
        maxItems: 20,
        description: `one status or several, repeated or comma-separated: ${WorkOrderStatuses.join(', ')}`,
      }),
    ),
  },
  { additionalProperties: false },
);
export type ListWorkOrdersQueryString = Static<typeof ListWorkOrdersQueryString>;

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
