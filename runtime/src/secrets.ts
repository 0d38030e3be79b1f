import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Secrets the all-in-one runtime generates once and keeps in its data folder (mode 0600). */
export interface LocalSecrets {
  postgresPassword: string;
  rolePasswords: Record<string, string>;
  adminToken: string;
}

/** A random URL-safe secret with `bytes` bytes of entropy. */
export function generateSecret(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * Reads the data folder's secrets, creating any that are missing. The file is written only by this
 * process and readable only by its user.
 */
export async function loadLocalSecrets(dataDir: string, roles: readonly string[]): Promise<LocalSecrets> {
  const file = path.join(dataDir, 'secrets.json');
  let stored: Partial<LocalSecrets> = {};
  try {
    stored = JSON.parse(await readFile(file, 'utf8')) as Partial<LocalSecrets>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`cannot read ${file}: ${(err as Error).message}`);
    }
  }
  const secrets: LocalSecrets = {
    postgresPassword: stored.postgresPassword ?? generateSecret(),
    rolePasswords: { ...stored.rolePasswords },
    adminToken: stored.adminToken ?? generateSecret(32),
  };
  for (const role of roles) secrets.rolePasswords[role] ??= generateSecret();
  if (JSON.stringify(secrets) !== JSON.stringify(stored)) {
    await mkdir(dataDir, { recursive: true });
    await writeFile(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
    await chmod(file, 0o600);
  }
  return secrets;
}
