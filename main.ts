/**
 * The cdk8s app: load and validate the config, then synthesize dist/ and dashboards/.
 * Invalid config stops here with one message and leaves dist/ as it was.
 */
import { allDashboards } from './lib/dashboards';
import { mirrorForCli, loadConfig, synthesizeManifests, writeDashboardFiles } from './lib/synth';
import { CHART_CONFIG } from './lib/chart-config';

const DIST = process.env.CHAT_MONITORING_DIST ?? 'dist';
const DASHBOARDS = process.env.CHAT_MONITORING_DASHBOARDS ?? 'dashboards';

try {
  const config = loadConfig(CHART_CONFIG, process.env.CHAT_MONITORING_CONFIG);
  // Built once: the same JSON goes into the dashboard ConfigMaps and into dashboards/.
  const dashboards = allDashboards(config);
  const manifests = synthesizeManifests(config, dashboards, DIST);
  writeDashboardFiles(dashboards, DASHBOARDS);
  mirrorForCli(DIST, process.env.CDK8S_OUTDIR);
  // stderr: the cdk8s CLI captures the app's stdout and lists its own scratch copy instead.
  console.error(`chat-monitoring: wrote ${manifests.length} manifest files to ${DIST}/ and ${dashboards.length} dashboards to ${DASHBOARDS}/`);
} catch (e) {
  console.error(`chat-monitoring: ${(e as Error).message}`);
  process.exit(1);
}
