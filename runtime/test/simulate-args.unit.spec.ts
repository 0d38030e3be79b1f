import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSummary, main, parseSimulateArgs, UsageError } from '../src/simulate.cli.js';

const env = { ASSETOPS_ADMIN_TOKEN: 'token-from-env-0123456789' };

describe('simulate: command line', () => {
  let emptyDir: string;
  beforeAll(async () => {
    emptyDir = await mkdtemp(path.join(os.tmpdir(), 'assetops-simulate-args-'));
  });
  afterAll(async () => {
    await rm(emptyDir, { recursive: true, force: true });
  });

  it('parses every option, with defaults', () => {
    expect(parseSimulateArgs(['--assets', '10', '--rate', '250'], env, emptyDir)).toEqual({
      assets: 10,
      rate: 250,
      via: 'http',
      url: 'http://localhost:8080',
      mqttUrl: 'mqtt://localhost:1883',
      token: env.ASSETOPS_ADMIN_TOKEN,
      duration: undefined,
      batch: 1000,
    });
    expect(
      parseSimulateArgs(
        [
          '--assets=3',
          '--rate=0.5',
          '--via',
          'mqtt',
          '--url',
          'https://assetops.example.com/',
          '--mqtt-url',
          'mqtts://broker:8883',
          '--token',
          'given-token',
          '--duration',
          '2.5',
          '--batch',
          '50',
        ],
        {},
        emptyDir,
      ),
    ).toEqual({
      assets: 3,
      rate: 0.5,
      via: 'mqtt',
      url: 'https://assetops.example.com',
      mqttUrl: 'mqtts://broker:8883',
      token: 'given-token',
      duration: 2.5,
      batch: 50,
    });
    expect(parseSimulateArgs(['--help'], {}, emptyDir)).toBe('help');
  });

  it("reads the token of `npm start`'s data folder when none is given", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'assetops-simulate-token-'));
    try {
      await mkdir(path.join(dir, '.assetops'));
      await writeFile(path.join(dir, '.assetops', 'admin-token'), 'token-from-file-0123456789\n');
      expect(parseSimulateArgs(['--assets', '1', '--rate', '1'], {}, dir)).toMatchObject({
        token: 'token-from-file-0123456789',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [['--rate', '10'], /--assets is required/],
    [['--assets', '10'], /--rate is required/],
    [['--assets', '0', '--rate', '10'], /--assets must be a whole number from 1 to 100000, not "0"/],
    [['--assets', '2.5', '--rate', '10'], /--assets must be a whole number/],
    [['--assets', 'ten', '--rate', '10'], /--assets must be a whole number/],
    [['--assets', '1', '--rate=-5'], /--rate must be a number above 0/],
    [['--assets', '1', '--rate', '-5'], /'--rate' argument is ambiguous/],
    [['--assets', '1', '--rate', 'fast'], /--rate must be a number above 0/],
    [['--assets', '1', '--rate', '1', '--via', 'carrier-pigeon'], /--via must be http or mqtt/],
    [
      ['--assets', '1', '--rate', '1', '--url', 'localhost:8080'],
      /--url must start with http:\/\/, https:\/\//,
    ],
    [['--assets', '1', '--rate', '1', '--url', 'not a url'], /--url must be a URL/],
    [['--assets', '1', '--rate', '1', '--mqtt-url', 'http://broker'], /--mqtt-url must start with mqtt:\/\//],
    [['--assets', '1', '--rate', '1', '--batch', '20000'], /--batch must be a whole number from 1 to 10000/],
    [['--assets', '1', '--rate', '1', '--duration', '0'], /--duration must be a number above 0/],
    [['--assets', '1', '--rate', '1', '--colour', 'red'], /Unknown option '--colour'/],
    [['--assets', '1', '--rate', '1', 'extra'], /positional argument/],
    [['--assets'], /argument missing/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseSimulateArgs(argv, env, emptyDir)).toThrow(UsageError);
    expect(() => parseSimulateArgs(argv, env, emptyDir)).toThrow(message);
  });

  it('refuses to run without a token', () => {
    expect(() => parseSimulateArgs(['--assets', '1', '--rate', '1'], {}, emptyDir)).toThrow(/no admin token/);
  });

  it('exits with code 2 and the usage on bad arguments, 0 with the usage on --help', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      out: { write: (t: string) => out.push(t) },
      err: { write: (t: string) => err.push(t) },
      env,
      cwd: emptyDir,
    };
    expect(await main(['--assets', 'many', '--rate', '1'], io)).toBe(2);
    expect(err.join('')).toMatch(/^simulate: --assets must be a whole number/);
    expect(err.join('')).toContain('Usage: npm run simulate');
    expect(out).toEqual([]);
    expect(await main(['--help'], io)).toBe(0);
    expect(out.join('')).toContain('Usage: npm run simulate');
  });

  it('summarises a run', () => {
    const text = formatSummary(
      {
        assets: 4,
        seconds: 10,
        sent: 12_000,
        accepted: 11_990,
        duplicates: 0,
        rejected: 10,
        rejectedByCode: { UNKNOWN_ASSET: 10 },
        failed: 0,
        errors: 0,
        firstError: null,
        requests: 120,
        latencyMs: { p50: 3.25, p99: 18, max: 40 },
        interrupted: false,
      },
      { via: 'http', rate: 1200 },
    );
    expect(text).toContain('Summary: 4 assets over http for 10.0 s');
    expect(text).toContain('readings sent  12,000  (1,200/s; target 1,200/s)');
    expect(text).toContain('rejected       10  (UNKNOWN_ASSET: 10)');
    expect(text).toContain('p50 3.3 ms · p99 18 ms · max 40 ms  (120 requests)');
  });
});
