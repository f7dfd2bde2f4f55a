/**
 * `npm run deploy [-- --demo]`: from a bare cluster to dashboards. Runs the steps of
 * scripts/deploy-plan.ts with kubectl (its output shown as it goes): CRDs, namespaces, the Grafana
 * admin Secret (random password, never printed), dist/, rollouts, and optionally the demo workload.
 */
import { spawn, spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import { existsSync, readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../lib/synth';
import { CHART_CONFIG } from '../lib/services';
import { DEMO_DIST, synthDemo } from '../demo/main';
import { deployPlan, grafanaSecretManifest, ManifestFile, ManifestObject, parseDeployArgs, Step, USAGE } from './deploy-plan';

const DIST = process.env.CHAT_MONITORING_DIST ?? 'dist';

function readManifests(dir: string): ManifestFile[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((file) => ({
    path: join(dir, file),
    objects: parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => d.toJSON()).filter(Boolean) as ManifestObject[],
  }));
}

const say = (line: string) => process.stdout.write(`${line}\n`);

function run(args: readonly string[], stdin?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', args, { stdio: [stdin === undefined ? 'inherit' : 'pipe', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

const quiet = (args: readonly string[]) => spawnSync('kubectl', args, { stdio: 'ignore' }).status === 0;

async function execute(step: Step, index: number, total: number): Promise<void> {
  const started = Date.now();
  say(`\n[${index + 1}/${total}] ${step.title}`);
  switch (step.kind) {
    case 'kubectl': {
      say(`$ kubectl ${step.args.join(' ')}`);
      const code = await run(step.args);
      if (code !== 0) throw new Error(`kubectl exited with ${code}`);
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
  const config = loadConfig(CHART_CONFIG, process.env.CHAT_MONITORING_CONFIG);
  const dist = readManifests(DIST);
  if (dist.length === 0) throw new Error(`no manifests in ${DIST}/: run \`npm run synth\` first`);
  let demo: ManifestFile[] | undefined;
  if (args.demo) {
    synthDemo(DEMO_DIST);
    demo = readManifests(DEMO_DIST);
  }
  const steps = deployPlan({ config, dist, demo, context: args.context, timeoutSeconds: args.timeoutSeconds });
  if (args.dryRun) {
    steps.forEach((s, i) => say(`[${i + 1}/${steps.length}] ${s.title}${s.kind === 'kubectl' || s.kind === 'poll' ? `\n    kubectl ${s.args.join(' ')}` : ''}`));
    return;
  }
  if (spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('kubectl not found on PATH: install it (https://kubernetes.io/docs/tasks/tools/)');
  }
  const context = args.context ?? spawnSync('kubectl', ['config', 'current-context'], { encoding: 'utf8' }).stdout.trim();
  say(`chat-monitoring: deploying to kubectl context "${context || '(none)'}"${args.demo ? ' with the demo workload' : ''}`);
  for (const [i, step] of steps.entries()) await execute(step, i, steps.length);
}

main().catch((e) => {
  process.stderr.write(`\ndeploy: ${(e as Error).message}\n`);
  process.exit(1);
});
