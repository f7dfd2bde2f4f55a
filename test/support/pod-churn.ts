/**
 * Pod churn against the real collector on a real API server, as a rolling deployment makes it: one
 * pod after another gets a new name, a new UID and a new address, sends an OTLP export from that
 * address, and is deleted. Used by test/chain/collector-churn.chain.test.ts (series counts) and
 * bench/collector-churn.ts (RSS over a longer run).
 *
 * A pod here is its Pod object and one OTLP/HTTP export sent with curl from the pod's address
 * (--interface) inside a network namespace holding many pod addresses: k8sattributes finds the pod
 * by the peer address of the connection (the chart's pod_association), which is all a pod's
 * process adds to the collector's state. The chat-service pods of the chain run the real SDK.
 */
import { execFileSync } from 'child_process';
import { ChartConfig } from '../../lib/config';
import { RunningCollector } from './collector';
import { chatPodSpec, createPodNetwork, podName, PushChain, templateHash } from './push-chain';
import { TestHosts } from './test-hosts';

export type ChatServiceConfig = ChartConfig['services'][number];

/** A metric name no chat service sends, so the probe's series are told apart. */
export const CHURN_PROBE_METRIC = 'chat_monitoring_churn_probe';

export interface ChurnedPod {
  readonly name: string;
  readonly uid: string;
  readonly address: string;
}

/** Addresses per network namespace (a /24 less the gateway, and the broadcast address). */
const ADDRESSES_PER_NETWORK = 250;

/** One OTLP/JSON export: a cumulative counter, as a chat service's SDK sends its request counts. */
function otlpExport(service: ChatServiceConfig, pod: string): string {
  const nowNs = `${BigInt(Date.now()) * 1_000_000n}`;
  return JSON.stringify({
    resourceMetrics: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service.name } }] },
      scopeMetrics: [{
        scope: { name: 'chat-monitoring.churn' },
        metrics: [{
          name: CHURN_PROBE_METRIC,
          sum: {
            aggregationTemporality: 2,
            isMonotonic: true,
            dataPoints: [{ asInt: '1', startTimeUnixNano: nowNs, timeUnixNano: nowNs, attributes: [{ key: 'probe', value: { stringValue: pod } }] }],
          },
        }],
      }],
    }],
  });
}

export class PodChurn {
  private readonly networks: TestHosts[] = [];
  private used = 0;
  /** Every pod made so far, in order. */
  readonly pods: ChurnedPod[] = [];

  constructor(private readonly chain: PushChain, private readonly service: ChatServiceConfig) {
    if (service.exportMode !== 'push') throw new Error(`PodChurn: ${service.name} does not push to the collector`);
  }

  /** A fresh address: the next of the current network's, or the first of a new network. */
  private nextAddress(): { netns: string; address: string } {
    const index = this.used % ADDRESSES_PER_NETWORK;
    if (index === 0) this.networks.push(createPodNetwork(ADDRESSES_PER_NETWORK));
    this.used++;
    const network = this.networks[this.networks.length - 1];
    return { netns: network.netns, address: network.addresses[index] };
  }

  /** `count` pods, one after another: created, one export sent from its address, deleted. */
  replace(count: number): ChurnedPod[] {
    const made: ChurnedPod[] = [];
    const admin = this.chain.cp.admin;
    const url = `http://${this.chain.collectorAddress}:${this.chain.collector.ports.otlpHttp}/v1/metrics`;
    for (let i = 0; i < count; i++) {
      const { netns, address } = this.nextAddress();
      const name = podName(this.service.name, templateHash());
      this.chain.createPod({
        namespace: this.service.namespace, name, labels: { ...this.service.selector, 'pod-template-hash': 'churn' }, spec: chatPodSpec(this.service.name),
      }, address);
      const uid = admin.ok(['get', 'pod', name, '-n', this.service.namespace, '-o', 'jsonpath={.metadata.uid}']).stdout.trim();
      execFileSync('ip', ['netns', 'exec', netns, 'curl', '-sS', '--fail', '--max-time', '30', '--interface', address,
        '-H', 'Content-Type: application/json', '--data-binary', '@-', url], { input: otlpExport(this.service, name), stdio: ['pipe', 'ignore', 'pipe'] });
      admin.ok(['delete', 'pod', name, '-n', this.service.namespace, '--wait=false']);
      const pod = { name, uid, address };
      made.push(pod);
      this.pods.push(pod);
    }
    return made;
  }

  stop(): void {
    for (const n of this.networks.splice(0)) n.remove();
  }
}

/** The series of a Prometheus exposition: each sample line's name and labels, without its value. */
export function exposedSeries(text: string): string[] {
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.replace(/\s+\S+(\s+\d+)?$/, '')).sort();
}

/** The collector's own series, as Prometheus scrapes them from its self-metrics endpoint. */
export async function collectorSelfSeries(collector: RunningCollector): Promise<string[]> {
  return exposedSeries(await (await fetch(`http://${collector.selfMetricsTarget}/metrics`)).text());
}
