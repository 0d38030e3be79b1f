/**
 * What the distributed runtime refuses to start with: a secret that is missing, or one that is a
 * well-known default or placeholder (the values in our examples, `changeme`, `password`…) or too
 * weak to be a real one. The all-in-one runtime generates its own secrets and is not checked.
 */

/** Words that examples and quick starts put where a secret belongs. */
const PLACEHOLDERS = [
  'replace',
  'change-me',
  'changeme',
  'change_me',
  'example',
  'placeholder',
  'default',
  'password',
  'passwd',
  'secret',
  'letmein',
  'admin',
  'assetops',
  'postgres',
  'guest',
  'token',
];

/** Why `value` cannot be a production secret, or `undefined` when it can. */
export function weakSecretReason(value: string, minLength = 16): string | undefined {
  if (value.length < minLength) return `is shorter than ${minLength} characters`;
  const lower = value.toLowerCase();
  const placeholder = PLACEHOLDERS.find((word) => lower.includes(word));
  if (placeholder) return `looks like a default or placeholder (contains '${placeholder}')`;
  if (new Set(value).size < 8) return 'has fewer than 8 different characters';
  return undefined;
}

/**
 * Every secret problem of one service's environment in the distributed runtime, e.g.
 * `DATABASE_URL has no password`. Empty when the service may start.
 *
 * @example
 * distributedSecretProblems('gateway', { ASSETOPS_ADMIN_TOKEN: 'changeme' });
 * // ['ASSETOPS_ADMIN_TOKEN is shorter than 16 characters']
 */
export function distributedSecretProblems(
  service: string,
  env: Record<string, string | undefined>,
): string[] {
  const problems: string[] = [];
  const check = (
    name: string,
    value: string | undefined,
    opts: { required: boolean; minLength?: number },
  ) => {
    if (value === undefined || value === '') {
      if (opts.required) problems.push(`${name} is required in the distributed runtime`);
      return;
    }
    const reason = weakSecretReason(value, opts.minLength);
    if (reason) problems.push(`${name} ${reason}; generate one, e.g. openssl rand -hex 24`);
  };

  if (service === 'gateway') {
    check('ASSETOPS_ADMIN_TOKEN', env.ASSETOPS_ADMIN_TOKEN, { required: true });
  }
  // Every service has its own database, the gateway included (users and tokens).
  const databaseUrl = env.DATABASE_URL;
  if (databaseUrl) {
    let password: string | undefined;
    try {
      password = decodeURIComponent(new URL(databaseUrl).password);
    } catch {
      password = undefined; // a malformed URL is reported by the config check
    }
    if (password !== undefined) {
      if (password === '')
        problems.push('DATABASE_URL has no password: each service connects as its own role, with a password');
      else check('the DATABASE_URL password', password, { required: true, minLength: 12 });
    }
  }
  // The gateway uses no bus and no broker (Mosquitto asks it about devices over HTTP).
  if (service === 'gateway') return problems;
  check('NATS_TOKEN', env.NATS_TOKEN, { required: false });
  if (env.MQTT_URL) {
    if (!env.MQTT_USERNAME)
      problems.push('MQTT_USERNAME is required with MQTT_URL in the distributed runtime');
    check('MQTT_PASSWORD', env.MQTT_PASSWORD, { required: true, minLength: 12 });
  }
  return problems;
}
