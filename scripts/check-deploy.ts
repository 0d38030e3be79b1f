import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/**
 * Checks the deployment manifests under `deploy/` without a container engine or a cluster: they
 * parse, every service of the platform is deployed, every environment variable given to a service
 * is one it reads (a renamed setting fails here, not in production), every reference (ConfigMap
 * and Secret keys, volumes, depends_on, selectors, probe ports, bind mounts) resolves, secrets have
 * no defaults, and each workload has probes and resource requests.
 *
 * `npm run check:deploy`; also run by the test suite.
 */

/** The services with a database, and the gateway: each one is deployed. */
export const deployedServices = ['asset', 'telemetry', 'alert', 'maintenance', 'dashboard'] as const;

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML, checked field by field.
type Doc = any;

const SETTING = /^ {2}([A-Z][A-Z0-9_]+):/gm;

/** The environment variables each service reads, from the config specs in its source. */
export async function knownSettings(repoRoot: string): Promise<Map<string, Set<string>>> {
  const runtimeConfig = await readFile(path.join(repoRoot, 'runtime/src/config.ts'), 'utf8');
  const serviceSpec = runtimeConfig.slice(runtimeConfig.indexOf('export const serviceConfigSpec'));
  const common = settingsIn(serviceSpec);
  const known = new Map<string, Set<string>>();
  for (const service of [...deployedServices, 'gateway']) {
    // The gateway's process reads LOG_LEVEL itself (runtime/src/service.main.ts).
    const names = service === 'gateway' ? new Set<string>(['LOG_LEVEL']) : new Set(common);
    for (const file of await configFiles(path.join(repoRoot, 'services', service, 'src'))) {
      for (const name of settingsIn(await readFile(file, 'utf8'))) names.add(name);
    }
    known.set(service, names);
  }
  return known;
}

function settingsIn(source: string): Set<string> {
  return new Set([...source.matchAll(SETTING)].map((m) => m[1] as string));
}

async function configFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.config.ts'))
      found.push(path.join(entry.parentPath, entry.name));
  }
  return found;
}

function parseYaml(text: string, file: string, problems: string[]): Doc[] {
  const docs: Doc[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      problems.push(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      continue;
    }
    const value = doc.toJS();
    if (value !== null && value !== undefined) docs.push(value);
  }
  return docs;
}

/** Problems of a compose file (its folder resolves bind mounts; `envExample` lists the secrets). */
export function checkCompose(
  composeText: string,
  opts: { dir: string; envExample: string; known: Map<string, Set<string>> },
): string[] {
  const problems: string[] = [];
  const [compose] = parseYaml(composeText, 'compose.yaml', problems);
  if (!compose) return problems.length > 0 ? problems : ['compose.yaml: empty'];
  const services: Record<string, Doc> = compose.services ?? {};
  const volumes = new Set(Object.keys(compose.volumes ?? {}));
  const declaredSecrets = new Set(
    opts.envExample
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => line.split('=')[0]),
  );

  for (const service of deployedServices) {
    if (!services[service]) problems.push(`compose: service '${service}' is missing`);
    if (!services[`${service}-db`]) problems.push(`compose: its own database '${service}-db' is missing`);
  }
  if (!services['gateway-db']) problems.push(`compose: the gateway's own database 'gateway-db' is missing`);
  if (!services.gateway) problems.push(`compose: service 'gateway' is missing`);
  const natsNodes = Object.keys(services).filter((name) => /^nats-\d+$/.test(name));
  if (natsNodes.length < 3) problems.push(`compose: a NATS cluster needs 3 nodes, found ${natsNodes.length}`);
  for (const node of natsNodes) {
    const args: string[] = services[node].command ?? [];
    const routes = args[args.indexOf('--routes') + 1] ?? '';
    for (const peer of natsNodes.filter((other) => other !== node)) {
      if (!routes.includes(`nats://${peer}:6222`)) problems.push(`compose: ${node} has no route to ${peer}`);
    }
  }

  for (const [name, service] of Object.entries(services)) {
    for (const dep of Object.keys(service.depends_on ?? {})) {
      if (!services[dep]) problems.push(`compose: ${name} depends on unknown service '${dep}'`);
    }
    for (const volume of service.volumes ?? []) {
      const source = String(volume).split(':')[0] as string;
      if (source.startsWith('.') || source.startsWith('/')) {
        if (!existsSync(path.resolve(opts.dir, source)))
          problems.push(`compose: ${name} mounts missing ${source}`);
      } else if (!volumes.has(source)) {
        problems.push(`compose: ${name} uses undeclared volume '${source}'`);
      }
    }
    const environment: Record<string, unknown> = service.environment ?? {};
    for (const [key, value] of Object.entries(environment)) {
      for (const ref of String(value).matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}/g)) {
        const [, variable, modifier] = ref as unknown as [string, string, string];
        if (!modifier.startsWith(':?')) {
          problems.push(
            `compose: ${name}.${key} uses \${${variable}} without ':?' (a secret must not default)`,
          );
        }
        if (!declaredSecrets.has(variable))
          problems.push(`compose: ${variable} is not listed in .env.example`);
      }
    }
    const command: string[] = service.command ?? [];
    const app = command.length === 1 ? command[0] : undefined;
    const known = app ? opts.known.get(app) : undefined;
    if (app && known) {
      for (const key of Object.keys(environment)) {
        if (!known.has(key))
          problems.push(`compose: ${name} sets ${key}, which the ${app} service does not read`);
      }
      const required =
        app === 'gateway' ? ['ASSETOPS_ADMIN_TOKEN', 'DATABASE_URL'] : ['DATABASE_URL', 'NATS_URL'];
      for (const key of required) {
        if (!(key in environment)) problems.push(`compose: ${name} lacks ${key}`);
      }
    }
  }
  return problems;
}

