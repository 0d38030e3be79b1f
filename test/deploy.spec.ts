import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { checkCompose, checkDeploy, checkKubernetes, knownSettings } from '../scripts/check-deploy.js';

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML, edited field by field.
type Manifest = any;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const deploy = path.join(repoRoot, 'deploy');

describe('deployment manifests', () => {
  let known: Map<string, Set<string>>;
  let compose: string;
  let envExample: string;
  let services: unknown[];

  beforeAll(async () => {
    known = await knownSettings(repoRoot);
    compose = await readFile(path.join(deploy, 'compose/compose.yaml'), 'utf8');
    envExample = await readFile(path.join(deploy, 'compose/.env.example'), 'utf8');
    services = parseAllDocuments(await readFile(path.join(deploy, 'k8s/services.yaml'), 'utf8')).map((d) =>
      d.toJS(),
    );
  });

  it('reads the settings of each service from its config spec', () => {
    expect(known.get('telemetry')).toContain('TELEMETRY_RETENTION_RAW');
    expect(known.get('telemetry')).toContain('DATABASE_URL');
    expect(known.get('gateway')).toContain('ASSETOPS_ADMIN_TOKEN');
    expect(known.get('gateway')).toContain('DATABASE_URL');
    expect(known.get('gateway')).not.toContain('NATS_URL');
  });

  it('has no problems in this repository (compose and Kubernetes)', async () => {
    expect(await checkDeploy(repoRoot)).toEqual([]);
  });

  const composeOpts = () => ({ dir: path.join(deploy, 'compose'), envExample, known });

  it('finds a setting that a service does not read', () => {
    const broken = compose.replace(
      '      MQTT_USERNAME: telemetry\n',
      '      MQTT_USERNAME: telemetry\n      TELEMETRY_RETENTION_RAWW: 30d\n',
    );
    expect(checkCompose(broken, composeOpts())).toContain(
      'compose: telemetry sets TELEMETRY_RETENTION_RAWW, which the telemetry service does not read',
    );
  });

  it('finds a secret with a default, a missing service and a broken NATS route', () => {
    const broken = compose
      .replace(`$\{NATS_TOKEN:?set NATS_TOKEN in .env}`, `$\{NATS_TOKEN:-insecure}`)
      .replace('nats://nats-1:6222,nats://nats-3:6222', 'nats://nats-1:6222')
      .replace(/\n {2}alert:\n/, '\n  alert-renamed:\n');
    const problems = checkCompose(broken, composeOpts());
    expect(problems.some((p) => p.includes(`uses $\{NATS_TOKEN} without ':?'`))).toBe(true);
    expect(problems).toContain('compose: nats-2 has no route to nats-3');
    expect(problems).toContain("compose: service 'alert' is missing");
  });

  it('finds a dangling ConfigMap key, a probe on an unknown port and a selector mismatch', () => {
    const config = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'assetops-config', namespace: 'assetops' },
      data: {},
    };
    const docs = structuredClone(services) as Manifest[];
    const asset: Manifest = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'asset');
    asset.spec.template.spec.containers[0].readinessProbe.httpGet.port = 'metrics';
    asset.spec.selector.matchLabels['app.kubernetes.io/name'] = 'assets';
    delete asset.spec.template.spec.containers[0].resources;
    const problems = checkKubernetes([config, ...docs], known);
    expect(problems).toContain(
      'Deployment asset container asset: NATS_URL → missing ConfigMap key assetops-config/NATS_URL',
    );
    expect(problems).toContain('Deployment asset container asset: readinessProbe uses unknown port metrics');
    expect(problems).toContain(
      'Deployment asset: selector app.kubernetes.io/name=assets does not match the pod labels',
    );
    expect(problems).toContain(
      'Deployment asset container asset: resources.requests cpu and memory are required',
    );
    expect(problems).toContain('k8s: the asset service has no PostgreSQL cluster of its own');
  });
});
