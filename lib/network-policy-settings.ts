/** The NetworkPolicies' settings (lib/network-policies.ts): addresses the chart cannot know, as they differ per cluster. */
import { cidrList, ConfigError, given, requireObject } from './validation';

export interface NetworkPolicySettings {
  /**
   * The Kubernetes API server's addresses (CIDRs), which the components that call the API may reach
   * on 443 and 6443. Empty: any address on those ports. @default []
   */
  readonly apiServerCidrs: readonly string[];
  /**
   * The addresses the kubelet's probes come from (the nodes'). Empty: any address, and only on the
   * ports that serve nothing but health (the collector's and the dashboard sidecar's health ports).
   * Given: only these addresses, on every probed port (also the APIs of Prometheus, Alertmanager
   * and the operator). @default []
   */
  readonly nodeCidrs: readonly string[];
}

export const NETWORK_POLICY_DEFAULTS: NetworkPolicySettings = { apiServerCidrs: [], nodeCidrs: [] };
const KEYS = Object.keys(NETWORK_POLICY_DEFAULTS);

export function validateNetworkPolicies(raw: unknown): NetworkPolicySettings {
  const n = requireObject('networkPolicies', raw, KEYS);
  const nodeCidrs = cidrList('networkPolicies.nodeCidrs', given(n.nodeCidrs, NETWORK_POLICY_DEFAULTS.nodeCidrs));
  nodeCidrs.forEach((c, i) => {
    if (c.endsWith('/0')) {
      throw new ConfigError(`networkPolicies.nodeCidrs[${i}]`, `"${c}" is every address, which would open Prometheus's and Alertmanager's APIs to all`,
        'give the nodes\' addresses, or leave nodeCidrs empty (then only the health-only ports are open to all)');
    }
  });
  return { apiServerCidrs: cidrList('networkPolicies.apiServerCidrs', given(n.apiServerCidrs, NETWORK_POLICY_DEFAULTS.apiServerCidrs)), nodeCidrs };
}
