import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The module boundaries of DESIGN.md, checked on the source: a service imports only
 * `@assetops/contracts` and `@assetops/platform` (never another service, by package name or by a
 * relative path), `platform` imports only `contracts`, and `contracts` imports no workspace package.
 * The runtime (composition root) and benches may import anything.
 */
export interface BoundaryViolation {
  file: string;
  line: number;
  specifier: string;
  rule: string;
}

const IMPORT_PATTERN =
  /(?:^|[^.\w$])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[^.\w$])import\s*['"]([^'"]+)['"]|(?:^|[^.\w$])(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g;
const SOURCE_EXT = /\.(?:[cm]?[jt]sx?)$/;
const SHARED = new Set(['contracts', 'platform']);

async function* walk(dir: string): AsyncGenerator<string> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (SOURCE_EXT.test(entry.name)) yield full;
  }
}

/** Every import specifier in a source text, with its line number (comments are not excluded on purpose: the check stays simple and strict). */
export function importsOf(source: string): { specifier: string; line: number }[] {
  const found: { specifier: string; line: number }[] = [];
  for (const match of source.matchAll(IMPORT_PATTERN)) {
    const specifier = match[1] ?? match[2] ?? match[3];
    if (!specifier) continue;
    const line = source.slice(0, match.index).split('\n').length + (match[0].startsWith('\n') ? 1 : 0);
    found.push({ specifier, line });
  }
  return found;
}

/** Checks a repository tree and returns every violation (empty when the boundaries hold). */
export async function findBoundaryViolations(root: string): Promise<BoundaryViolation[]> {
  const violations: BoundaryViolation[] = [];
  const services = (await readdir(path.join(root, 'services'), { withFileTypes: true }).catch(() => []))
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
  const serviceSet = new Set(services);

  const check = async (owner: { kind: 'service' | 'package'; name: string; dir: string }) => {
    for await (const file of walk(owner.dir)) {
      const source = await readFile(file, 'utf8');
      for (const { specifier, line } of importsOf(source)) {
        const rel = path.relative(root, file);
        const report = (rule: string) => violations.push({ file: rel, line, specifier, rule });
        const workspace = /^@assetops\/([^/]+)/.exec(specifier)?.[1];
        if (workspace !== undefined) {
          if (owner.kind === 'service' && !SHARED.has(workspace) && workspace !== owner.name) {
            report(`service '${owner.name}' may import only @assetops/contracts and @assetops/platform`);
          }
          if (owner.kind === 'package' && owner.name === 'contracts') {
            report('contracts may not import other workspace packages');
          }
          if (owner.kind === 'package' && owner.name === 'platform' && workspace !== 'contracts') {
            report('platform may import only @assetops/contracts');
          }
          continue;
        }
        if (specifier.startsWith('.')) {
          const target = path.resolve(path.dirname(file), specifier);
          if (!target.startsWith(owner.dir + path.sep) && target !== owner.dir) {
            const into = path.relative(root, target).split(path.sep);
            const what =
              into[0] === 'services' && serviceSet.has(into[1] ?? '')
                ? `service '${into[1]}'`
                : into.join('/');
            report(`'${owner.name}' reaches outside its package into ${what} by a relative path`);
          }
        }
      }
    }
  };

  for (const name of services) await check({ kind: 'service', name, dir: path.join(root, 'services', name) });
  for (const name of SHARED) await check({ kind: 'package', name, dir: path.join(root, 'packages', name) });

  for (const name of services) {
    const manifest = path.join(root, 'services', name, 'package.json');
    let pkg: { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
    try {
      pkg = JSON.parse(await readFile(manifest, 'utf8'));
    } catch {
      continue;
    }
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })) {
      const workspace = /^@assetops\/([^/]+)$/.exec(dep)?.[1];
      if (workspace && !SHARED.has(workspace)) {
        violations.push({
          file: path.relative(root, manifest),
          line: 0,
          specifier: dep,
          rule: `service '${name}' may depend only on @assetops/contracts and @assetops/platform`,
        });
      }
    }
  }
  return violations;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
  const violations = await findBoundaryViolations(root);
  for (const v of violations) console.error(`${v.file}:${v.line}: ${v.specifier} — ${v.rule}`);
  if (violations.length > 0) {
    console.error(`boundary check failed: ${violations.length} violation(s)`);
    process.exit(1);
  }
  console.log('boundary check passed: services import only @assetops/contracts and @assetops/platform');
}
