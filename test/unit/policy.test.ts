/**
 * Workload policy (test/unit/properties/policy.ts) on the default services plus a pull service in
 * its own namespace, with the collector and Prometheus replicated; the same suite runs on one and
 * five services in config-sizes.test.ts.
 */
import { CHART_CONFIG } from '../../lib/chart-config';
import { configWith, unusedServiceName } from '../support/manifests';
import { pinned, policyProperties } from './properties/policy';

const config = configWith({
  services: [...CHART_CONFIG.services, { name: unusedServiceName('chat-presence'), namespace: 'presence', exportMode: 'pull', metricsPort: { name: 'metrics', port: 9464 } }],
  collectorReplicas: 2,
  prometheusReplicas: 2,
});

policyProperties('default services, a pull service, 2 replicas', config);

describe('policy: the pinned-image check', () => {
  it('recognises pinned and unpinned images', () => {
    expect(['a/b:1.2.3', 'localhost:5000/a:v1', `a@sha256:${'0'.repeat(64)}`].every(pinned)).toBe(true);
    expect(['a/b', 'a/b:latest', 'localhost:5000/a'].some(pinned)).toBe(false);
  });
});
