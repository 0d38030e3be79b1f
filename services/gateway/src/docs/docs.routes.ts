import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { type HttpApp, problem, sendProblem } from '@assetops/platform';
import type { OpenApiSource } from './openapi.source.js';

export interface DocsRoutesOptions {
  source: OpenApiSource;
}

/**
 * The Swagger UI files served under `/docs/`, from the installed `swagger-ui-dist` package: the
 * machine may be offline, so nothing comes from a CDN. An allow-list, so a request can never name
 * another file of the package (or, with `..`, of the disk).
 */
const ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

// The page links its files relative to `/docs` (`docs/…`), so it keeps working when the gateway is
// served under a path prefix by another proxy.
const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>AssetOps API</title>
    <link rel="stylesheet" href="docs/swagger-ui.css">
    <link rel="icon" type="image/png" href="docs/favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="docs/favicon-16x16.png" sizes="16x16">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="docs/swagger-ui-bundle.js"></script>
    <script src="docs/swagger-initializer.js"></script>
  </body>
</html>
`;

// A file rather than an inline script, so a strict Content-Security-Policy (script-src 'self') works.
const INITIALIZER = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: 'docs/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
});
`;

/**
 * Registers the public API documentation: Swagger UI at `/docs` and the merged OpenAPI document of
 * every configured service at `/docs/openapi.json`.
 *
 * @example
 * await app.register(docsRoutes, { source: createOpenApiSource({ … }) });
 */
export async function docsRoutes(app: HttpApp, opts: DocsRoutesOptions): Promise<void> {
  const assetsDir = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const loaded = new Map<string, Promise<Buffer>>();
  const hidden = { schema: { hide: true } } as const;

  app.get('/docs', hidden, async (_request, reply) => reply.type('text/html; charset=utf-8').send(PAGE));
  // `/docs/` would resolve the page's relative links one level too deep; send it to `/docs`.
  app.get('/docs/', hidden, async (_request, reply) => reply.redirect('../docs'));
  app.get('/docs/openapi.json', hidden, async (_request, reply) =>
    reply
      .header('cache-control', 'no-cache')
      .type('application/json; charset=utf-8')
      .send(await opts.source.get()),
  );
  app.get('/docs/swagger-initializer.js', hidden, async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').send(INITIALIZER),
  );
  app.get<{ Params: { file: string } }>('/docs/:file', hidden, async (request, reply) => {
    const contentType = Object.hasOwn(ASSETS, request.params.file) ? ASSETS[request.params.file] : undefined;
    if (contentType === undefined) {
      return sendProblem(reply, problem(404, 'ROUTE_NOT_FOUND', `no route GET ${request.url}`));
    }
    let file = loaded.get(request.params.file);
    if (file === undefined) {
      file = readFile(path.join(assetsDir, request.params.file));
      loaded.set(request.params.file, file);
      // A failed read is not cached: the next request tries again.
      file.catch(() => loaded.delete(request.params.file));
    }
    return reply
      .type(contentType)
      .header('cache-control', 'public, max-age=86400')
      .header('x-content-type-options', 'nosniff')
      .send(await file);
  });
}
