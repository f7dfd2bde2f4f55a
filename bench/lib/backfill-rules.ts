/**
 * Recording rules backfilled with `promtool tsdb create-blocks-from rules`, by a Prometheus on the
 * blocks so far. promtool evaluates each rule against that Prometheus only, so a rule that reads
 * another recorded series (the quantiles read the recorded bucket rates) needs that series' blocks
 * first: one pass per level of dependency, each pass's blocks moved into the TSDB before the next.
 */
import { readdirSync, renameSync, writeFileSync } from 'fs';
import { join } from 'path';
import { stringify } from 'yaml';
import { PrometheusServer } from '../../test/support/prometheus';
import { isRecording, RuleGroup, ruleFile } from './chart-output';

export const blocks = (dir: string) => readdirSync(dir).filter((f) => /^[0-9A-Z]{26}$/.test(f)).sort();

export interface BackfillOptions {
  readonly groups: RuleGroup[];
  /** Backfill the recording rules these expressions read, and those they read; default: every recording rule. */
  readonly readBy?: readonly string[];
  readonly tsdb: string;
  readonly workDir: string;
  readonly startS: number;
  readonly endS: number;
  readonly intervalS: number;
  readonly promArgs: readonly string[];
}

/** Whether `expr` reads the series recorded as `record` (as a selector, not as part of a longer name). */
export function readsRecord(expr: string, record: string): boolean {
  return new RegExp(`(^|[^a-zA-Z0-9_:])${record.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\{`).test(expr);
}

/** The levels of dependency, each a list of record names, and each pass's time in ms. */
export async function backfillRecordingRules(o: BackfillOptions): Promise<{ levels: string[][]; ms: number[] }> {
  const rules = o.groups.flatMap((g) => g.rules.filter(isRecording).map((r) => ({ record: String(r.record), expr: String(r.expr) })));
  const needed = new Set<string>();
  const need = (expr: string) => {
    for (const r of rules) if (!needed.has(r.record) && readsRecord(expr, r.record)) { needed.add(r.record); need(r.expr); }
  };
  if (o.readBy) o.readBy.forEach(need);
  else rules.forEach((r) => { needed.add(r.record); });
  const levels: string[][] = [];
  for (const done = new Set<string>(); done.size < needed.size;) {
    const ready = [...needed].filter((n) => !done.has(n) && rules.filter((r) => r.record === n)
      .every((r) => [...needed].every((m) => done.has(m) || m === n || !readsRecord(r.expr, m))));
    if (ready.length === 0) throw new Error(`backfill: circular recording rules among ${[...needed].filter((n) => !done.has(n)).join(', ')}`);
    levels.push(ready);
    ready.forEach((n) => done.add(n));
  }
  const ms: number[] = [];
  for (const [i, level] of levels.entries()) {
    const raw = await PrometheusServer.start({ config: `global:\n  evaluation_interval: ${o.intervalS}s\n`, storagePath: o.tsdb, extraArgs: o.promArgs });
    const out = join(o.workDir, `rule-blocks-${i}`);
    try {
      // One path for every pass: promtool offsets each group's evaluations by a hash of its name and
      // file, so a pass in another file would evaluate off the earlier passes' timestamps and read
      // their previous sample (a step late), unlike Prometheus, which runs a group's rules at one time.
      const file = join(o.workDir, 'recording-rules.yaml');
      writeFileSync(file, ruleFile(o.groups, (r) => isRecording(r) && level.includes(String(r.record))));
      const t0 = Date.now();
      PrometheusServer.promtool(['tsdb', 'create-blocks-from', 'rules', '-q', `--url=${raw.url}`, `--start=${o.startS}`, `--end=${o.endS}`,
        `--eval-interval=${o.intervalS}s`, `--output-dir=${out}`, file], { check: true });
      ms.push(Date.now() - t0);
    } finally {
      await raw.stop();
    }
    for (const b of blocks(out)) renameSync(join(out, b), join(o.tsdb, b));
  }
  return { levels, ms };
}

/**
 * Prometheus on a backfilled TSDB with every rule of the chart loaded and evaluating, as in
 * production; `externalLabels` as the operator gives a replica (what a Thanos sidecar serves).
 */
export function startWithChartRules(groups: RuleGroup[], tsdb: string, intervalS: number, promArgs: readonly string[],
  externalLabels: Readonly<Record<string, string>> = {}): Promise<PrometheusServer> {
  return PrometheusServer.start({
    config: stringify({
      global: { scrape_interval: `${intervalS}s`, evaluation_interval: `${intervalS}s`, ...(Object.keys(externalLabels).length ? { external_labels: externalLabels } : {}) },
      rule_files: ['rules/chart-rules.yaml'],
    }),
    ruleFiles: { 'chart-rules.yaml': ruleFile(groups) },
    storagePath: tsdb,
    extraArgs: promArgs,
  });
}
