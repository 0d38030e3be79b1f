import { fileURLToPath } from 'node:url';
import type { MigrationSource } from '../db/migrations.js';

/**
 * The tables of the event backbone: `outbox`, `inbox` and `dead_letters`. Every service that
 * publishes or consumes events applies them to its own database, next to its own migrations.
 *
 * @example
 * await runMigrations(pool, [messagingMigrations, { module: 'asset', dir: migrationsDir }]);
 */
export const messagingMigrations: MigrationSource = {
  module: 'platform.messaging',
  dir: fileURLToPath(new URL('../../migrations/messaging', import.meta.url)),
};
