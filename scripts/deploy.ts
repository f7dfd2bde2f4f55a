/**
 * `npm run deploy [-- --demo]`: from a bare cluster to dashboards. Runs the steps of
 * scripts/deploy/plan.ts with kubectl (its output shown as it goes): CRDs, namespaces, the Grafana
 * admin Secret (random password, never printed), the Alertmanager receivers' Secret from
 * --receivers-file and Thanos's object-store Secret from --objstore-file (values on stdin only, never
 * printed), dist/, rollouts, and optionally the demo workload.
 * It deploys dist/ as it is; given a config (CHAT_MONITORING_CONFIG, or --demo, which is built from
 * the config) that does not synthesize the same dist/, it refuses and says how they differ.
 */
import { spawn, spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import { existsSync, readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { App } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { buildCharts } from '../lib/charts/monitoring-charts';
import { ChartConfig } from '../lib/config';
import { loadConfig } from '../lib/synth';
import { CHART_CONFIG } from '../lib/chart-config';
import { DEMO_DIST, synthDemo } from '../demo/main';
import { parseDeployArgs, USAGE } from './deploy/args';
import { ConfigSource, distMismatch } from './deploy/dist-check';
import { ManifestFile, ManifestObject } from './deploy/manifests';
import { deployPlan, grafanaSecretManifest, Step } from './deploy/plan';
import { objstoreFileProblem, objstoreSecret, objstoreSecretManifest, objstoreSecretProblem } from './deploy/objstore-secret';
import {
  parseReceiversFile, receiversFileProblem, receiversSecret, receiversSecretManifest, receiversSecretProblem,
} from './deploy/receivers-secret';

const DIST = process.env.CHAT_MONITORING_DIST ?? 'dist';

function readManifests(dir: string): ManifestFile[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((file) => ({
    path: join(dir, file),
    objects: parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => d.toJSON()).filter(Boolean) as ManifestObject[],
  }));
}

/** The charts `config` synthesizes, in memory, as dist/ would hold them. */
function synthesizeInMemory(config: ChartConfig): ManifestFile[] {
  const app = new App({ outdir: DIST });
  buildCharts(app, config);
  return app.charts.map((c) => ({ path: join(DIST, `${c.node.id}.k8s.yaml`), objects: c.toJson() as ManifestObject[] }));
}

const say = (line: string) => process.stdout.write(`${line}\n`);

function run(args: readonly string[], stdin?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', args, { stdio: [stdin === undefined ? 'inherit' : 'pipe', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
    // A kubectl that exits without reading its input (an error) is reported by its exit code, not EPIPE.
    child.stdin?.on('error', () => undefined);
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

const quiet = (args: readonly string[]) => spawnSync('kubectl', args, { stdio: 'ignore' }).status === 0;
const output = (args: readonly string[]) => spawnSync('kubectl', args, { encoding: 'utf8' });

const HOW_TO_GET_A_CLUSTER = 'create the local kind cluster with `npm run kind:up`, or choose a context with --context (`kubectl config get-contexts` lists them)';

/** The context deploy will use: the given one or the current one, which must exist. */
function resolveContext(given: string | undefined): string {
  const contexts = output(['config', 'get-contexts', '-o', 'name']).stdout.split('\n').filter(Boolean);
  if (given) {
    if (contexts.includes(given)) return given;
    throw new Error(`kubectl has no context "${given}" (it has ${contexts.length ? contexts.join(', ') : 'none'}): ${HOW_TO_GET_A_CLUSTER}`);
  }
  const current = output(['config', 'current-context']);
  if (current.status === 0 && current.stdout.trim()) return current.stdout.trim();
  throw new Error(`kubectl has no current context, so no cluster to deploy to: ${HOW_TO_GET_A_CLUSTER}`);
}

/** Whether the context's API server answers; kubectl's own retries and log lines stay hidden. */
function checkCluster(context: string): void {
  const version = output(['--context', context, 'version', '-o', 'json', '--request-timeout=10s']);
  if (version.status === 0) return;
  const server = output(['config', 'view', '--minify', '--context', context, '-o', 'jsonpath={.clusters[0].cluster.server}']).stdout.trim();
  // The last line says why (connection refused, certificate, ...), minus klog's prefix.
  const reason = version.stderr.trim().split('\n').pop()?.replace(/^[EWIF]\d{4} [\d:.]+\s+\d+ \S+\] /, '') || `kubectl exited with ${version.status}`;
  throw new Error(`the cluster of kubectl context "${context}"${server ? ` (${server})` : ''} does not answer (${reason}): start it, or ${HOW_TO_GET_A_CLUSTER}`);
}

/** The keys of the receivers' Secret that have a value (undefined: no such Secret); kubectl prints no value. */
function secretKeys(args: readonly string[], id: string): string[] | undefined {
  const r = output(args);
  if (r.status === 0) return r.stdout.split('\n').filter(Boolean);
  if (/\bNotFound\b|not found/.test(r.stderr)) return undefined;
  const reason = r.stderr.trim().split('\n').pop() || `kubectl exited with ${r.status}`;
  throw new Error(`could not read the keys of Secret ${id} (${reason})`);
}

/** What --receivers-file and --objstore-file hold; read once, before any step, and only ever written to kubectl's stdin. */
interface SecretFiles {
  readonly receivers?: ReadonlyMap<string, string>;
  readonly objstore?: string;
}

/** A file's content, or an error naming only the flag, the path and why (never the content). */
function readSecretFile(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${flag} ${file}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
}

/** Pipes a Secret's manifest to the step's kubectl on stdin, saying only what it holds. */
async function applySecret(step: Step & { args: readonly string[] }, what: string, manifest: string, where: string): Promise<void> {
  say(`$ kubectl ${step.args.join(' ')}  < ${what} (not shown)`);
  const code = await run(step.args, manifest);
  if (code !== 0) throw new Error(`step ${where} (${step.title}) failed: kubectl exited with ${code}, its output is above`);
}

async function execute(step: Step, index: number, total: number, context: string, files: SecretFiles): Promise<void> {
  const started = Date.now();
  say(`\n[${index + 1}/${total}] ${step.title}`);
  switch (step.kind) {
    case 'check-cluster':
      checkCluster(context);
      break;
    case 'kubectl': {
      say(`$ kubectl ${step.args.join(' ')}`);
      const code = await run(step.args);
      if (code !== 0) throw new Error(`step ${index + 1}/${total} (${step.title}) failed: kubectl exited with ${code}, its output is above`);
      break;
    }
    case 'poll': {
      const deadline = Date.now() + step.timeoutSeconds * 1000;
      while (!quiet(step.args)) {
        if (Date.now() > deadline) throw new Error(`gave up after ${step.timeoutSeconds}s: kubectl ${step.args.join(' ')}`);
        await new Promise((r) => setTimeout(r, 3000));
      }
      break;
    }
    case 'ensure-grafana-secret': {
      const ns = ['-n', step.namespace];
      if (quiet([...step.kubectlArgs, ...ns, 'get', 'secret', step.name, '-o', 'name'])) {
        say(`secret/${step.name} exists: kept (Grafana keeps the password in its database after its first start)`);
        break;
      }
      // `create` (not apply): no last-applied annotation holding the password, and it fails
      // rather than overwrite a Secret created meanwhile. The password only travels on stdin.
      const password = randomBytes(24).toString('base64url');
      const code = await run([...step.kubectlArgs, 'create', '-f', '-'], grafanaSecretManifest(step.namespace, step.name, password));
      if (code !== 0) throw new Error(`could not create secret ${step.namespace}/${step.name}`);
      break;
    }
    case 'check-receivers-secret': {
      const id = `${step.secret.namespace}/${step.secret.name}`;
      const problem = receiversSecretProblem(step.secret, secretKeys(step.args, id));
      if (problem) throw new Error(problem);
      say(`secret/${step.secret.name} has a value for every key the receivers read (${step.secret.keys.join(', ')})`);
      break;
    }
    case 'apply-receivers-secret':
      if (!files.receivers) throw new Error(`${step.file} was not read`);
      await applySecret(step, `Secret ${step.secret.name} with the ${files.receivers.size} key(s) of ${step.file}`,
        receiversSecretManifest(step.secret, files.receivers), `${index + 1}/${total}`);
      break;
    case 'check-objstore-secret': {
      const problem = objstoreSecretProblem(step.secret, secretKeys(step.args, `${step.secret.namespace}/${step.secret.name}`));
      if (problem) throw new Error(problem);
      say(`secret/${step.secret.name} has a value for ${step.secret.key}`);
      break;
    }
    case 'apply-objstore-secret':
      if (files.objstore === undefined) throw new Error(`${step.file} was not read`);
      await applySecret(step, `Secret ${step.secret.name} with ${step.file} as its key ${step.secret.key}`,
        objstoreSecretManifest(step.secret, files.objstore), `${index + 1}/${total}`);
      break;
    case 'print':
      say(step.lines.join('\n'));
      break;
  }
  if (step.kind !== 'print') say(`    ok (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

async function main() {
  const args = parseDeployArgs(process.argv.slice(2));
  if (args.help) {
    say(USAGE);
    return;
  }
  const dist = readManifests(DIST);
  if (dist.length === 0) throw new Error(`no manifests in ${DIST}/: run \`npm run synth\` first`);
  const configPath = process.env.CHAT_MONITORING_CONFIG;
  if (configPath || args.demo) {
    // The demo is built from the config: it must be the config dist/ came from.
    const source: ConfigSource = configPath
      ? { name: `CHAT_MONITORING_CONFIG=${configPath}`, synth: `CHAT_MONITORING_CONFIG=${configPath} npm run synth` }
      : { name: 'lib/chart-config.ts (CHAT_MONITORING_CONFIG is not set)', synth: 'npm run synth' };
    const mismatch = distMismatch(dist, synthesizeInMemory(loadConfig(CHART_CONFIG, configPath)), source);
    if (mismatch) throw new Error(mismatch);
  }
  let demo: ManifestFile[] | undefined;
  if (args.demo) {
    synthDemo(DEMO_DIST);
    demo = readManifests(DEMO_DIST);
  }
  const steps = deployPlan({
    dist, demo, context: args.context, timeoutSeconds: args.timeoutSeconds, receiversFile: args.receiversFile, objstoreFile: args.objstoreFile,
  });
  // The files are checked before anything runs (also with --dry-run): every key the receivers read, a non-empty objstore config.
  let receivers: ReadonlyMap<string, string> | undefined;
  const secret = receiversSecret(dist);
  if (args.receiversFile !== undefined && secret) {
    receivers = parseReceiversFile(readSecretFile('--receivers-file', args.receiversFile), args.receiversFile);
    const problem = receiversFileProblem(secret, args.receiversFile, receivers);
    if (problem) throw new Error(problem);
  }
  let objstore: string | undefined;
  const objstoreRef = objstoreSecret(dist);
  if (args.objstoreFile !== undefined && objstoreRef) {
    objstore = readSecretFile('--objstore-file', args.objstoreFile);
    const problem = objstoreFileProblem(objstoreRef, args.objstoreFile, objstore);
    if (problem) throw new Error(problem);
  }
  if (args.dryRun) {
    steps.forEach((s, i) => say(`[${i + 1}/${steps.length}] ${s.title}${'args' in s ? `\n    kubectl ${s.args.join(' ')}` : ''}`));
    return;
  }
  if (spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('kubectl not found on PATH: install it (https://kubernetes.io/docs/tasks/tools/)');
  }
  const context = resolveContext(args.context);
  say(`chat-monitoring: deploying ${DIST}/ to kubectl context "${context}"${args.demo ? ' with the demo workload' : ''}`);
  for (const [i, step] of steps.entries()) await execute(step, i, steps.length, context, { receivers, objstore });
}

main().catch((e) => {
  process.stderr.write(`deploy: ${(e as Error).message}\n`);
  process.exit(1);
});
