import type { HttpApp } from '@assetops/platform';
import type { ChangeStream } from './stream.hub.js';

/**
 * `GET /api/v1/dashboard/stream`: Server-Sent Events — `asset` (a changed asset view), `fleet`
 * (totals, coalesced), `: keepalive` comments; `id:` is the change position, and `Last-Event-ID`
 * (or `?lastEventId=`, for clients that cannot set headers) resumes after it.
 */
export function registerStreamRoutes(app: HttpApp, deps: { stream: ChangeStream }): void {
  app.get(
    '/api/v1/dashboard/stream',
    {
      schema: {
        tags: ['dashboard'],
        summary:
          'Live changes as Server-Sent Events: `asset` (DashboardAsset), `fleet` (totals); Last-Event-ID resumes',
        produces: ['text/event-stream'],
      },
    },
    async (request, reply) => {
      reply.hijack();
      const query = request.query as Record<string, unknown> | undefined;
      await deps.stream.connect(reply.raw, request.headers['last-event-id'] ?? query?.lastEventId);
    },
  );
}
