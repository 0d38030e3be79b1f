/** Small helpers shared by the benchmarks: latency summaries, waiting, environment, result files. */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Queryable } from '@assetops/platform';

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export const round = (value: number, digits = 2) => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

export function summarize(values: readonly number[]): LatencySummary {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const at = (q: number) =>
    round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN, 1);
  const mean = sorted.reduce((sum, v) => sum + v, 0) / Math.max(1, sorted.length);
  return {
    count: sorted.length,
    p50Ms: at(0.5),
    p90Ms: at(0.9),
    p99Ms: at(0.99),
    maxMs: round(sorted.at(-1) ?? Number.NaN, 1),
    meanMs: round(mean, 1),
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A number from the environment, with a default. */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number, got ${raw}`);
  return value;
}

/** A list of numbers from the environment (`4,8,16`), with a default. */
export function envNumbers(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  return raw.split(',').map((part) => {
    const value = Number(part.trim());
    if (!Number.isFinite(value)) throw new Error(`${name} must be numbers separated by commas, got ${raw}`);
    return value;
  });
}

/**
 * `--name=value` command-line options copied into the environment as `BENCH_NAME` (so that
 * `--duration=30` equals `BENCH_DURATION=30`); unknown options are reported by the caller's usage.
 */
export function applyCliOptions(argv: readonly string[]): void {
  for (const arg of argv) {
    const match = /^--([a-z][a-z0-9-]*)=(.*)$/i.exec(arg);
    if (!match) throw new Error(`unexpected argument ${arg}: options are --name=value (see the file header)`);
    process.env[`BENCH_${match[1]!.toUpperCase().replaceAll('-', '_')}`] = match[2]!;
  }
}

/** What the results were measured on, including the load others put on the machine meanwhile. */
export async function environment(db: Queryable): Promise<Record<string, unknown>> {
  const setting = async (name: string) =>
    (await db.query<{ v: string }>('SELECT current_setting($1) AS v', [name])).rows[0]?.v;
  return {
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    loadAverage1m5m15m: os.loadavg().map((v) => round(v, 2)),
    postgres: await setting('server_version'),
    sharedBuffers: await setting('shared_buffers'),
    synchronousCommit: await setting('synchronous_commit'),
    maxWalSize: await setting('max_wal_size'),
  };
}

/** Writes `bench/results/<name>-<time>.json` (git-ignored) and returns its path. */
export async function writeResults(name: string, data: Record<string, unknown>): Promise<string> {
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'results');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify({ at: new Date().toISOString(), ...data }, null, 2)}\n`);
  return path.relative(process.cwd(), file);
}

/** `met` / `NOT met` for a goal. */
export const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
