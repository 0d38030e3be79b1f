/**
 * @assetops/platform/testkit — helpers for tests that run against real servers: a fresh database
 * and role per test file, server discovery, and a controllable clock.
 */
export { createTestDatabase, type TestDatabase } from './database.js';
export { isReachable, natsAvailable, testEnv } from './env.js';
export { ManualClock } from './manual-clock.js';
