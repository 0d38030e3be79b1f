/**
 * CPU accounting from /proc (Linux), to show where the machine's CPU time went during a phase:
 * the server process, PostgreSQL (every backend on the server, including those of anything else
 * running on the machine), and the benchmark's own clients.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

function statFields(pid: number | string): { comm: string; cpuMs: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const rest = text.slice(close + 2).split(' ');
    // Fields after the command: state(3) … utime(14) stime(15), numbered from 1 over the whole line.
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return { comm, cpuMs: (utime + stime) * TICK_MS };
  } catch {
    return undefined;
  }
}

/** User + system CPU time of one process (all its threads), in ms; 0 when it is gone. */
export function processCpuMs(pid: number): number {
  return statFields(pid)?.cpuMs ?? 0;
}

/**
 * Time the process's main thread spent runnable but waiting for a CPU (ms), from
 * /proc/<pid>/schedstat: how much the CPU-starved machine delays an event loop.
 */
export function runQueueWaitMs(pid: number): number {
  try {
    const [, waitNs] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return (waitNs ?? 0) / 1e6;
  } catch {
    return 0;
  }
}

/** User + system CPU time of every `postgres` process on the machine, in ms. */
export function postgresCpuMs(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(entry);
    if (fields?.comm === 'postgres') total += fields.cpuMs;
  }
  return total;
}

/** User + system CPU time of this process (every thread: the coordinator and its client workers). */
export function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** Busy and total CPU time of the whole machine (every CPU), in ms, from /proc/stat. */
export function machineCpuMs(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  // cpu user nice system idle iowait irq softirq steal …
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy: busy * TICK_MS, total: (busy + idle! + iowait!) * TICK_MS };
}

/** A PostgreSQL process and what it works for (a database's service, or the server's shared writers). */
export interface PostgresProcess {
  pid: number;
  group: string;
}

interface CpuSample {
  server: number;
  serverWait: number;
  postgres: Map<number, { cpu: number; group: string }>;
  bench: number;
  machineBusy: number;
}

export interface CpuCores {
  serverCores: number;
  /** Share of the time the server's main thread (its event loop) was runnable but waiting for a CPU. */
  serverCpuWait: number;
  postgresCores: number;
  /** PostgreSQL's cores by what the backends work for (e.g. telemetry, alert, asset, shared). */
  postgresByGroup: Record<string, number>;
  benchClientCores: number;
  machineBusyCores: number;
  otherCores: number;
}

/**
 * CPU use during an interval, in cores (1.0 = one core fully busy), by who used it: the server
 * process(es), PostgreSQL (the backends `postgresProcesses` names — the benchmark's databases and
 * the server's shared writers — or, without it, every postgres process), the bench's own clients,
 * the whole machine, and everything else on it.
 */
export class CpuSplit {
  private start: CpuSample | undefined;
  private startedAt = 0;

  constructor(
    private readonly serverPids: () => number[],
    private readonly postgresProcesses?: () => Promise<PostgresProcess[]>,
  ) {}

  private async sample(): Promise<CpuSample> {
    const postgres = new Map<number, { cpu: number; group: string }>();
    if (this.postgresProcesses) {
      for (const { pid, group } of await this.postgresProcesses())
        postgres.set(pid, { cpu: processCpuMs(pid), group });
    } else {
      postgres.set(0, { cpu: postgresCpuMs(), group: 'all' });
    }
    return {
      server: this.serverPids().reduce((sum, pid) => sum + processCpuMs(pid), 0),
      serverWait: this.serverPids().reduce((sum, pid) => sum + runQueueWaitMs(pid), 0),
      postgres,
      bench: ownCpuMs(),
      machineBusy: machineCpuMs().busy,
    };
  }

  async restart(): Promise<void> {
    this.start = await this.sample();
    this.startedAt = performance.now();
  }

  /** Cores used since the last restart. */
  async cores(): Promise<CpuCores> {
    const start = this.start ?? (await this.sample());
    const now = await this.sample();
    const ms = performance.now() - this.startedAt;
    const cores = (used: number) => Math.round((used / ms) * 100) / 100;
    let postgres = 0;
    const byGroup: Record<string, number> = {};
    // A backend that started during the interval counts whole; one that ended is lost (pools keep theirs).
    for (const [pid, { cpu, group }] of now.postgres) {
      const used = cpu - (start.postgres.get(pid)?.cpu ?? 0);
      postgres += used;
      byGroup[group] = (byGroup[group] ?? 0) + used;
    }
    const split = {
      serverCores: cores(now.server - start.server),
      serverCpuWait: cores(now.serverWait - start.serverWait),
      postgresCores: cores(postgres),
      postgresByGroup: Object.fromEntries(
        Object.entries(byGroup).map(([group, used]) => [group, cores(used)]),
      ),
      benchClientCores: cores(now.bench - start.bench),
      machineBusyCores: cores(now.machineBusy - start.machineBusy),
    };
    const other = split.machineBusyCores - split.serverCores - split.postgresCores - split.benchClientCores;
    return { ...split, otherCores: Math.max(0, Math.round(other * 100) / 100) };
  }
}

/**
 * The PostgreSQL backends of the benchmark's databases (`<prefix>_<service>` for each prefix,
 * grouped as `<label><service>`), and the server's WAL writer, checkpointer and background writer
 * (group `shared`).
 */
export function benchPostgresProcesses(
  db: {
    query: (text: string, values: unknown[]) => Promise<{ rows: { pid: number; datname: string | null }[] }>;
  },
  prefixes: Record<string, string>,
): () => Promise<PostgresProcess[]> {
  const entries = Object.entries(prefixes);
  return async () => {
    const { rows } = await db.query(
      `SELECT pid, datname FROM pg_stat_activity
        WHERE datname LIKE ANY($1::text[]) OR backend_type IN ('walwriter', 'checkpointer', 'background writer')`,
      [entries.map(([, prefix]) => `${prefix}%`)],
    );
    return rows.map((r) => {
      const match = entries.find(([, prefix]) => r.datname?.startsWith(`${prefix}_`));
      return {
        pid: r.pid,
        group: match ? `${match[0]}${r.datname!.slice(match[1].length + 1)}` : 'shared',
      };
    });
  };
}
