/**
 * `npm run deploy [-- --demo]`: from a bare cluster to dashboards. Runs the steps of
 * scripts/deploy/plan.ts with kubectl (its output shown as it goes): CRDs, namespaces, the Grafana
 * admin Secret (random password, never printed), the Alertmanager receivers' Secret from
 * --receivers-file and Thanos's object-store Secret from --objstore-file (values on stdin only, never
 * printed), dist/, rollouts, and optionally the demo workload.
 * It deploys dist/ as it is; given a config (CHAT_MONITORING_CONFIG, or --demo, which is built from
 * the config) that does not synthesize the same dist/, it refuses and says how they differ.
 *
 * A failure ends in one `deploy:` line saying why (kubectl's reason), exit 1, within these waits of
 * its cause: deploy's start, or the API server going away. C is a cluster check's --request-timeout
 * (REQUEST_TIMEOUT_SECONDS, 10 s; a live server or a closed port answers at once), T is --timeout;
 * deploy's own start and each kubectl process's come on top.
 *   - a context kubectl lacks: none; no cluster is asked.
 *   - a cluster that does not answer: C, the first step's check.
 *   - a user who may not install CRDs: 2C: the check, the refused CRD step, the check after it.
 *   - the API server gone while applying: C: the refused apply, then the check, which names it.
 *   - the API server gone while waiting for a rollout: T + 2C: kubectl's watch retries until T (and
 *     may linger past it: deploy stops it C after T), then the check names the cluster as the cause.
 *   - a rollout that never completes: T + 2C (kubectl ends at T; the check then answers at once).
 *   - a StatefulSet the operator never creates: T + C (its last try); the line names the operator.
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
import { kubectlFailure, kubectlReason, pollFailure } from './deploy/failure';
import { deployPlan, grafanaSecretManifest, POLL_EVERY_SECONDS, REQUEST_TIMEOUT_SECONDS, Step } from './deploy/plan';
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

interface Ran {
  readonly code: number;
  /** kubectl's last stderr line, minus klog's prefix. */
  readonly reason?: string;
  /** Set when deploy stopped kubectl: it was still running REQUEST_TIMEOUT_SECONDS after its own --timeout. */
  readonly overran?: number;
}

/**
 * Runs kubectl, its output shown as it comes; remembers the end of its stderr, where it says why it
 * failed. Given kubectl's own --timeout, stops it REQUEST_TIMEOUT_SECONDS after that: a rollout's
 * watch whose API server has gone keeps retrying past its --timeout (kubectl 1.37: ~14 s past 20 s).
 */
function run(args: readonly string[], stdin?: string, timeoutSeconds?: number): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', args, { stdio: [stdin === undefined ? 'inherit' : 'pipe', 'inherit', 'pipe'] });
    let tail = '';
    child.stderr?.on('data', (d: Buffer) => {
      process.stderr.write(d);
      tail = (tail + d.toString()).slice(-8192);
    });
    let overran: number | undefined;
    // SIGKILL: only read-only waits get a timeout, and a kubectl stuck past its own is not to be asked twice.
    const stopper = timeoutSeconds === undefined ? undefined : setTimeout(() => {
      overran = timeoutSeconds;
      child.kill('SIGKILL');
    }, (timeoutSeconds + REQUEST_TIMEOUT_SECONDS) * 1000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(stopper);
      resolve({ code: code ?? 1, reason: kubectlReason(tail), overran });
    });
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

/** Why the context's API server does not answer, or undefined when it does; kubectl's own retries and log lines stay hidden. */
function clusterSilence(context: string): string | undefined {
  const version = output(['--context', context, 'version', '-o', 'json', `--request-timeout=${REQUEST_TIMEOUT_SECONDS}s`]);
  if (version.status === 0) return undefined;
  const server = output(['config', 'view', '--minify', '--context', context, '-o', 'jsonpath={.clusters[0].cluster.server}']).stdout.trim();
  const reason = kubectlFailure(version.stderr, version.status);
  return `the cluster of kubectl context "${context}"${server ? ` (${server})` : ''} does not answer (${reason})`;
}

function checkCluster(context: string): void {
  const silence = clusterSilence(context);
  if (silence) throw new Error(`${silence}: start it, or ${HOW_TO_GET_A_CLUSTER}`);
}

/**
 * The error of a failed kubectl step: kubectl's reason and, when the cluster has stopped answering
 * (a rollout's wait then ends only as a timeout), that first, as the cause.
 */
function stepFailure(where: string, title: string, ran: Ran, context: string): Error {
  const silence = clusterSilence(context);
  const kubectlSaid = ran.overran !== undefined
    ? `kubectl was still waiting ${REQUEST_TIMEOUT_SECONDS} s after its --timeout of ${ran.overran} s, so deploy stopped it${ran.reason ? ` (its last line: ${ran.reason})` : ''}`
    : `kubectl exited with ${ran.code}${ran.reason ? ` (${ran.reason})` : ''}`;
  return new Error(`step ${where} (${title}) failed: ${silence ? `${silence}; ` : ''}${kubectlSaid}`);
}

/** The keys of the receivers' Secret that have a value (undefined: no such Secret); kubectl prints no value. */
function secretKeys(args: readonly string[], id: string): string[] | undefined {
  const r = output(args);
  if (r.status === 0) return r.stdout.split('\n').filter(Boolean);
  if (/\bNotFound\b|not found/.test(r.stderr)) return undefined;
  throw new Error(`could not read the keys of Secret ${id} (${kubectlFailure(r.stderr, r.status)})`);
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
async function applySecret(step: Step & { args: readonly string[] }, what: string, manifest: string, where: string, context: string): Promise<void> {
  say(`$ kubectl ${step.args.join(' ')}  < ${what} (not shown)`);
  const ran = await run(step.args, manifest);
  if (ran.code !== 0) throw stepFailure(where, step.title, ran, context);
}

async function execute(step: Step, index: number, total: number, context: string, files: SecretFiles): Promise<void> {
  const started = Date.now();
  const where = `${index + 1}/${total}`;
  say(`\n[${where}] ${step.title}`);
  switch (step.kind) {
    case 'check-cluster':
      checkCluster(context);
      break;
    case 'kubectl': {
      say(`$ kubectl ${step.args.join(' ')}`);
      const ran = await run(step.args, undefined, step.timeoutSeconds);
      if (ran.code !== 0) throw stepFailure(where, step.title, ran, context);
      break;
    }
    case 'poll': {
      // Tries until the deadline, then once more: a server gone meanwhile is named by that last try.
      const deadline = Date.now() + step.timeoutSeconds * 1000;
      for (;;) {
        const tried = output(step.args);
        if (tried.status === 0) break;
        if (Date.now() >= deadline) throw new Error(`step ${where} (${step.title}) failed: ${pollFailure(step, tried.status, tried.stderr)}`);
        await new Promise((r) => setTimeout(r, Math.min(POLL_EVERY_SECONDS * 1000, deadline - Date.now())));
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
      const ran = await run([...step.kubectlArgs, 'create', '-f', '-'], grafanaSecretManifest(step.namespace, step.name, password));
      if (ran.code !== 0) throw stepFailure(where, step.title, ran, context);
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
        receiversSecretManifest(step.secret, files.receivers), where, context);
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
        objstoreSecretManifest(step.secret, files.objstore), where, context);
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
