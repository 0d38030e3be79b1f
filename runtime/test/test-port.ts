import net from 'node:net';

/** The ports tests hand out: below every usual ephemeral range (Linux 32768–60999, BSD 49152+). */
const FIRST = 20_000;
const BLOCK = 2_000;
const BLOCKS = 6;
let next = -1;

/**
 * A TCP port for a server that a test starts later (in a child process, once databases are ready),
 * from a block of ports of this vitest worker's own (VITEST_POOL_ID), checked free now.
 *
 * `freePort()` hands out an ephemeral port, so between its check and the server's bind, any outbound
 * connection or `listen(0)` of a test file running beside this one may take it (the likely cause of
 * a chaos run whose gateway got 404 ROUTE_NOT_FOUND for a route it has). Ports of this range are
 * taken only by tests that ask here, and the two workers never share a block.
 *
 * @example
 * const port = await testPort();
 */
export async function testPort(): Promise<number> {
  const worker = Number(process.env.VITEST_POOL_ID ?? 1);
  const base = FIRST + ((Number.isInteger(worker) && worker > 0 ? worker - 1 : 0) % BLOCKS) * BLOCK;
  if (next < 0) next = Math.floor(Math.random() * BLOCK);
  for (let tries = 0; tries < BLOCK; tries++) {
    const port = base + (next++ % BLOCK);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port in ${base}–${base + BLOCK - 1}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}
