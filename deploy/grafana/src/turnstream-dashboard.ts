/**
 * What both turnstream boards share, on Grafana's `DashboardBuilder` (`@grafana/grafana-foundation-sdk`,
 * types generated for Grafana 11.6, dashboard schema 41): header settings, the data source and
 * label variables, and `finish`, which numbers panels and queries so the committed JSON is stable.
 */
import {
  AnnotationQueryBuilder,
  type Dashboard,
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  DatasourceVariableBuilder,
  type Panel,
  QueryVariableBuilder,
  type RowPanel,
  TextBoxVariableBuilder,
  VariableHide,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DS } from './panel-presets.ts';

/** The provisioned Prometheus data source (deploy/grafana/provisioning/datasources/). */
export const PROMETHEUS_UID = 'turnstream-prometheus';

export interface TurnstreamDashboardOptions {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  /** The other board, linked in the header (keeping the time range). */
  readonly link: { readonly title: string; readonly uid: string };
}

/** A board with turnstream's tags, refresh, time range, shared crosshair and the `datasource` variable. */
export function turnstreamDashboard({ uid, title, description, link }: TurnstreamDashboardOptions): DashboardBuilder {
  return new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['turnstream', 'ai-agents', 'llm-cost'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .timezone('browser')
    .version(1)
    .refresh('30s')
    .time({ from: 'now-6h', to: 'now' })
    .liveNow(false)
    .link(new DashboardLinkBuilder(link.title).type(DashboardLinkType.Link).url(`/d/${link.uid}`).keepTime(true).icon('dashboard'))
    .annotation(
      new AnnotationQueryBuilder()
        .builtIn(1)
        .datasource({ type: 'grafana', uid: '-- Grafana --' })
        .enable(true)
        .hide(true)
        .iconColor('rgba(0, 211, 255, 1)')
        .name('Annotations & Alerts')
        .type('dashboard'),
    )
    .withVariable(
      new DatasourceVariableBuilder('datasource')
        .label('Data source')
        .type('prometheus')
        .current({ text: 'Prometheus', value: PROMETHEUS_UID })
        .hide(VariableHide.DontHide)
        .regex(''),
    );
}

/** A multi-select label filter; "All" is the regex `.*` so queries can always say `=~"$name"`. */
export function labelVariable(name: string, label: string, query: string): QueryVariableBuilder {
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(DS)
    .query({ query, refId: `${name}-values` })
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ text: ['All'], value: ['$__all'] })
    .hide(VariableHide.DontHide);
}

/** A free-text value (a constant the user may change, such as the daily budget). */
export function textboxVariable(name: string, label: string, value: string, description: string): TextBoxVariableBuilder {
  return new TextBoxVariableBuilder(name).label(label).description(description).defaultValue(value).current({ text: value, value }).hide(VariableHide.DontHide);
}

/**
 * The built dashboard with panel ids 1, 2, … in layout order (rows included) and query refIds
 * A, B, … per panel: Grafana would assign them on save, but the committed JSON must not change
 * from one build to the next, and tests name queries by panel and refId.
 */
export function finish(builder: DashboardBuilder): Dashboard {
  const dashboard = builder.build();
  let id = 1;
  const number = (p: Panel | RowPanel): void => {
    p.id = id++;
    if (p.type === 'row') (p as RowPanel).panels.forEach(number);
    else for (const [i, t] of ((p as Panel).targets ?? []).entries()) Object.assign(t, { refId: String.fromCharCode(65 + i) });
  };
  dashboard.panels?.forEach(number);
  return dashboard;
}
