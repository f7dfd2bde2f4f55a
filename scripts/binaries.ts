/**
 * Builds the real upstream programs the tests run (test/tools/*), skipping those already cached.
 *   npm run binaries                 build every missing program
 *   npm run binaries -- etcd ...     only these programs
 *   npm run binaries -- chat-service only the test chat service's Python virtualenv (also built by
 *                                    default; needs python3, not Go: test/support/chat-service.ts)
 *   npm run binaries -- --if-go      where Go (or python3) is missing, say so in one line and go on
 *                                    (CHAT_MONITORING_REQUIRE_BINARIES=1 makes that an error)
 */
import { execFileSync, spawnSync } from 'child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'fs';
import { dirname, join } from 'path';
import {
  GoProgram, PROGRAMS, REQUIRE_BINARIES, TOOLS_DIR, cacheRoot, goAvailable, goEnv, programDir, programVersion,
} from '../test/support/binaries';
import { buildChatServiceVenv, CHAT_SERVICE_VENV, systemPythonVersion } from '../test/support/chat-service';
import { serviceProxyUnavailable } from '../test/support/collector-replicas';

function build(program: GoProgram, outDir: string): void {
  const version = programVersion(program);
  if (program.build) {
    program.build(outDir, version);
    return;
  }
  // Go names a binary after its package's folder (`operator`, or `server` for go.etcd.io/etcd/server/v3),
  // not always the name the tests use. Binaries whose folder is their name are built by one
  // `go build -o <dir>/`, which links them side by side on both cores; the others get one
  // `go build -o <name>` each, whose compile cache makes the second binary cost only its link.
  const named = (binary: string, pkg: string) => pkg.split('/').pop() === binary;
  const entries = Object.entries(program.binaries);
  const together = entries.filter(([b, p]) => named(b, p)).map(([, p]) => p);
  const builds: [string, string[]][] = [
    ...(together.length ? [[`${outDir}/`, together] as [string, string[]]] : []),
    ...entries.filter(([b, p]) => !named(b, p)).map(([b, p]) => [join(outDir, b), [p]] as [string, string[]]),
  ];
  for (const [output, pkgs] of builds) {
    const args = ['build', '-trimpath', '-o', output];
    if (program.tags?.length) args.push('-tags', program.tags.join(','));
    if (program.ldflags) args.push('-ldflags', program.ldflags(version).join(' '));
    args.push(...pkgs);
    execFileSync('go', args, { cwd: join(TOOLS_DIR, program.toolDir), env: goEnv(program), stdio: ['ignore', 'inherit', 'inherit'] });
  }
}

function main(): void {
  const args = process.argv.slice(2);
  const ifGo = args.includes('--if-go');
  const names = args.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => n !== CHAT_SERVICE_VENV && !PROGRAMS.some((p) => p.name === n));
  if (unknown.length) {
    console.error(`unknown program(s): ${unknown.join(', ')}; known: ${[...PROGRAMS.map((p) => p.name), CHAT_SERVICE_VENV].join(', ')}`);
    process.exit(2);
  }
  if (names.length === 0 || names.includes(CHAT_SERVICE_VENV)) chatServiceVenv(ifGo);
  if (names.length === 0) serviceProxyTool(ifGo);
  if (names.length > 0 && names.every((n) => n === CHAT_SERVICE_VENV)) return;
  if (!goAvailable()) {
    const line = 'binaries: Go is not installed, so the suites on real Prometheus, operator, API server, controllers, kwok, collector and Alertmanager will skip (install Go >= 1.26 from https://go.dev/dl/)';
    if (ifGo && !REQUIRE_BINARIES) {
      console.log(line);
      return;
    }
    console.error(line);
    process.exit(1);
  }
  const programs = PROGRAMS.filter((p) => names.length === 0 || names.includes(p.name));
  mkdirSync(cacheRoot(), { recursive: true });
  // The Go compiler is itself a Go program: collecting its garbage a quarter as often made a cold
  // build of the operator 14 % faster here (172 -> 149 s). The soft memory limit keeps each of the
  // (two, on 2 cores) compiler processes from growing past 6 GiB on Kubernetes's largest packages.
  process.env.GOGC ??= '400';
  process.env.GOMEMLIMIT ??= '6GiB';
  programs.forEach((program, i) => {
    const dir = programDir(program);
    const label = `[${i + 1}/${programs.length}] ${program.name} ${programVersion(program)}`;
    if (Object.keys(program.binaries).every((b) => existsSync(join(dir, b)))) {
      console.log(`${label}: cached in ${dir}`);
      return;
    }
    console.log(`${label}: building ${Object.keys(program.binaries).join(', ')} (first build downloads modules and compiles; minutes)...`);
    const started = Date.now();
    const staging = `${dir}.partial-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    try {
      build(program, staging);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dirname(dir), { recursive: true });
      renameSync(staging, dir);
    } catch (e) {
      rmSync(staging, { recursive: true, force: true });
      console.error(`${label}: build failed`);
      process.exit(1);
    }
    console.log(`${label}: built in ${Math.round((Date.now() - started) / 1000)} s -> ${dir}`);
  });
}

/**
 * iptables, which plays kube-proxy for the collector Service on the chain (test/support/collector-replicas.ts):
 * installed from Debian's packages where it is missing and this runs as root with apt-get; else one line.
 */
function serviceProxyTool(ifAvailable: boolean): void {
  if (!serviceProxyUnavailable()) return;
  const label = '[apt] iptables';
  const canInstall = process.getuid?.() === 0 && spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (canInstall) {
    console.log(`${label}: installing from Debian's packages...`);
    const ok = [['update', '-qq'], ['install', '-y', '-qq', 'iptables']].every((a) => spawnSync('apt-get', a, { stdio: 'inherit' }).status === 0);
    if (ok && !serviceProxyUnavailable()) return;
  }
  const line = `${label}: not installed (needs root and apt-get here), so the chain suites will skip`;
  if (ifAvailable && !REQUIRE_BINARIES) {
    console.log(line);
    return;
  }
  console.error(line);
  process.exit(1);
}

/** The test chat service's virtualenv; without python3 it says so in one line (an error where required). */
function chatServiceVenv(ifAvailable: boolean): void {
  const label = `[venv] ${CHAT_SERVICE_VENV}`;
  if (!systemPythonVersion()) {
    const line = `${label}: python3 >= 3.9 is not installed, so the suites on the real chat service will skip`;
    if (ifAvailable && !REQUIRE_BINARIES) {
      console.log(line);
      return;
    }
    console.error(line);
    process.exit(1);
  }
  try {
    buildChatServiceVenv(label);
  } catch (e) {
    console.error(`${label}: install failed: ${(e as Error).message}`);
    process.exit(1);
  }
}

main();
