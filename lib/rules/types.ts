/** Prometheus rule-file shapes, as plain data (the PrometheusRule spec and promtool share them). */
export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
}
export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: { readonly summary: string; readonly description: string; readonly runbook_url: string };
}
export interface RuleGroup {
  readonly name: string;
  readonly interval?: string;
  /** Evaluate this far in the past, for series whose points arrive late (Prometheus's `query_offset`). */
  readonly queryOffset?: string;
  readonly rules: readonly (RecordingRule | AlertingRule)[];
}
