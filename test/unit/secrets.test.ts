/** Grafana's admin password never appears in dist/, the repository or synth's output. */
import { spawnSync } from 'child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { defaultConfig, named, ofKind, readDist, synthObjects } from '../support/manifests';

const root = join(__dirname, '../..');

/** Literal values assigned to password-like keys: `password: "x"`, `admin-password=x`, `"password": "x"`. */
const PASSWORD_ASSIGNMENT = /(password|passwd|\bpwd)[\w-]*['"]?\s*[:=]\s*['"`]?([A-Za-z0-9+/=_.~!@#%^&*-]{8,})(?![\w(])/gi;
/** Values that are references, placeholders or code, not secrets. */
const NOT_A_VALUE = /^(<\(|\$|\{|toJson_|password\b|step\.|obj\.)/;
/** Fake passwords tests plant on purpose to prove they do not leak. */
const PLANTED = ['p4ssw0rd-that-must-not-leak', 'hunter2hunter2', 'c2VjcmV0LXZhbHVlLTEyMw==', 's3cr3tValue'];

function passwordLiterals(text: string): string[] {
  return [...text.matchAll(PASSWORD_ASSIGNMENT)].map((m) => m[2]).filter((v) => !NOT_A_VALUE.test(v) && !PLANTED.includes(v));
}

describe('secrets: the chart never contains the Grafana admin password', () => {
  const objects = synthObjects();
  it('synthesizes no Secret', () => expect(ofKind(objects, 'Secret')).toEqual([]));
  it('has no Secret in dist/', () => {
    expect(readDist(join(root, 'dist')).flatMap((f) => ofKind(f.objects, 'Secret'))).toEqual([]);
  });
  it('gives Grafana its credentials only by reference to the configured Secret', () => {
    const grafana = named(objects, 'Deployment', 'grafana').spec.template.spec.containers.find((c: any) => c.name === 'grafana');
    const env = Object.fromEntries(grafana.env.map((e: any) => [e.name, e]));
    for (const [name, key] of [['GF_SECURITY_ADMIN_PASSWORD', 'admin-password'], ['GF_SECURITY_ADMIN_USER', 'admin-user']]) {
      expect(env[name]).toEqual({ name, valueFrom: { secretKeyRef: { name: defaultConfig().grafanaAdminSecret, key } } });
    }
    expect(grafana.env.filter((e: any) => /PASSWORD|SECRET|TOKEN/.test(e.name) && e.value !== undefined)).toEqual([]);
  });
});

describe('secrets: no password-looking value in dist/ or git-tracked files', () => {
  it('detects one (the check can fail)', () => {
    const detect = (text: string) => [...text.matchAll(PASSWORD_ASSIGNMENT)].map((m) => m[2]).filter((v) => !NOT_A_VALUE.test(v));
    expect(detect("stringData: { 'admin-password': 'hunter2hunter2' }")).toEqual(['hunter2hunter2']);
    expect(detect('  admin-password: c2VjcmV0LXZhbHVlLTEyMw==')).toEqual(['c2VjcmV0LXZhbHVlLTEyMw==']);
    expect(detect('GF_SECURITY_ADMIN_PASSWORD=s3cr3tValue')).toEqual(['s3cr3tValue']);
    expect(detect("--from-file=admin-password=<(openssl rand -base64 24)")).toEqual([]);
  });
  it('finds none in dist/', () => {
    const dist = join(root, 'dist');
    const hits = readdirSync(dist).flatMap((f) => passwordLiterals(readFileSync(join(dist, f), 'utf8')).map((v) => `${f}: ${v}`));
    expect(hits).toEqual([]);
  });
  it('finds none in the files git tracks', () => {
    const files = spawnSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).stdout.split('\0')
      .filter((f) => f && !/(^|\/)package-lock\.json$|^imports\//.test(f));
    expect(files.length).toBeGreaterThan(20);
    const hits = files.flatMap((f) => {
      let text: string;
      try { text = readFileSync(join(root, f), 'utf8'); } catch { return []; }
      return passwordLiterals(text).map((v) => `${f}: ${v}`);
    });
    expect(hits).toEqual([]);
  });
});

describe('secrets: synth prints nothing secret', () => {
  const canary = `leak-canary-${process.pid}-Zq8`;
  let work: string;
  beforeAll(() => {
    expect(spawnSync('node', ['scripts/build-app.js'], { cwd: root, encoding: 'utf8' }).status).toBe(0);
    work = mkdtempSync(join(tmpdir(), 'chat-monitoring-secrets-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('keeps a password from its environment out of its output and dist/', () => {
    const result = spawnSync('node', ['.build/main.js'], {
      cwd: root, encoding: 'utf8',
      env: { ...process.env, GF_SECURITY_ADMIN_PASSWORD: canary, GRAFANA_ADMIN_PASSWORD: canary,
        CHAT_MONITORING_DIST: join(work, 'dist'), CHAT_MONITORING_DASHBOARDS: join(work, 'dashboards') },
    });
    expect(result.status).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(canary);
    expect(passwordLiterals(result.stdout + result.stderr)).toEqual([]);
    for (const dir of ['dist', 'dashboards']) {
      for (const f of readdirSync(join(work, dir))) expect([f, readFileSync(join(work, dir, f), 'utf8').includes(canary)]).toEqual([f, false]);
    }
  });
});

describe('secrets: the deploy script prints how to read the password, never the password', () => {
  const source = readFileSync(join(root, 'scripts/deploy.ts'), 'utf8');
  it('uses the generated password only to pipe the Secret to kubectl', () => {
    const code = source.split('\n').filter((l) => !/^\s*(\*|\/\*|\/\/)/.test(l));
    const uses = code.filter((l) => /\bpassword\b/.test(l.replace(/\/\/.*$|'[^']*'|`[^`]*`|"[^"]*"/g, '')));
    expect(uses.map((l) => l.trim())).toEqual([
      "const password = randomBytes(24).toString('base64url');",
      expect.stringMatching(/run\(\[.*'create', '-f', '-'\], grafanaSecretManifest\(step\.namespace, step\.name, password\)\)/),
    ]);
  });
});
