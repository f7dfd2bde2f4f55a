/**
 * Replicas of one workload on different nodes where the cluster has several: losing a node then
 * takes one copy of an HA pair, not both. Preferred, not required (kube-prometheus's default): on a
 * one-node cluster such as kind's, the replicas still schedule side by side.
 */
export const NODE_TOPOLOGY_KEY = 'kubernetes.io/hostname';

/** A soft pod anti-affinity against the workload's own pods (`selector`: its pod selector labels). */
export function spreadOverNodes(selector: Record<string, string>) {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [{
        weight: 100,
        podAffinityTerm: { topologyKey: NODE_TOPOLOGY_KEY, labelSelector: { matchLabels: { ...selector } } },
      }],
    },
  };
}
