import { parseArgs } from 'node:util';
import { provisionServiceDatabase, withDatabase } from '@assetops/platform';
import { generateSecret } from './secrets.js';
import { databaseServices } from './services.js';

// `npm run provision -- --admin-url postgres://postgres@db:5432/postgres [--services asset,alert]
//   [--prefix assetops] [--host-for-services db.internal]`
// Creates each service's database and role (CONNECT revoked from PUBLIC) on a PostgreSQL server and
// prints each service's DATABASE_URL. Passwords come from ASSETOPS_<SERVICE>_DB_PASSWORD when set,
// else they are generated (re-running rotates generated ones, so keep the printed URLs).
const { values } = parseArgs({
  options: {
    'admin-url': { type: 'string' },
    services: { type: 'string', default: databaseServices.join(',') },
    prefix: { type: 'string', default: 'assetops' },
    'host-for-services': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

const usage =
  'usage: npm run provision -- --admin-url postgres://USER:PASS@HOST:5432/postgres [--services asset,telemetry,…] [--prefix assetops] [--host-for-services HOST]';

async function main(): Promise<void> {
  const adminUrl = values['admin-url'] ?? process.env.ASSETOPS_ADMIN_DATABASE_URL;
  if (values.help || !adminUrl) {
    process.stdout.write(`${usage}\n`);
    process.exit(values.help ? 0 : 2);
  }
  const wanted = values.services
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = wanted.filter((s) => !(databaseServices as readonly string[]).includes(s));
  if (unknown.length > 0)
    throw new Error(`unknown service(s): ${unknown.join(', ')}; known: ${databaseServices.join(', ')}`);
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(values.prefix))
    throw new Error('--prefix must be a lower-case identifier');
  for (const service of wanted) {
    const name = `${values.prefix}_${service}`;
    const password = process.env[`ASSETOPS_${service.toUpperCase()}_DB_PASSWORD`] ?? generateSecret();
    await provisionServiceDatabase(adminUrl, { database: name, role: name, password });
    const serviceUrl = new URL(withDatabase(adminUrl, name, { user: name, password }));
    if (values['host-for-services']) serviceUrl.hostname = values['host-for-services'];
    process.stdout.write(`${service.toUpperCase()}_DATABASE_URL=${serviceUrl.toString()}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`provision failed: ${(err as Error).message}\n`);
  process.exit(1);
});
