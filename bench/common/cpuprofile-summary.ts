/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, e.g. the server's from BENCH_PROFILE=1):
 *
 *   npx tsx bench/common/cpuprofile-summary.ts bench/results/profiles/<file>.cpuprofile [--top=30]
 *
 * Prints where the time went: idle vs busy, by area (this repository's packages and services,
 * each dependency, Node internals, GC) and by function (self time), and the inclusive time of a
 * few functions of interest on the ingest path.
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The area a script belongs to: a workspace package, a dependency, or Node itself. */
export function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dep) return dep[1]!;
  const own = /\/(services|packages|runtime)\/([^/]+)?/.exec(url);
  if (own) return own[1] === 'runtime' ? 'runtime' : `${own[1]}/${own[2]}`;
  return url.replace(/^file:\/\//, '');
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: cpuprofile-summary.ts <file.cpuprofile> [--top=30]');
  const top = Number(/--top=(\d+)/.exec(process.argv.slice(3).join(' '))?.[1] ?? 30);
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  // Self time per node from the samples and their time deltas (µs).
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  let idle = 0;
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const key = `${functionName || '(anonymous)'} ${area}${url ? `:${lineNumber + 1}` : ''}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
    // Inclusive time of each distinct function on this sample's stack (counted once per stack).
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      const name = `${frame.functionName || '(anonymous)'} ${areaOf(frame.url, frame.functionName)}`;
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + us);
    }
  }
  const busy = total - idle;
  const ms = (us: number) => Math.round(us / 1000);
  const pct = (us: number) => `${((us / busy) * 100).toFixed(1)} %`;
  console.log(
    `profile: ${ms(total)} ms sampled, busy ${ms(busy)} ms (${((busy / total) * 100).toFixed(1)} % of the wall time), idle ${ms(idle)} ms`,
  );
  const table = (entries: Map<string, number>, limit: number) =>
    [...entries.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, us]) => ({ name, ms: ms(us), 'of busy': pct(us) }));
  console.log('\nself time by area:');
  console.table(table(areas, 25));
  console.log('\nself time by function:');
  console.table(table(functions, top));
  console.log('\ninclusive time by function:');
  console.table(table(inclusive, top));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
