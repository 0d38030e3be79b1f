/**
 * @assetops/runtime — composes the services into the two runtimes. Not a service: it is the one
 * place allowed to import every service.
 */
export { type AllInOne, type AllInOneOptions, startAllInOne } from './all-in-one.js';
export { type EmbeddedPostgresServer, freePort, startEmbeddedPostgres } from './embedded-postgres.js';
export { type RunningService, runService } from './run-service.js';
export { databaseServices, serviceDefinitions } from './services.js';
