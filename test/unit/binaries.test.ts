/**
 * The programs the tests run are the versions the chart deploys: each Go module's pin (the one
 * place a tool version is written) is checked against lib/config.ts and kind-config.yaml.
 */
import { execFileSync } from 'child_process';
import { readFileSync } from 'fs';
import { join } from 'path';
import { DEFAULT_IMAGES, PROMETHEUS_OPERATOR_VERSION } from '../../lib/config';
import { parse } from 'yaml';
import { describeWithGo, KUBERNETES_PROGRAMS, PROGRAMS, programDir, programVersion, prometheusRelease, REPO_ROOT, TOOLS_DIR } from '../support/binaries';

const program = (name: string) => {
  const p = PROGRAMS.find((x) => x.name === name);
  if (!p) throw new Error(`no program ${name}`);
  return p;
};
const tagOf = (image: string) => image.replace(/@sha256:.*$/, '').split(':').pop()!;
const kindNodeVersion = () => /kindest\/node:(v\d+\.\d+\.\d+)/.exec(readFileSync(join(REPO_ROOT, 'kind-config.yaml'), 'utf8'))![1];

describe('pinned programs match what the chart deploys', () => {
  it('Prometheus and promtool: the release of the Prometheus image', () => {
    expect(prometheusRelease(programVersion(program('prometheus')))).toBe(tagOf(DEFAULT_IMAGES.prometheus));
  });

  it('the Prometheus Operator: the operator and config-reloader images', () => {
    const v = programVersion(program('prometheus-operator'));
    expect(v).toBe(PROMETHEUS_OPERATOR_VERSION);
    expect(tagOf(DEFAULT_IMAGES.prometheusOperator)).toBe(v);
    expect(tagOf(DEFAULT_IMAGES.prometheusConfigReloader)).toBe(v);
  });

  it('the operator API modules are required at the operator\'s own version (its go.mod replaces them locally)', () => {
    const goMod = readFileSync(join(TOOLS_DIR, 'operator', 'go.mod'), 'utf8');
    const v = programVersion(program('prometheus-operator'));
    for (const sub of ['pkg/apis/monitoring', 'pkg/client']) {
      expect(goMod).toMatch(new RegExp(`github.com/prometheus-operator/prometheus-operator/${sub} ${v.replace(/\./g, '\\.')}\\b`));
    }
  });

  it('Thanos: the release of the Thanos image (sidecar, Query, Store Gateway, Compactor)', () => {
    expect(programVersion(program('thanos'))).toBe(tagOf(DEFAULT_IMAGES.thanos));
  });

  it('kube-apiserver and kubectl: the Kubernetes version of the kind node image', () => {
    expect(programVersion(program('kubernetes'))).toBe(kindNodeVersion());
  });

  it('the oldest Kubernetes of the matrix is two minors below the newest (upstream supports three minors at a time)', () => {
    const minor = (v: string) => Number(/^v1\.(\d+)\.\d+$/.exec(v)![1]);
    expect(minor(programVersion(program('kubernetes-oldest')))).toBe(minor(kindNodeVersion()) - 2);
  });

  it('every binary a program builds is a tool of its go.mod (so `go mod tidy` keeps its packages)', () => {
    for (const p of PROGRAMS.filter((x) => !x.build)) {
      const goMod = readFileSync(join(TOOLS_DIR, p.toolDir, 'go.mod'), 'utf8');
      const tools = [...goMod.matchAll(/^\s*(?:tool\s+)?(\S+)\s*$/gm)].map((m) => m[1]);
      for (const pkg of Object.values(p.binaries)) expect(`${p.name}: ${tools.includes(pkg)}`).toBe(`${p.name}: true`);
    }
  });

  it('the newest Kubernetes also builds the controller manager and scheduler, from the same module and version stamp', () => {
    const newest = program('kubernetes');
    expect(Object.keys(newest.binaries).sort()).toEqual(['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl']);
    expect(Object.keys(program('kubernetes-oldest').binaries).sort()).toEqual(['kube-apiserver', 'kubectl']);
    for (const pkg of Object.values(newest.binaries)) expect(pkg).toMatch(/^k8s\.io\/kubernetes\/cmd\//);
  });

  it('the cache key changes with the pinned version', () => {
    for (const p of PROGRAMS) expect(programDir(p)).toContain(`${p.name}-${programVersion(p)}-`);
  });
});

/** k8s.io/kubernetes's module folder at a version (downloaded into the module cache). */
const kubernetesModuleDir = (version: string, toolDir: string) => JSON.parse(execFileSync('go', ['mod', 'download', '-json', `k8s.io/kubernetes@${version}`], {
  cwd: join(TOOLS_DIR, toolDir), encoding: 'utf8',
})).Dir as string;

describeWithGo('etcd: the series the newest Kubernetes is released with', () => {
  it('same minor as k8s.io/kubernetes\'s build/dependencies.yaml names for etcd, at that patch or newer', () => {
    const version = programVersion(program('kubernetes'));
    const deps = parse(readFileSync(join(kubernetesModuleDir(version, 'kubernetes'), 'build', 'dependencies.yaml'), 'utf8'));
    const upstream = (deps.dependencies as { name: string; version: string }[]).find((d) => d.name === 'etcd')!.version;
    const [, uMinor, uPatch] = upstream.split('.').map(Number);
    const [, minor, patch] = programVersion(program('etcd')).replace(/^v/, '').split('.').map(Number);
    expect(`3.${minor}`).toBe(`3.${uMinor}`);
    expect(patch).toBeGreaterThanOrEqual(uPatch);
  });
});

describeWithGo('each Kubernetes wrapper module replaces exactly the staging modules k8s.io/kubernetes replaces', () => {
  it.each(KUBERNETES_PROGRAMS.map((p) => [p]))('%s: same module list, each at its published v0.<minor>.<patch>', (toolDir) => {
    const version = programVersion(program(toolDir));
    const upstream = readFileSync(join(kubernetesModuleDir(version, toolDir), 'go.mod'), 'utf8').split('\n')
      .map((l) => /^\s*(\S+)\s+=>\s+\.\/staging\//.exec(l)?.[1]).filter((m): m is string => !!m).sort();
    const ours = readFileSync(join(TOOLS_DIR, toolDir, 'go.mod'), 'utf8').split('\n')
      .map((l) => /^\s*(k8s\.io\/\S+)\s+=>\s+(\S+)\s+(v\S+)/.exec(l)).filter((m): m is RegExpExecArray => !!m);
    expect(upstream.length).toBeGreaterThan(20);
    expect(ours.map((m) => m[1]).sort()).toEqual(upstream);
    for (const m of ours) expect(`${m[1]} => ${m[2]} ${m[3]}`).toBe(`${m[1]} => ${m[1]} v0.${version.slice(3)}`);
  });
});

describeWithGo('a module that declares a newer Go than the local one builds under a toolchain that new', () => {
  const goVersion = (v: string) => v.replace(/^go/, '').split('.').map(Number);
  const atLeast = (a: number[], b: number[]) => {
    for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
    return true;
  };
  const local = goVersion(execFileSync('go', ['env', 'GOVERSION'], { encoding: 'utf8', env: { ...process.env, GOTOOLCHAIN: 'local' } }).trim());
  it.each(PROGRAMS.map((p) => [p.name, p] as const))('%s', (_, p) => {
    const declared = goVersion(/^go (\S+)$/m.exec(readFileSync(join(TOOLS_DIR, p.toolDir, 'go.mod'), 'utf8'))![1]);
    if (p.toolchain) expect(atLeast(goVersion(p.toolchain), declared)).toBe(true);
    else expect(`${p.name}: go ${declared.join('.')} <= local ${local.join('.')}: ${atLeast(local, declared)}`).toBe(`${p.name}: go ${declared.join('.')} <= local ${local.join('.')}: true`);
  });

  it('Thanos v0.42.5 is such a module (go 1.26.10), and its toolchain is part of its cache key', () => {
    const thanos = program('thanos');
    expect(thanos.toolchain).toBe('go1.27.3');
    expect(programDir(thanos)).not.toBe(programDir({ ...thanos, toolchain: undefined }));
  });
});
