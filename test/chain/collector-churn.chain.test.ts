/**
 * Pod churn on the real collector (chart config, k8sattributes reading a real API server as the
 * collector's ServiceAccount): pods replaced one after another, each with a new name, UID and
 * address, as a rolling deployment makes them (test/support/pod-churn.ts). The collector's own
 * series, which Prometheus scrapes from it, must not grow with the pods it has seen: once warm,
 * the set of series is the same after many more pods, and no series names a pod.
 *
 * Collector contrib 0.145.0 fails this: k8sattributes' otelcol_k8s_pod_association self-metric
 * carries each pod's address in pod_identifier, one series per pod ever seen, never removed
 * (opentelemetry-collector-contrib issue 47669). Series counts are deterministic; RSS over a longer
 * run is measured by `npm run bench -- --only churn`.
 */
import { CHURN_PROBE_METRIC, collectorSelfSeries, PodChurn } from '../support/pod-churn';
import { until } from '../support/process';
import { describeWithChain, PushChain } from '../support/push-chain';
import { defaultConfig } from '../support/manifests';

const CONFIG = defaultConfig();
/** Pods that warm the collector up: every code path a pod's export takes has run by then. */
const WARM_PODS = 10;
/** Pods after warm-up: the series set must be the same after these. */
const CHURN_PODS = 40;

describeWithChain('pod churn: the collector\'s own series stay flat on the real API server', () => {
  let chain: PushChain;
  let churn: PodChurn;
  const service = CONFIG.services.find((s) => s.exportMode === 'push')!;

  beforeAll(async () => {
    chain = await PushChain.start({ config: CONFIG, prometheus: false });
    churn = new PodChurn(chain, service);
  }, 240_000);

  afterAll(async () => {
    churn?.stop();
    await chain?.stop();
  }, 60_000);

  const exporterText = async () => (await Promise.all(Object.values(chain.collector.ports.exporters ?? {}).map(async (port) =>
    (await fetch(`http://${chain.collectorAddress}:${port}/metrics`)).text()))).join('\n');

  it(`after ${WARM_PODS} pods, ${CHURN_PODS} more leave the same set of self-metric series, none naming a pod`, async () => {
    churn.replace(WARM_PODS);
    const warm = await collectorSelfSeries(chain.collector);
    const churned = churn.replace(CHURN_PODS);
    const after = await collectorSelfSeries(chain.collector);

    const naming = after.filter((s) => churn.pods.some((p) => s.includes(`"${p.address}"`) || s.includes(p.uid) || s.includes(p.name)));
    expect(naming).toEqual([]);
    expect(after.filter((s) => !warm.includes(s))).toEqual([]);
    expect(after.length).toBe(warm.length);

    // The churn reached k8sattributes as pods: a churned pod's probe was exported under its name,
    // so the collector found it on the API server by the address it sent from.
    await until('a churned pod\'s probe under its pod name at an exporter', async () => {
      const text = await exporterText();
      return churned.some((p) => text.includes(CHURN_PROBE_METRIC) && text.includes(`pod="${p.name}"`)) || undefined;
    }, 15_000, 500);
  }, 240_000);
});
