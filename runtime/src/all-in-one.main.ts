import path from 'node:path';
import { ConfigError, createLogger, loadConfig } from '@assetops/platform';
import { startAllInOne } from './all-in-one.js';
import { allInOneConfigSpec } from './config.js';

// `npm start`: the whole platform in one process on an embedded PostgreSQL.
try {
  const config = loadConfig(allInOneConfigSpec, process.env);
  const logger = createLogger({ service: 'runtime', level: config.LOG_LEVEL });
  const platform = await startAllInOne({
    dataDir: path.resolve(config.ASSETOPS_DATA_DIR),
    port: config.PORT,
    host: config.HOST,
    adminToken: config.ASSETOPS_ADMIN_TOKEN,
    embeddedPostgresPort: config.ASSETOPS_EMBEDDED_PG_PORT,
    // The default port falls back to a free one when taken; a port set in MQTT_PORT must be free.
    mqtt: { port: config.MQTT_PORT, host: config.MQTT_HOST, fallbackToFreePort: !process.env.MQTT_PORT },
    logger,
    // The demo says where to look once its fleet is live, after the banner below.
    demo: config.ASSETOPS_DEMO && { announce: (line) => process.stdout.write(`\n  ${line}\n\n`) },
  });
  const shown = platform.gatewayUrl.replace('0.0.0.0', 'localhost');
  const tokenNote = config.ASSETOPS_ADMIN_TOKEN
    ? '(from ASSETOPS_ADMIN_TOKEN)'
    : `(kept in ${path.join(config.ASSETOPS_DATA_DIR, 'admin-token')})`;
  process.stdout.write(
    [
      '',
      '  AssetOps is running (all-in-one).',
      `  API:          ${shown}/api/v1/assets`,
      `  API docs:     ${shown}/docs`,
      `  Web UI:       ${shown}/`,
      `  Admin token:  ${platform.adminToken}  ${tokenNote}`,
      `  MQTT:         ${platform.mqttUrl}  (devices publish to assetops/<assetId>/telemetry)`,
      `  Try:          curl -H "Authorization: Bearer ${platform.adminToken}" ${shown}/api/v1/assets`,
      config.ASSETOPS_DEMO
        ? '  Demo:         a simulated fleet starts sending readings in a few seconds (ASSETOPS_DEMO=false: off)'
        : '  Demo:         off (ASSETOPS_DEMO=false)',
      '',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await platform.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
} catch (err) {
  process.stderr.write(
    `${err instanceof ConfigError ? err.message : ((err as Error).stack ?? String(err))}\n`,
  );
  process.exit(1);
}