/** Problems of a set of Kubernetes manifests (all documents of the kustomization). */
export function checkKubernetes(docs: Doc[], known: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  const byKind = (kind: string) => docs.filter((d) => d?.kind === kind);
  const configMaps = new Map<string, Set<string>>(
    byKind('ConfigMap').map((d) => [d.metadata?.name, new Set(Object.keys(d.data ?? {}))]),
  );
  const secrets = new Map<string, Set<string>>(
    byKind('Secret').map((d) => [d.metadata?.name, new Set(Object.keys({ ...d.data, ...d.stringData }))]),
  );
  // CloudNativePG generates `<cluster>-app` with the application user's connection `uri`.
  for (const cluster of byKind('Cluster')) {
    secrets.set(
      `${cluster.metadata?.name}-app`,
      new Set(['uri', 'username', 'password', 'host', 'port', 'dbname']),
    );
  }
  const pvcs = new Set(byKind('PersistentVolumeClaim').map((d) => d.metadata?.name));

  for (const [index, doc] of docs.entries()) {
    const where = `${doc?.kind ?? 'document'} ${doc?.metadata?.name ?? `#${index}`}`;
    if (typeof doc?.apiVersion !== 'string' || typeof doc?.kind !== 'string') {
      problems.push(`${where}: apiVersion and kind are required`);
      continue;
    }
    if (
      typeof doc.metadata?.name !== 'string' ||
      !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(doc.metadata.name)
    ) {
      problems.push(`${where}: metadata.name must be a DNS-1123 name`);
    }
    if (doc.kind !== 'Namespace' && doc.metadata?.namespace !== 'assetops') {
      problems.push(`${where}: metadata.namespace must be assetops`);
    }
  }

  const workloads = [...byKind('Deployment'), ...byKind('StatefulSet')];
  for (const workload of workloads) {
    const where = `${workload.kind} ${workload.metadata?.name}`;
    const selector: Record<string, string> = workload.spec?.selector?.matchLabels ?? {};
    const labels: Record<string, string> = workload.spec?.template?.metadata?.labels ?? {};
    if (Object.keys(selector).length === 0) problems.push(`${where}: spec.selector.matchLabels is required`);
    for (const [key, value] of Object.entries(selector)) {
      if (labels[key] !== value)
        problems.push(`${where}: selector ${key}=${value} does not match the pod labels`);
    }
    const volumes = new Map<string, Doc>(
      (workload.spec?.template?.spec?.volumes ?? []).map((v: Doc) => [v.name, v]),
    );
    for (const claim of workload.spec?.volumeClaimTemplates ?? []) volumes.set(claim.metadata?.name, claim);
    for (const volume of volumes.values()) {
      if (volume.configMap && !configMaps.has(volume.configMap.name)) {
        problems.push(`${where}: volume uses unknown ConfigMap ${volume.configMap.name}`);
      }
      if (volume.persistentVolumeClaim && !pvcs.has(volume.persistentVolumeClaim.claimName)) {
        problems.push(`${where}: volume uses unknown PVC ${volume.persistentVolumeClaim.claimName}`);
      }
    }
    const containers: Doc[] = workload.spec?.template?.spec?.containers ?? [];
    if (containers.length === 0) problems.push(`${where}: no containers`);
    const initContainers: Doc[] = workload.spec?.template?.spec?.initContainers ?? [];
    for (const container of [...containers, ...initContainers]) {
      const at = `${where} container ${container.name}`;
      if (!container.name || !container.image) problems.push(`${at}: name and image are required`);
      for (const mount of container.volumeMounts ?? []) {
        if (!volumes.has(mount.name)) problems.push(`${at}: mounts unknown volume ${mount.name}`);
      }
      for (const variable of container.env ?? []) {
        const cm = variable.valueFrom?.configMapKeyRef;
        if (cm && !configMaps.get(cm.name)?.has(cm.key))
          problems.push(`${at}: ${variable.name} → missing ConfigMap key ${cm.name}/${cm.key}`);
        const secret = variable.valueFrom?.secretKeyRef;
        if (secret && !secrets.get(secret.name)?.has(secret.key))
          problems.push(`${at}: ${variable.name} → missing Secret key ${secret.name}/${secret.key}`);
      }
    }
    for (const container of containers) {
      const at = `${where} container ${container.name}`;
      const ports = new Set<string | number>();
      for (const port of container.ports ?? []) {
        ports.add(port.containerPort);
        if (port.name) ports.add(port.name);
      }
      for (const probe of ['livenessProbe', 'readinessProbe'] as const) {
        const spec = container[probe];
        if (!spec) {
          problems.push(`${at}: ${probe} is required`);
          continue;
        }
        const port = spec.httpGet?.port ?? spec.tcpSocket?.port;
        if (port !== undefined && !ports.has(port))
          problems.push(`${at}: ${probe} uses unknown port ${port}`);
      }
      if (!container.resources?.requests?.cpu || !container.resources?.requests?.memory) {
        problems.push(`${at}: resources.requests cpu and memory are required`);
      }
      const service = container.args?.length === 1 ? container.args[0] : undefined;
      const settings = service ? known.get(service) : undefined;
      if (settings) {
        for (const variable of container.env ?? []) {
          if (!settings.has(variable.name)) {
            problems.push(`${at}: sets ${variable.name}, which the ${service} service does not read`);
          }
        }
      }
    }
  }

  for (const service of byKind('Service')) {
    const where = `Service ${service.metadata?.name}`;
    const selector: Record<string, string> = service.spec?.selector ?? {};
    const target = workloads.find((w) =>
      Object.entries(selector).every(([k, v]) => w.spec?.template?.metadata?.labels?.[k] === v),
    );
    if (!target) {
      problems.push(`${where}: selects no workload`);
      continue;
    }
    const ports = new Set<string | number>();
    for (const container of target.spec.template.spec.containers ?? []) {
      for (const port of container.ports ?? []) {
        ports.add(port.containerPort);
        if (port.name) ports.add(port.name);
      }
    }
    for (const port of service.spec?.ports ?? []) {
      if (!ports.has(port.targetPort ?? port.port))
        problems.push(`${where}: targetPort ${port.targetPort} is not a container port`);
    }
  }

  for (const hpa of byKind('HorizontalPodAutoscaler')) {
    const ref = hpa.spec?.scaleTargetRef;
    if (!workloads.some((w) => w.kind === ref?.kind && w.metadata?.name === ref?.name)) {
      problems.push(
        `HorizontalPodAutoscaler ${hpa.metadata?.name}: target ${ref?.kind}/${ref?.name} does not exist`,
      );
    }
  }

  for (const name of [...deployedServices, 'gateway']) {
    if (!byKind('Deployment').some((d) => d.metadata?.name === name))
      problems.push(`k8s: Deployment '${name}' is missing`);
    if (!byKind('Service').some((d) => d.metadata?.name === name))
      problems.push(`k8s: Service '${name}' is missing`);
    if (!byKind('Cluster').some((d) => d.metadata?.name === `assetops-${name}-db`)) {
      problems.push(`k8s: the ${name} service has no PostgreSQL cluster of its own`);
    }
  }
  return problems;
}

