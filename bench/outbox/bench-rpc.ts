import { createLogger, createNatsBus, createPool } from '@assetops/platform';

/** What every benchmark service thread connects to. */
export interface ServiceThreadSettings {
  databaseUrl: string;
  natsUrl: string;
  streamPrefix: string;
}

/** The logger, pool and NATS bus of one benchmark service thread. */
export async function connectServiceThread(settings: ServiceThreadSettings, name: string, poolSize: number) {
  const logger = createLogger({ service: name, level: process.env.LOG_LEVEL ?? 'warn' });
  const pool = createPool({ connectionString: settings.databaseUrl, applicationName: name, max: poolSize });
  const bus = await createNatsBus({
    servers: settings.natsUrl,
    name,
    logger,
    streamPrefix: settings.streamPrefix,
  });
  return { logger, pool, bus };
}

// Each service (producer + relay, consumer) runs on its own thread with its own event loop, as it
// would in its own process, so that one does not delay the other's I/O callbacks.
export { BenchThread as ServiceThread, serve } from '../common/threads.js';
