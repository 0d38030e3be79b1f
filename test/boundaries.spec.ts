import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { findBoundaryViolations, importsOf } from '../scripts/check-boundaries.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('boundary check', () => {
  let tree: string;
  afterEach(async () => {
    if (tree) await rm(tree, { recursive: true, force: true });
  });

  async function plant(files: Record<string, string>): Promise<string> {
    tree = await mkdtemp(path.join(os.tmpdir(), 'assetops-boundaries-'));
    for (const [file, content] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(tree, file)), { recursive: true });
      await writeFile(path.join(tree, file), content);
    }
    return tree;
  }

  it('passes on this repository', async () => {
    expect(await findBoundaryViolations(repoRoot)).toEqual([]);
  });

  it('fails on a service importing another service by package name', async () => {
    const root = await plant({
      'services/alert/src/rules.ts':
        "import { x } from '@assetops/contracts';\nimport { findAsset } from '@assetops/asset';\n",
      'services/asset/src/index.ts': 'export const findAsset = 1;\n',
    });
    const violations = await findBoundaryViolations(root);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({
      file: 'services/alert/src/rules.ts',
      line: 2,
      specifier: '@assetops/asset',
    });
  });

  it('fails on a relative import into another service, a dynamic import and a re-export', async () => {
    const root = await plant({
      'services/alert/src/a.ts': "import '../../asset/src/store.js';\n",
      'services/alert/src/b.ts': "const m = await import('@assetops/telemetry');\n",
      'services/alert/src/c.ts': "export { y } from '@assetops/maintenance';\n",
      'services/alert/src/ok.ts':
        "import { z } from './local.js';\nimport type { P } from '@assetops/platform';\n",
    });
    const specifiers = (await findBoundaryViolations(root)).map((v) => v.specifier).sort();
    expect(specifiers).toEqual(['../../asset/src/store.js', '@assetops/maintenance', '@assetops/telemetry']);
  });

  it('fails on a service manifest depending on another service, and on platform importing a service', async () => {
    const root = await plant({
      'services/alert/package.json': JSON.stringify({
        dependencies: { '@assetops/asset': '*', '@assetops/platform': '*' },
      }),
      'packages/platform/src/x.ts': "import '@assetops/asset';\nimport '@assetops/contracts';\n",
    });
    const violations = await findBoundaryViolations(root);
    expect(violations.map((v) => v.file).sort()).toEqual([
      'packages/platform/src/x.ts',
      'services/alert/package.json',
    ]);
  });

  it('finds multi-line imports with their line numbers', () => {
    const found = importsOf("const a = 1;\nimport {\n  b,\n} from '@assetops/asset';\n");
    expect(found).toEqual([{ specifier: '@assetops/asset', line: 2 }]);
  });
});
