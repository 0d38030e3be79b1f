import { fileURLToPath } from 'node:url';
import type { MigrationSource } from '@assetops/platform';

/**
 * The gateway's migrations (users and tokens), for platform's `runMigrations` on the gateway's own
 * database.
 *
 * @example
 * await runMigrations(pool, [gatewayMigrations]);
 */
export const gatewayMigrations: MigrationSource = {
  module: 'gateway',
  dir: fileURLToPath(new URL('../../migrations', import.meta.url)),
};
