import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/**
 * The fleet overview's fallback (web/lib/data.js `loadFleet`) when the dashboard service does not
 * answer: built from the source services' lists, open work orders in one multi-status listing.
 */
type Fleet = {
  source: string;
  assets: { total: number; byStatus: Record<string, number> };
  alerts: { active: number; bySeverity: Record<string, number> };
  workOrders: { open: number; byStatus: Record<string, number> };
  needsAttention: { assetId: string }[];
};
const dataPath = '../web/lib/data.js';
const { loadFleet } = (await import(dataPath)) as { loadFleet: (signal?: AbortSignal) => Promise<Fleet> };

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('fleet overview without the dashboard service', () => {
  beforeEach(() => {
    vi.stubGlobal('localStorage', { getItem: () => 'token', setItem: () => {}, removeItem: () => {} });
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('lists open work orders with one call for every open status, and counts them by status', async () => {
    const workOrders = [
      ...Array.from({ length: 3 }, (_, i) => ({ id: `wo-open-${i}`, status: 'open' })),
      { id: 'wo-assigned', status: 'assigned' },
      { id: 'wo-held', status: 'on_hold' },
      { id: 'wo-done', status: 'completed' },
    ];
    const workOrderRequests: URLSearchParams[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: string) => {
        const url = new URL(input, 'http://gateway.test');
        switch (url.pathname) {
          case '/api/v1/dashboard/fleet':
            return json({ title: 'Service Unavailable', status: 503 }, 503);
          case '/api/v1/assets':
            return json({
              items: [
                { id: 'a1', name: 'Pump 1', status: 'active' },
                { id: 'a2', name: 'Pump 2', status: 'active' },
              ],
              nextCursor: null,
            });
          case '/api/v1/alerts':
            return json({ items: [{ id: 'al1', assetId: 'a2', severity: 'critical' }], nextCursor: null });
          case '/api/v1/work-orders': {
            workOrderRequests.push(url.searchParams);
            const wanted = new Set(url.searchParams.getAll('status').flatMap((s) => s.split(',')));
            return json({ items: workOrders.filter((w) => wanted.has(w.status)), nextCursor: null });
          }
          default:
            return json({ title: 'Not Found', status: 404 }, 404);
        }
      }),
    );

    const fleet = await loadFleet();

    expect(fleet.source).toBe('services');
    expect(workOrderRequests.map((p) => p.getAll('status'))).toEqual([['open,assigned,in_progress,on_hold']]);
    expect(fleet.workOrders).toEqual({ open: 5, byStatus: { open: 3, assigned: 1, on_hold: 1 } });
    expect(fleet.assets).toEqual({ total: 2, byStatus: { active: 2 } });
    expect(fleet.alerts).toEqual({ active: 1, bySeverity: { critical: 1 } });
    expect(fleet.needsAttention.map((a) => a.assetId)).toEqual(['a2']);
  });
});