/** Every problem of the manifests under `<repoRoot>/deploy`. */
export async function checkDeploy(repoRoot: string): Promise<string[]> {
  const deploy = path.join(repoRoot, 'deploy');
  const known = await knownSettings(repoRoot);
  const problems = checkCompose(await readFile(path.join(deploy, 'compose/compose.yaml'), 'utf8'), {
    dir: path.join(deploy, 'compose'),
    envExample: await readFile(path.join(deploy, 'compose/.env.example'), 'utf8'),
    known,
  });
  const kustomization = parseYaml(
    await readFile(path.join(deploy, 'k8s/kustomization.yaml'), 'utf8'),
    'kustomization.yaml',
    problems,
  )[0];
  const docs: Doc[] = [];
  for (const resource of kustomization?.resources ?? []) {
    const file = path.join(deploy, 'k8s', resource);
    if (!existsSync(file)) {
      problems.push(`kustomization: resource ${resource} does not exist`);
      continue;
    }
    docs.push(...parseYaml(await readFile(file, 'utf8'), resource, problems));
  }
  // The example secret documents which keys exist; it is not applied by the kustomization.
  docs.push(
    ...parseYaml(
      await readFile(path.join(deploy, 'k8s/secrets.example.yaml'), 'utf8'),
      'secrets.example.yaml',
      problems,
    ),
  );
  problems.push(...checkKubernetes(docs, known));
  return problems;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const problems = await checkDeploy(repoRoot);
  for (const problem of problems) process.stderr.write(`${problem}\n`);
  process.stdout.write(
    problems.length === 0 ? 'deploy manifests: ok\n' : `deploy manifests: ${problems.length} problem(s)\n`,
  );
  process.exit(problems.length === 0 ? 0 : 1);
}
