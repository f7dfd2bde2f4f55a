import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { componentLabels, selectorLabels } from './labels';

export interface PodDisruptionBudgetForProps {
  readonly namespace: string;
  /** The component's name: the budget's, and what selects its pods. */
  readonly name: string;
  readonly replicas: number;
}

/** Keeps all but one replica up during voluntary disruptions; only for components with more than one replica. */
export function podDisruptionBudgetFor(scope: Construct, props: PodDisruptionBudgetForProps): void {
  if (props.replicas <= 1) return;
  new k8s.KubePodDisruptionBudget(scope, `${props.name}-pdb`, {
    metadata: { name: props.name, namespace: props.namespace, labels: componentLabels(props.name, 'disruption-budget') },
    spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selectorLabels(props.name) } },
  });
}
