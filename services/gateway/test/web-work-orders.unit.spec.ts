import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/**
 * The work-order board's loading (web/pages/work-orders.js) against a stand-in of the Maintenance
 * list: newest first, several statuses comma-separated, keyset cursor (the last id of the page).
 */
type WorkOrder = { id: string; status: string };
type Board = Record<string, WorkOrder[]>;

// The page is a plain JS module for the browser (no type declarations): imported by a computed path.
const pagePath = '../web/pages/work-orders.js';
const { loadBoard } = (await import(pagePath)) as { loadBoard: (signal?: AbortSignal) => Promise<Board> };

const LIMITS: Record<string, number> = {
  open: 100,
  assigned: 100,
  in_progress: 100,
  on_hold: 100,
  completed: 20,
  cancelled: 10,
};

function fakeMaintenance(workOrders: WorkOrder[]) {
  // Newest first: ids are zero-padded counters, higher is newer.
  const sorted = [...workOrders].sort((a, b) => b.id.localeCompare(a.id));
  const requests: URLSearchParams[] = [];
  const fetch = vi.fn(async (input: string) => {
    const url = new URL(input, 'http://gateway.test');
    expect(url.pathname).toBe('/api/v1/work-orders');
    requests.push(url.searchParams);
    const statuses = new Set(url.searchParams.getAll('status').flatMap((s) => s.split(',')));
    const limit = Number(url.searchParams.get('limit') ?? 50);
    expect(limit).toBeLessThanOrEqual(500); // the API's maximum
    const cursor = url.searchParams.get('cursor');
    const rows = sorted
      .filter((w) => statuses.size === 0 || statuses.has(w.status))
      .filter((w) => cursor === null || w.id < cursor)
      .slice(0, limit + 1);
    const items = rows.slice(0, limit);
    const body = { items, nextCursor: rows.length > limit ? items[items.length - 1]!.id : null };
    return new Response(JSON.stringify(body), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  });
  return { fetch, requests };
}

/** What one listing per status (`status=x&limit=N`) used to show. */
function perStatus(workOrders: WorkOrder[]): Board {
  const sorted = [...workOrders].sort((a, b) => b.id.localeCompare(a.id));
  return Object.fromEntries(
    Object.entries(LIMITS).map(([status, limit]) => [
      status,
      sorted.filter((w) => w.status === status).slice(0, limit),
    ]),
  );
}

let counter = 0;
const make = (status: string, n: number): WorkOrder[] =>
  Array.from({ length: n }, () => ({ id: String(++counter).padStart(8, '0'), status }));

describe('work-order board loading', () => {
  beforeEach(() => {
    vi.stubGlobal('localStorage', { getItem: () => 'token', setItem: () => {}, removeItem: () => {} });
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('reads every column in one call with the statuses combined, split by status', async () => {
    const workOrders = [
      ...make('open', 3),
      ...make('assigned', 2),
      ...make('in_progress', 1),
      ...make('completed', 4),
      ...make('cancelled', 1),
    ];
    const upstream = fakeMaintenance(workOrders);
    vi.stubGlobal('fetch', upstream.fetch);
    const board = await loadBoard();
    expect(upstream.requests.map((q) => q.toString())).toEqual([
      `status=${encodeURIComponent('open,assigned,in_progress,on_hold,completed,cancelled')}&limit=500`,
    ]);
    expect(board).toEqual(perStatus(workOrders));
    expect(board.on_hold).toEqual([]);
  });

  it('pages with the cursor so that no column loses cards, and stops asking for full columns', async () => {
    // Oldest to newest: a sparse on_hold column and cancelled ones far back, under a long and
    // recent completed history and many open work orders.
    const workOrders = [
      ...make('cancelled', 4),
      ...make('on_hold', 3),
      ...make('assigned', 150),
      ...make('completed', 2000),
      ...make('open', 450),
      ...make('in_progress', 40),
    ];
    const upstream = fakeMaintenance(workOrders);
    vi.stubGlobal('fetch', upstream.fetch);
    const board = await loadBoard();
    expect(board).toEqual(perStatus(workOrders));
    expect(Object.fromEntries(Object.entries(board).map(([s, items]) => [s, items.length]))).toEqual({
      open: 100,
      assigned: 100,
      in_progress: 40,
      on_hold: 3,
      completed: 20,
      cancelled: 4,
    });
    const asked = upstream.requests.map((q) => [q.get('status'), q.get('cursor') !== null]);
    expect(asked).toEqual([
      ['open,assigned,in_progress,on_hold,completed,cancelled', false],
      // The first page (40 in progress, 450 open, 10 completed) filled the open column.
      ['assigned,in_progress,on_hold,completed,cancelled', true],
      // The second filled completed; the third reads what is left of the rest.
      ['assigned,in_progress,on_hold,cancelled', true],
    ]);
  });

  it('matches the listings per status whatever the mix, in a few calls', async () => {
    const statuses = Object.keys(LIMITS);
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 20; round++) {
      const workOrders: WorkOrder[] = [];
      for (let i = 0, n = Math.floor(random() * 3000); i < n; i++) {
        // Skewed: some statuses are much more frequent than others in each round.
        const pick = Math.floor(random() ** (1 + (round % 4)) * statuses.length);
        workOrders.push(...make(statuses[pick]!, 1));
      }
      const upstream = fakeMaintenance(workOrders);
      vi.stubGlobal('fetch', upstream.fetch);
      expect(await loadBoard()).toEqual(perStatus(workOrders));
      expect(upstream.requests.length).toBeLessThanOrEqual(statuses.length + 1);
    }
  });
});
