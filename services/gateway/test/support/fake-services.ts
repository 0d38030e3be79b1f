import { createHttpApp, createLogger, type HttpApp, problem, sendProblem } from '@assetops/platform';

/** How a fake service answers: as scripted, slowly (5 s), with a 500, or 404 for everything. */
export type FakeMode = 'normal' | 'slow' | 'error' | 'notFound';

export type FakeRoute = (query: Record<string, string>) => { status: number; body: unknown };

export interface FakeService {
  app: HttpApp;
  url: string;
  /** The GET requests received since the last `setMode`. */
  requests: { url: string; query: Record<string, string>; headers: Record<string, unknown> }[];
  /** Switches behaviour and forgets the requests seen so far. */
  setMode(mode: FakeMode): void;
  close(): Promise<void>;
}

/**
 * A stand-in for one AssetOps service behind the gateway: a real HTTP server (platform's
 * `createHttpApp`, so errors are problem+json like the real ones) answering GETs of the given paths
 * with scripted documents. Unknown paths answer 404 `ASSET_NOT_FOUND`, as the services do for an
 * unknown asset id.
 */
export async function startFakeService(
  service: string,
  routes: Record<string, FakeRoute>,
): Promise<FakeService> {
  const app = await createHttpApp({ service, logger: createLogger({ service, level: 'silent' }) });
  let mode: FakeMode = 'normal';
  const requests: FakeService['requests'] = [];

  app.get('/api/v1/*', { schema: { hide: true } }, async (request, reply) => {
    const rawUrl = request.raw.url ?? '';
    const path = rawUrl.split('?')[0]!;
    requests.push({
      url: rawUrl,
      query: request.query as Record<string, string>,
      headers: request.headers,
    });
    if (mode === 'slow') {
      // Ends early when the caller gives up, so closing the server does not wait for the timer.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 5_000);
        reply.raw.on('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (mode === 'error') return sendProblem(reply, problem(500, 'INTERNAL_ERROR', 'simulated failure'));
    const route = mode === 'notFound' ? undefined : routes[path];
    if (route === undefined) return sendProblem(reply, problem(404, 'ASSET_NOT_FOUND', `nothing at ${path}`));
    const { status, body } = route(request.query as Record<string, string>);
    return reply.code(status).send(body);
  });

  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    app,
    url,
    requests,
    setMode(next) {
      mode = next;
      requests.length = 0;
    },
    close: () => app.close(),
  };
}
