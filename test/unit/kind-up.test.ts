/** npm run kind:up (scripts/kind-up.sh) against fake docker, kind and kubectl: the checks it makes before touching a cluster. */
import { spawnSync } from 'child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

const root = join(__dirname, '..', '..');
const kindConfig = readFileSync(join(root, 'kind-config.yaml'), 'utf8');
const MIN_KIND = /# kind-min-version: (v\d+\.\d+\.\d+)/.exec(kindConfig)![1];
let dir: string;
let log: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fake-kind-'));
  log = join(dir, 'calls.log');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Fake tools logging their arguments; `kind version` says `kindVersion`, `kind get clusters` lists `clusters`, kubectl knows `contexts`. */
function fakes(kindVersion: string, clusters: string[], contexts: string[]) {
  const tool = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/bin/sh\necho "${name} $*" >> "${log}"\n${body}\nexit 0\n`);
    chmodSync(join(dir, name), 0o755);
  };
  tool('docker', '');
  tool('kind', `case "$*" in
  version) echo "kind ${kindVersion} go1.24.2 linux/amd64" ;;
  "get clusters") printf '${clusters.map((c) => `${c}\\n`).join('')}' ;;
esac`);
  tool('kubectl', `case "$*" in
  "config get-contexts -o name") printf '${contexts.map((c) => `${c}\\n`).join('')}' ;;
esac`);
}
const kindUp = () => spawnSync('bash', [join(root, 'scripts/kind-up.sh')], { cwd: root, encoding: 'utf8', env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
const calls = () => readFileSync(log, 'utf8').trim().split('\n');

describe('npm run kind:up', () => {
  it('the pinned node image names the kind release that built it', () => {
    expect(MIN_KIND).toMatch(/^v0\.\d+\.\d+$/);
  });

  it('refuses a kind older than the one that built the pinned node image, naming both versions', () => {
    fakes('v0.20.0', [], []);
    const r = kindUp();
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(
      new RegExp(`^kind:up: kind v0\\.20\\.0 is older than ${MIN_KIND.replace(/\./g, '\\.')}, which built the pinned node image \\(kindest/node:v[0-9.]+ in kind-config\\.yaml\\): upgrade kind`))]);
    expect(calls().some((c) => c.startsWith('kind create'))).toBe(false);
  });

  it('accepts that kind or a later one and creates the cluster when there is none', () => {
    fakes(MIN_KIND, [], []);
    const r = kindUp();
    expect(r.status).toBe(0);
    expect(calls()).toContain('kind create cluster --config kind-config.yaml --wait 120s');
    fakes('v1.0.0', [], []);
    expect(kindUp().status).toBe(0);
  });

  it('restores the kubectl context of an existing cluster when it is missing', () => {
    fakes(MIN_KIND, ['chat-monitoring'], ['kind-other']);
    const r = kindUp();
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('kubectl has no context kind-chat-monitoring: exporting it from kind');
    expect(calls()).toContain('kind export kubeconfig --name chat-monitoring');
    expect(calls().some((c) => c.startsWith('kind create'))).toBe(false);
    expect(calls()).toContain('kubectl config use-context kind-chat-monitoring');
  });

  it('leaves an existing context alone', () => {
    fakes(MIN_KIND, ['chat-monitoring'], ['kind-chat-monitoring']);
    expect(kindUp().status).toBe(0);
    expect(calls().some((c) => c.startsWith('kind export'))).toBe(false);
  });
});
