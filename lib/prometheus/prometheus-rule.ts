import { Construct } from 'constructs';
import { PrometheusRule, PrometheusRuleSpecGroupsRulesExpr } from '../../imports/prometheusrule-monitoring.coreos.com';
import { componentLabels, MONITORING_SELECTOR } from '../labels';
import { AlertingRule, RuleGroup } from '../rules/types';

export interface PrometheusRuleGroupsProps {
  readonly namespace: string;
  readonly name: string;
  readonly groups: readonly RuleGroup[];
}

/** One PrometheusRule object holding rule groups built by lib/rules. */
export class PrometheusRuleGroups extends Construct {
  constructor(scope: Construct, id: string, props: PrometheusRuleGroupsProps) {
    super(scope, id);
    new PrometheusRule(this, 'rule', {
      metadata: { name: props.name, namespace: props.namespace, labels: { ...componentLabels(props.name, 'rules'), ...MONITORING_SELECTOR } },
      spec: {
        groups: props.groups.map((g) => ({
          name: g.name,
          interval: g.interval,
          queryOffset: g.queryOffset,
          rules: g.rules.map((r) => ('alert' in r
            ? { alert: r.alert, expr: PrometheusRuleSpecGroupsRulesExpr.fromString(r.expr), for: (r as AlertingRule).for, labels: { ...r.labels }, annotations: { ...r.annotations } }
            : { record: r.record, expr: PrometheusRuleSpecGroupsRulesExpr.fromString(r.expr) })),
        })),
      },
    });
  }
}
