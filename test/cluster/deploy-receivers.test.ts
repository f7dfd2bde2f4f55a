/**
 * The two steps `npm run deploy` takes for the Alertmanager receivers' Secret, with the plan's own
 * kubectl arguments, on a real API server (etcd + kube-apiserver): the keys check reads key names
 * only and tells a missing Secret apart; the server-side apply from stdin creates the Secret, takes
 * over one created by hand, and leaves no copy of the values in a last-applied annotation.
 */
import { ManifestFile } from '../../scripts/deploy/manifests';
import { deployPlan, Step } from '../../scripts/deploy/plan';
import { parseReceiversFile, receiversSecretManifest, receiversSecretProblem } from '../../scripts/deploy/receivers-secret';
import { EVERY_RECEIVER_KIND, RECEIVER_CREDENTIALS, RECEIVERS_SECRET } from '../support/alertmanager-fixtures';
import { ControlPlane, describeOnEachKubernetes } from '../support/control-plane';
import { configWith, synthCharts } from '../support/manifests';

const CANARY = 'CANARY-s3cr3t-7d1e';
/** The fixture's fake credentials, each marked with the canary that must never be printed. */
const credentials = (suffix: string): [string, string][] => Object.entries(RECEIVER_CREDENTIALS).map(([k, v]) => [k, `${v}-${CANARY}${suffix}`]);
/** The Secret's keys; the first is left empty in the Secret made by hand. */
const [EMPTY_KEY, ...FILLED_KEYS] = Object.keys(RECEIVER_CREDENTIALS);

describeOnEachKubernetes('deploy: the receivers\' Secret on a real API server', [], (kubernetes) => {
  let cp: ControlPlane;
  const dist: ManifestFile[] = [...synthCharts(configWith({ alertmanager: EVERY_RECEIVER_KIND })).entries()]
    .map(([id, objects]) => ({ path: `dist/${id}.k8s.yaml`, objects }));
  const step = <K extends Step['kind']>(steps: Step[], kind: K) => steps.find((s) => s.kind === kind) as Extract<Step, { kind: K }>;
  const check = step(deployPlan({ dist }), 'check-receivers-secret');
  const apply = step(deployPlan({ dist, receiversFile: 'receivers.env' }), 'apply-receivers-secret');
  /** What deploy's check step concludes from kubectl's answer (deploy.ts: secretKeys). */
  const checkKeys = () => {
    const r = cp.admin.run(check.args);
    expect(r.stdout + r.stderr).not.toContain(CANARY);
    if (r.status === 0) return r.stdout.split('\n').filter(Boolean);
    expect(r.stderr).toMatch(/\bNotFound\b|not found/);
    return undefined;
  };

  beforeAll(async () => {
    cp = await ControlPlane.start(kubernetes);
    cp.admin.ok(['create', 'namespace', 'monitoring']);
  }, 180_000);
  afterAll(async () => cp?.stop(), 60_000);

  it('the keys check tells a missing Secret apart, then lists only the keys with a value', () => {
    expect(receiversSecretProblem(check.secret, checkKeys())).toMatch(new RegExp(`^Secret monitoring/${RECEIVERS_SECRET} does not exist`));
    // Created by hand, one key empty: the check names it, and prints no value.
    cp.admin.ok(['-n', 'monitoring', 'create', 'secret', 'generic', RECEIVERS_SECRET,
      ...credentials('').filter(([k]) => k !== EMPTY_KEY).map(([k, v]) => `--from-literal=${k}=${v}`), `--from-literal=${EMPTY_KEY}=`]);
    expect(checkKeys()).toEqual([...FILLED_KEYS].sort());
    expect(receiversSecretProblem(check.secret, checkKeys())).toMatch(new RegExp(`has no value for ${EMPTY_KEY}, which`));
  });

  it('the apply from stdin takes over the hand-made Secret, updates it, and keeps no last-applied copy', () => {
    const values = parseReceiversFile(credentials('-2').map(([k, v]) => `${k}=${v}\n`).join(''), 'receivers.env');
    const r = cp.admin.run(apply.args, receiversSecretManifest(apply.secret, values));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(CANARY);
    const secret = cp.admin.json(['-n', 'monitoring', 'get', 'secret', RECEIVERS_SECRET]);
    const decoded = Object.fromEntries(Object.entries(secret.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
    expect(decoded).toEqual(Object.fromEntries(values));
    expect(JSON.stringify(secret.metadata.annotations ?? {})).not.toContain('last-applied');
    expect(receiversSecretProblem(check.secret, checkKeys())).toBeUndefined();
    // A second deploy with the same file changes nothing.
    const before = secret.metadata.resourceVersion;
    cp.admin.ok(apply.args, receiversSecretManifest(apply.secret, values));
    expect(cp.admin.json(['-n', 'monitoring', 'get', 'secret', RECEIVERS_SECRET]).metadata.resourceVersion).toBe(before);
  });
});
