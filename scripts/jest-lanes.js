#!/usr/bin/env node
/**
 * `npm test`'s jest run, in two lanes at once, each one suite at a time (one worker, as jest picks on 2 cores):
 *   chain  test/chain/ (the real push chain: dozens of processes each, so never two at once)
 *   rest   every other suite (unit, snapshot, contract, cluster)
 * Most of a long suite's time is spent waiting for real clocks (scrape intervals, an alert's `for`,
 * a rollout), so the second lane uses what the first leaves idle: on 2 cores the run takes about
 * the longer lane's time instead of the sum. Each suite must hold on a busy machine anyway, but the
 * chain's latency panels judge real request durations, which CPU taken by the other lane lengthens,
 * while the other suites judge Prometheus's and Alertmanager's own clocks: the rest lane runs at
 * nice 10, so it takes what the chain leaves idle.
 * Arguments (`npm test -- <path or jest flag>...`) run one plain jest with them instead.
 * Each line is prefixed with its lane; the exit code is non-zero if either lane fails.
 */
const { spawn } = require('child_process');
const { setPriority } = require('os');
const { join } = require('path');
const readline = require('readline');

const jest = join(__dirname, '..', 'node_modules', '.bin', 'jest');
const args = process.argv.slice(2);

const LANES = [
  { name: 'chain', nice: 0, args: ['--ci', '--maxWorkers=1', '/test/chain/'] },
  { name: 'rest', nice: 10, args: ['--ci', '--maxWorkers=1', '--testPathIgnorePatterns', '/node_modules/', '/test/e2e/', '/test/chain/'] },
];

function run(name, nice, jestArgs) {
  return new Promise((resolve) => {
    const child = spawn(jest, jestArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    // Before jest starts its worker, which (and every program a suite starts) inherits it.
    if (nice) setPriority(child.pid, nice);
    for (const [from, to] of [[child.stdout, process.stdout], [child.stderr, process.stderr]]) {
      readline.createInterface({ input: from }).on('line', (line) => to.write(`[${name}] ${line}\n`));
    }
    child.on('close', (code, signal) => resolve({ name, code: code ?? 1, signal }));
  });
}

async function main() {
  if (args.length) {
    const child = spawn(jest, ['--ci', ...args], { stdio: 'inherit' });
    child.on('close', (code) => process.exit(code ?? 1));
    return;
  }
  const started = Date.now();
  const results = await Promise.all(LANES.map((l) => run(l.name, l.nice, l.args).then((r) => ({ ...r, s: Math.round((Date.now() - started) / 1000) }))));
  for (const r of results) console.log(`lane ${r.name}: ${r.code === 0 ? 'passed' : `FAILED (exit ${r.code}${r.signal ? `, ${r.signal}` : ''})`} after ${r.s} s`);
  process.exit(results.every((r) => r.code === 0) ? 0 : 1);
}

main();
