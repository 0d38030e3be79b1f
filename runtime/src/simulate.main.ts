import { main } from './simulate.cli.js';

// `npm run simulate -- --assets N --rate R …`: see simulate.cli.ts. The first Ctrl-C stops the run
// cleanly (what is in flight completes, the summary is printed); a second one quits at once.
const abort = new AbortController();
process.on('SIGINT', () => {
  if (abort.signal.aborted) process.exit(130);
  process.stderr.write('\nstopping (Ctrl-C again to quit at once)…\n');
  abort.abort();
});
process.once('SIGTERM', () => abort.abort());

process.exitCode = await main(process.argv.slice(2), {
  out: process.stdout,
  err: process.stderr,
  env: process.env,
  signal: abort.signal,
});
