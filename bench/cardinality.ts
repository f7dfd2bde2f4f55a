/**
 * Section 5: series per chat pod at the collector, with and without dropping the Host-header family
 * (collector.droppedAttributes). A real chat service of each kind (test/chat-service, the real
 * services' instrumentation) pushes to the real collector running the chart's config; every route
 * answers 200, 404 and 500 to callers using a realistic mix of Host headers: the short Service
 * name, with its port, namespace-qualified, the full cluster DNS name, and the pod IP. The figure is
 * the number of sample lines carrying the pod's label in its service's exposition.
 */
import { request } from 'http';
import { ChartConfig } from '../lib/config';
import { binariesUnavailable } from '../test/support/binaries';
import { CHAT_SERVICE_ROUTES, ChatService, ChatServiceKind, chatServiceUnavailable } from '../test/support/chat-service';
import { chartCollectorConfig, COLLECTOR_BINARIES, RunningCollector, STUB_POD_ATTRIBUTE } from '../test/support/collector';
import { configWith } from '../test/support/manifests';
import { sleep } from '../test/support/process';
import { Row } from './lib/report';
import { BenchSection, runSectionAlone } from './lib/section';

const KINDS: Record<string, ChatServiceKind> = { 'chat-auth': 'auth', 'chat-transport': 'transport', 'chat-messaging': 'messaging' };
const STATUSES = [200, 404, 500];
/** What callers in a cluster put in Host: `<svc>`, `<svc>:port`, `<svc>.<ns>`, `<svc>.<ns>.svc.cluster.local:port`, the pod IP. */
const hostHeaders = (service: string, namespace: string, port: number) =>
  [service, `${service}:${port}`, `${service}.${namespace}`, `${service}.${namespace}.svc.cluster.local:${port}`, `10.244.1.17:${port}`];

function send(s: ChatService, method: string, path: string, host: string, status: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: s.host, port: s.port, method, path: `${path.replace(/\{[^}]+\}/g, '1')}?status=${status}`, headers: { Host: host } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Series per pod for each service, under `config`. */
async function seriesPerPod(config: ChartConfig): Promise<Record<string, number>> {
  const pod = (name: string) => `${name}-7c9d8-bench`;
  const services = config.services.filter((s) => KINDS[s.name]);
  const collector = await RunningCollector.start({
    config: chartCollectorConfig(config),
    identity: { stub: services.map((s) => ({ namespace: s.namespace, name: pod(s.name), labels: { ...s.selector } })) },
  });
  const running: ChatService[] = [];
  try {
    const out: Record<string, number> = {};
    for (const s of services) {
      const svc = await ChatService.start({ kind: KINDS[s.name], collectorUrl: collector.otlpGrpcUrl, resourceAttributes: { [STUB_POD_ATTRIBUTE]: pod(s.name) } });
      running.push(svc);
      for (const r of CHAT_SERVICE_ROUTES[KINDS[s.name]]) {
        for (const host of hostHeaders(s.name, s.namespace, 8000)) for (const status of STATUSES) await send(svc, r.method, r.path, host, status);
      }
    }
    await sleep(4000); // a few 1 s exports
    for (const s of services) {
      const text = await (await fetch(`http://${collector.exporterTargets[`prometheus/${s.name}`]}/metrics`)).text();
      out[s.name] = text.split('\n').filter((l) => l && !l.startsWith('#') && l.includes(`pod="${pod(s.name)}"`)).length;
    }
    return out;
  } finally {
    for (const s of running) await s.stop();
    await collector.stop();
  }
}

export interface CardinalityResults { rows: Row[]; notes: string[] }

export async function benchCardinality(): Promise<CardinalityResults> {
  const after = configWith({});
  const before = configWith({ collector: { droppedAttributes: [] } });
  const [b, a] = [await seriesPerPod(before), await seriesPerPod(after)];
  const rows: Row[] = Object.keys(a).map((name) => ({
    section: '5',
    measure: `series per ${name} pod at the collector, 5 Host headers x every route x 3 statuses: keeping vs dropping ${after.collector.droppedAttributes.join(', ')}`,
    value: `${b[name]} vs ${a[name]}`,
    ratio: `${(b[name] / a[name]).toFixed(1)}x fewer`,
  }));
  const notes = [
    `Section 5: one real chat service per kind (test/chat-service) pushing to otelcol-chat on the chart's collector config, once with collector.droppedAttributes: [] and once with the default; ` +
      `requests to every route, answering ${STATUSES.join(', ')}, from callers using the Host headers ${hostHeaders('<svc>', '<ns>', 8000).join(', ')}; ` +
      'series = sample lines labelled with the pod in its service\'s exporter, after 4 s of 1 s exports.',
  ];
  return { rows, notes };
}

/** Needs the built collector and the chat service's virtualenv (npm run binaries). */
export const cardinalitySection: BenchSection<CardinalityResults> = {
  name: 'cardinality',
  label: 'cardinality',
  unavailable: () => [binariesUnavailable(COLLECTOR_BINARIES), chatServiceUnavailable()].filter(Boolean).join('; ') || undefined,
  skippedRow: { section: '5', measure: 'series per chat pod' },
  run: () => benchCardinality(),
};

// `ts-node bench/cardinality.ts` runs this section alone.
if (require.main === module) runSectionAlone(cardinalitySection);
