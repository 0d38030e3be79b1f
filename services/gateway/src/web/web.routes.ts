import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type HttpApp, problem, sendProblem } from '@assetops/platform';

/** The web UI's own files (`services/gateway/web`), served as they are: no build step. */
const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web');

/**
 * The browser modules the UI imports, by the file name its import map uses → the installed
 * package's file. An allow-list: nothing else of `node_modules` is reachable.
 */
const VENDOR: Record<string, string> = {
  'preact.mjs': 'preact/dist/preact.mjs',
  'preact-hooks.mjs': 'preact/hooks/dist/hooks.mjs',
  'htm.mjs': 'htm/dist/htm.mjs',
  'htm-preact.mjs': 'htm/preact/index.mjs',
  'uplot.mjs': 'uplot/dist/uPlot.esm.js',
  'uplot.css': 'uplot/dist/uPlot.min.css',
};

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.html': 'text/html; charset=utf-8',
};

/**
 * The Content-Security-Policy of the page: only this origin's scripts, plus the one inline script
 * there is — the import map, which browsers do not load from a file — allowed by its hash.
 */
function contentSecurityPolicy(importMapHash: string): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'sha256-${importMapHash}'`,
    // uPlot and Preact set element styles; that is CSSOM, but a style attribute in markup is not.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * Registers the web UI: the page at `/`, its modules and styles under `/ui/`, and the few browser
 * modules it uses from `node_modules` under `/ui/vendor/` (Preact, htm, uPlot, mapped by the page's
 * import map). All public: the files hold no data; the UI's `/api/v1` calls carry the user's token.
 *
 * @example
 * await app.register(webRoutes);
 */
export async function webRoutes(app: HttpApp): Promise<void> {
  const require = createRequire(import.meta.url);
  // Not every package exports its package.json (htm does not): find the folder from its entry point.
  const packageDir = (name: string) => {
    const entry = require.resolve(name);
    const marker = `${path.sep}node_modules${path.sep}${name}${path.sep}`;
    return entry.slice(0, entry.lastIndexOf(marker) + marker.length);
  };
  const hidden = { schema: { hide: true } } as const;
  const vendorCache = new Map<string, Promise<Buffer>>();

  const notFound = (url: string) => problem(404, 'ROUTE_NOT_FOUND', `no route GET ${url}`);
  const common = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };

  app.get('/', hidden, async (_request, reply) => {
    // Read per request: small, and an edited UI shows on reload without a restart.
    const page = await readFile(path.join(WEB_DIR, 'index.html'), 'utf8');
    const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(page)?.[1] ?? '';
    const hash = createHash('sha256').update(importMap, 'utf8').digest('base64');
    return reply
      .headers({
        ...common,
        'cache-control': 'no-cache',
        'content-security-policy': contentSecurityPolicy(hash),
      })
      .type(CONTENT_TYPES['.html']!)
      .send(page);
  });

  app.get<{ Params: { file: string } }>('/ui/vendor/:file', hidden, async (request, reply) => {
    const file = request.params.file;
    const target = Object.hasOwn(VENDOR, file) ? VENDOR[file] : undefined;
    if (target === undefined) return sendProblem(reply, notFound(request.url));
    let content = vendorCache.get(file);
    if (content === undefined) {
      const packageName = target.split('/')[0]!;
      content = readFile(path.join(packageDir(packageName), target.slice(packageName.length + 1)));
      vendorCache.set(file, content);
      content.catch(() => vendorCache.delete(file));
    }
    return reply
      .headers({ ...common, 'cache-control': 'public, max-age=86400' })
      .type(CONTENT_TYPES[path.extname(file)]!)
      .send(await content);
  });

  app.get<{ Params: { '*': string } }>('/ui/*', hidden, async (request, reply) => {
    const relative = request.params['*'];
    const resolved = path.resolve(WEB_DIR, relative);
    const contentType = CONTENT_TYPES[path.extname(resolved)];
    // Inside the web folder only, and only the kinds of file a page loads.
    if (!resolved.startsWith(WEB_DIR + path.sep) || contentType === undefined) {
      return sendProblem(reply, notFound(request.url));
    }
    let content: Buffer;
    try {
      content = await readFile(resolved);
    } catch {
      return sendProblem(reply, notFound(request.url));
    }
    return reply
      .headers({ ...common, 'cache-control': 'no-cache' })
      .type(contentType)
      .send(content);
  });
}
