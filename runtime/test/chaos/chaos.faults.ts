import type { ChaosNats, ChaosPostgres } from './chaos.servers.js';
import type { ServiceFleet } from './chaos.services.js';
import { sleep } from './chaos.wait.js';

export type FaultKind = 'sigkill' | 'nats-restart' | 'postgres-restart' | 'consumer-pause';

/** One fault as it happened: when (seconds into the run), what, and how long until all was ready again. */
export interface FaultRecord {
  kind: FaultKind;
  target: string;
  atSeconds: number;
  /** For a pause: how long the process was stopped. Otherwise: until every service was ready again. */
  durationMs: number;
}

export interface FaultPlan {
  fleet: ServiceFleet;
  postgres: ChaosPostgres;
  nats: ChaosNats;
  /** Rounds of faults start while this much time has passed; the first round always runs whole. */
  durationMs: number;
  /** The consumer paused past its ack deadline, and for how long. */
  pauseTarget: string;
  pauseMs: number;
  /** Pacing between faults, so each hits a system under load rather than one still recovering. */
  gapMs: number;
  recoveryTimeoutMs: number;
  /** Called just before a SIGKILL, e.g. to read the process's counters while it still lives. */
  beforeKill?: (name: string) => Promise<void>;
  log: (line: string) => void;
}

/**
 * Injects faults in rounds until the duration is over. Each round: the pause target is stopped
 * (SIGSTOP) for `pauseMs` while, one after the other, every other service is SIGKILLed and
 * restarted, NATS is restarted and PostgreSQL is restarted; the pause target is killed last, once
 * resumed. After each fault the next waits until every running service is ready again, so no
 * fault is lost in the recovery of the previous one.
 */
export async function runFaults(plan: FaultPlan): Promise<FaultRecord[]> {
  const { fleet } = plan;
  const started = Date.now();
  const records: FaultRecord[] = [];
  const at = () => Math.round((Date.now() - started) / 100) / 10;

  async function recovered(kind: FaultKind, target: string, since: number): Promise<void> {
    const took = await fleet.waitReady({ timeoutMs: plan.recoveryTimeoutMs });
    records.push({
      kind,
      target,
      atSeconds: Math.round((since - started) / 100) / 10,
      durationMs: Date.now() - since,
    });
    const [slowest, slowestMs] = Object.entries(took).sort((x, y) => y[1] - x[1])[0] ?? ['-', 0];
    plan.log(
      `[chaos] ${at()} s: ${kind} ${target}: all ready again after ${Date.now() - since} ms (last: ${slowest}, ${slowestMs} ms)`,
    );
  }

  async function kill(name: string): Promise<void> {
    await plan.beforeKill?.(name).catch(() => {});
    const since = Date.now();
    plan.log(`[chaos] ${at()} s: SIGKILL ${name}`);
    await fleet.killAndRestart(name);
    await recovered('sigkill', name, since);
  }

  async function pause(name: string): Promise<void> {
    const since = Date.now();
    plan.log(`[chaos] ${at()} s: SIGSTOP ${name} for ${plan.pauseMs} ms`);
    fleet.pause(name);
    try {
      await sleep(plan.pauseMs);
    } finally {
      fleet.resume(name);
    }
    records.push({
      kind: 'consumer-pause',
      target: name,
      atSeconds: Math.round((since - started) / 100) / 10,
      durationMs: Date.now() - since,
    });
    plan.log(`[chaos] ${at()} s: SIGCONT ${name}`);
  }

  const others = fleet.names.filter((name) => name !== plan.pauseTarget);
  do {
    // Let load flow for a moment, so the paused consumer holds unacknowledged deliveries.
    await sleep(plan.gapMs);
    // Settled into an error value at once, so a failed pause is reported where it is awaited.
    const pausing = pause(plan.pauseTarget).then(
      () => undefined,
      (err: unknown) => err,
    );
    const sequence = others.map((name) => () => kill(name));
    sequence.splice(Math.min(2, sequence.length), 0, () =>
      restart('nats-restart', 'nats', () => plan.nats.restart()),
    );
    sequence.splice(Math.min(5, sequence.length), 0, () =>
      restart('postgres-restart', 'postgres', () => plan.postgres.restart()),
    );
    let faultError: unknown;
    try {
      for (const fault of sequence) {
        await fault();
        await sleep(plan.gapMs);
      }
    } catch (err) {
      faultError = err;
    }
    // The paused process is always resumed before anything else happens (or fails).
    const pauseError = await pausing;
    if (faultError !== undefined) throw faultError;
    if (pauseError !== undefined) throw pauseError;
    await fleet.waitReady({ timeoutMs: plan.recoveryTimeoutMs });
    await kill(plan.pauseTarget);
  } while (Date.now() - started < plan.durationMs);
  return records;

  async function restart(kind: FaultKind, target: string, action: () => Promise<void>): Promise<void> {
    const since = Date.now();
    plan.log(`[chaos] ${at()} s: restart ${target}`);
    await action();
    await recovered(kind, target, since);
  }
}
