import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `npm run test:chaos [-- --duration=300 --rate=500 --assets=20]`: the chaos test on its own, for as
 * long as asked. `--name=value` (or `--name value`) is CHAOS_NAME=value; any other argument goes to
 * vitest. The same test runs in `npm test` with its short default duration.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const spec = 'runtime/test/chaos/chaos.e2e.spec.ts';
const OPTIONS = new Set(['duration', 'rate', 'assets', 'summary-file']);

const env = { ...process.env };
const passThrough: string[] = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const match = /^--([a-z-]+)(?:=(.*))?$/.exec(args[i]!);
  if (match && OPTIONS.has(match[1]!)) {
    const value = match[2] ?? args[++i];
    if (value === undefined) {
      process.stderr.write(`--${match[1]} needs a value, e.g. --${match[1]}=60\n`);
      process.exit(2);
    }
    env[`CHAOS_${match[1]!.toUpperCase().replaceAll('-', '_')}`] = value;
  } else {
    passThrough.push(args[i]!);
  }
}

const vitest = path.join(repoRoot, 'node_modules/vitest/vitest.mjs');
const child = spawn(process.execPath, [vitest, 'run', spec, ...passThrough], {
  cwd: repoRoot,
  env,
  stdio: 'inherit',
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
