/**
 * `npm run synth:demo`: synthesizes the demo workload (demo/chart.ts) into dist-demo/, from the same
 * config as the monitoring chart (CHAT_MONITORING_CONFIG honoured). dist-demo/ is generated, not
 * committed: it holds the bundled program, rebuilt from demo/app/ on every run.
 */
import { loadConfig } from '../lib/synth';
import { CHART_CONFIG } from '../lib/chart-config';
import { buildDemoBundle } from './bundle';
import { synthesizeDemo } from './chart';

export const DEMO_DIST = process.env.CHAT_MONITORING_DEMO_DIST ?? 'dist-demo';

export function synthDemo(outdir: string = DEMO_DIST): string {
  const config = loadConfig(CHART_CONFIG, process.env.CHAT_MONITORING_CONFIG);
  const bundle = buildDemoBundle();
  const file = synthesizeDemo({ config, bundle }, outdir);
  console.error(`chat-demo: wrote ${file} (${config.services.length} services + load generator, bundle ${Math.round(Buffer.byteLength(bundle) / 1024)} KiB)`);
  return file;
}

if (require.main === module) {
  try {
    synthDemo();
  } catch (e) {
    console.error(`chat-demo: ${(e as Error).message}`);
    process.exit(1);
  }
}
