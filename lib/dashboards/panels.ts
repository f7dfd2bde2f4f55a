/**
 * Dashboard building blocks on the Grafana Foundation SDK: every panel reads the `datasource`
 * variable and has a unit and a description. Queries are not parsed here: a custom panel's is
 * parsed when the config is validated (chat-service-settings.ts), the generated ones by the tests
 * (test/unit/generated-promql.test.ts).
 */
import { DashboardBuilder, DashboardLinkBuilder, DashboardLinkType, DataSourceRef, DatasourceVariableBuilder, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { LegendDisplayMode, LegendPlacement, VizLegendOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { DATASOURCE_UID } from '../labels';

/** Every dashboard of the chart carries this tag; the dashboards' links list them by it. */
export const DASHBOARD_TAG = 'chat-monitoring';

const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

export interface PanelSpec {
  readonly title: string;
  readonly description: string;
  readonly expr: string;
  readonly unit: string;
  readonly legend?: string;
  /** @default 'timeseries' */
  readonly kind?: 'timeseries' | 'stat';
}

export interface RowSpec {
  readonly title: string;
  readonly panels: readonly PanelSpec[];
  /** Panels per line. @default 2 */
  readonly columns?: number;
}

const PANEL_HEIGHT = 8;

function panel(spec: PanelSpec, gridPos: { x: number; y: number; w: number; h: number }) {
  const target = new DataqueryBuilder().expr(spec.expr).legendFormat(spec.legend ?? '__auto').refId('A');
  const builder = spec.kind === 'stat'
    ? new StatPanelBuilder()
    : new TimeseriesPanelBuilder().min(0).legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom).calcs([]));
  return builder
    .title(spec.title)
    .description(spec.description)
    .unit(spec.unit)
    .datasource(DATASOURCE)
    .withTarget(target)
    .gridPos(gridPos);
}

export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly rows: readonly RowSpec[];
}

/** Renders a dashboard to Grafana's JSON model. */
export function renderDashboard(spec: DashboardSpec): Record<string, unknown> {
  const builder = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags([DASHBOARD_TAG, ...spec.tags])
    // Provisioned from ConfigMaps: edits in the UI would be lost, so forbid them.
    .readonly()
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus')
      .current({ selected: true, text: 'Prometheus', value: DATASOURCE_UID }))
    .link(new DashboardLinkBuilder('Chat platform').type(DashboardLinkType.Dashboards).tags([DASHBOARD_TAG])
      .asDropdown(true).keepTime(true).includeVars(true));

  let y = 0;
  for (const row of spec.rows) {
    builder.withRow(new RowBuilder(row.title).gridPos({ x: 0, y, w: 24, h: 1 }));
    y += 1;
    const columns = row.columns ?? 2;
    const width = 24 / columns;
    row.panels.forEach((p, i) => {
      builder.withPanel(panel(p, { x: (i % columns) * width, y: y + Math.floor(i / columns) * PANEL_HEIGHT, w: width, h: PANEL_HEIGHT }));
    });
    y += Math.ceil(row.panels.length / columns) * PANEL_HEIGHT;
  }
  const json = builder.build() as unknown as Record<string, unknown>;
  assignPanelIds(json);
  return json;
}

/** Stable, unique panel ids in layout order (Grafana needs them for links and repeated panels). */
function assignPanelIds(dashboard: Record<string, unknown>) {
  let id = 1;
  for (const p of (dashboard.panels as Record<string, unknown>[]) ?? []) {
    p.id = id++;
  }
}
