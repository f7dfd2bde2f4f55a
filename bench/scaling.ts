/** Section 2: synth time and memory with 3, 30 and 300 chat services, and where the 300-service synth spends its time. */
import { readdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { CHART_CONFIG } from '../lib/chart-config';
import { PLATFORM_OVERVIEW_FILE, STACK_DASHBOARD_FILE } from '../lib/dashboards';
import { compareVariants, mb, ms, ratio, Variant } from './lib/measure';
import { Row } from './lib/report';
import { BenchSection } from './lib/section';
import { CHART_APP, REPO, scratch, synthEnv, WORK } from './lib/synth-env';
import { profileSynth } from './synth-profile';

/** A config of `n` legacy push services chat-svc-001..., otherwise the shape and options of lib/chart-config.ts. */
const serviceNames = (n: number) => Array.from({ length: n }, (_, i) => `chat-svc-${String(i + 1).padStart(3, '0')}`);

export function serviceConfig(n: number): object {
  const services = serviceNames(n).map((name) => ({ name, namespace: 'chat', selector: { 'app.kubernetes.io/name': name }, exportMode: 'push', convention: 'legacy' }));
  return { ...CHART_CONFIG, services };
}

export interface ScalingResults {
  readonly rows: Row[];
  readonly notes: string[];
  /** Output of the 30-service synth (dist/, dashboards/), reused by the freshness benchmark. */
  readonly dir30: string;
  readonly profile: string;
  readonly pass: boolean;
}

export async function benchScaling(runs: number): Promise<ScalingResults> {
  const sizes = [3, 30, 300];
  const variants: Variant[] = sizes.map((n) => {
    const dir = scratch(`services-${n}`);
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify(serviceConfig(n), null, 2));
    return { name: `${n} services`, command: CHART_APP, opts: { cwd: REPO, env: synthEnv(dir, { CHAT_MONITORING_CONFIG: config }) } };
  });
  const stats = await compareVariants(variants, runs);
  // The synth really read the n-service config: one dashboard per service, plus the overview and the stack's.
  for (const n of sizes) {
    const written = readdirSync(join(WORK, 'synth', `services-${n}`, 'dashboards')).sort();
    const expected = [PLATFORM_OVERVIEW_FILE, STACK_DASHBOARD_FILE, ...serviceNames(n).map((s) => `${s}.json`)].sort();
    if (written.join() !== expected.join()) throw new Error(`${n} services: expected ${expected.length} dashboards, got ${written.length}: ${written.slice(0, 5).join(', ')}...`);
  }
  const [s3, s30, s300] = stats;
  const r = s300.wallMs / s3.wallMs;
  const perService = (s300.wallMs - s3.wallMs) / 297;
  const rows: Row[] = [
    { section: '2', measure: 'synth wall time, 3 / 30 / 300 services (esbuild + node)', value: `${ms(s3.wallMs)} / ${ms(s30.wallMs)} / ${ms(s300.wallMs)}`, ratio: `${ratio(s30.wallMs / s3.wallMs)} / ${ratio(r)}`, target: '300 < 3x of 3', pass: r < 3 },
    { section: '2', measure: 'synth peak RSS, 3 / 30 / 300 services', value: `${mb(s3.peakRssKb)} / ${mb(s30.peakRssKb)} / ${mb(s300.peakRssKb)}`, ratio: ratio(s300.peakRssKb / s3.peakRssKb) },
    { section: '2', measure: 'marginal synth cost per chat service (300 vs 3)', value: ms(perService) },
  ];
  const profile = await profileSynth('300 services', join(WORK, 'synth', 'services-300', 'config.json'));
  return {
    rows,
    notes: [`Scaling configs: lib/chart-config.ts's options with n legacy push services chat-svc-001..; times include the esbuild step (~0.1 s).`],
    dir30: join(WORK, 'synth', 'services-30'),
    profile,
    pass: r < 3,
  };
}

export const scalingSection: BenchSection<ScalingResults> = {
  name: 'scaling',
  label: 'scaling',
  run: (runs) => benchScaling(runs),
};
