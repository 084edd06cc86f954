/**
 * A small, dependency-free builder for the Grafana dashboard JSON (schema 39, Grafana 10/11).
 * It exists so every panel gets the same data source reference, a unit and a sane layout by
 * construction; `build.ts` writes the JSON that is committed and provisioned.
 */

/** The provisioned Prometheus data source (deploy/grafana/provisioning/datasources/). */
export const PROMETHEUS_UID = 'turnstream-prometheus';
/** Every panel and query points at the `datasource` variable, never at a fixed uid. */
export const DS = { type: 'prometheus', uid: '${datasource}' } as const;

export interface Query {
  readonly expr: string;
  /** Legend template, e.g. `{{gen_ai_agent_name}}`. */
  readonly legend: string;
}

export type PanelKind = 'timeseries' | 'stat' | 'gauge' | 'bargauge' | 'table';

export interface PanelSpec {
  readonly kind: PanelKind;
  readonly title: string;
  /** What question the panel answers; shown as the panel's (i) tooltip. */
  readonly description: string;
  /** A Grafana unit id (`currencyUSD`, `s`, `percentunit`) or a custom `suffix: …` unit. */
  readonly unit: string;
  readonly queries: readonly Query[];
  /** Width in grid columns (of 24); height defaults to 8. */
  readonly w: number;
  readonly h?: number;
  readonly stack?: boolean;
  readonly decimals?: number;
  readonly min?: number;
  readonly max?: number;
  /** Threshold steps above the base (green); drawn as lines on time series. */
  readonly thresholds?: readonly { readonly value: number; readonly color: string }[];
}

export interface RowSpec {
  readonly row: string;
  readonly panels: readonly PanelSpec[];
}

type Json = Record<string, unknown>;

const instant = (kind: PanelKind): boolean => kind !== 'timeseries';

function target(q: Query, i: number, kind: PanelKind): Json {
  return {
    datasource: DS,
    refId: String.fromCharCode(65 + i),
    expr: q.expr,
    legendFormat: q.legend,
    range: !instant(kind),
    instant: instant(kind),
    ...(kind === 'table' ? { format: 'table' } : {}),
  };
}

function fieldDefaults(p: PanelSpec): Json {
  const steps = [{ color: 'green', value: null }, ...(p.thresholds ?? [])];
  return {
    unit: p.unit,
    ...(p.decimals === undefined ? {} : { decimals: p.decimals }),
    ...(p.min === undefined ? {} : { min: p.min }),
    ...(p.max === undefined ? {} : { max: p.max }),
    color: { mode: p.kind === 'timeseries' ? 'palette-classic' : 'thresholds' },
    thresholds: { mode: 'absolute', steps },
    ...(p.kind === 'timeseries'
      ? {
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: p.stack ? 30 : 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: { mode: p.stack ? 'normal' : 'none', group: 'A' },
            thresholdsStyle: { mode: p.thresholds ? 'line' : 'off' },
          },
        }
      : {}),
  };
}

function options(p: PanelSpec): Json {
  const reduce = { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } };
  switch (p.kind) {
    case 'timeseries':
      return { legend: { displayMode: 'table', placement: 'bottom', calcs: ['mean', 'max', 'lastNotNull'] }, tooltip: { mode: 'multi', sort: 'desc' } };
    case 'stat':
      return { ...reduce, colorMode: 'value', graphMode: 'none', justifyMode: 'auto', textMode: 'auto' };
    case 'gauge':
      return { ...reduce, showThresholdMarkers: true, showThresholdLabels: false };
    case 'bargauge':
      return { ...reduce, orientation: 'horizontal', displayMode: 'gradient', showUnfilled: true };
    case 'table':
      return { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], fields: '' } };
  }
}

/** Lays rows and panels out left to right, wrapping at 24 columns; ids are stable (1, 2, …). */
export function layout(rows: readonly RowSpec[]): Json[] {
  const panels: Json[] = [];
  let id = 1;
  let y = 0;
  for (const r of rows) {
    panels.push({ type: 'row', id: id++, title: r.row, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const p of r.panels) {
      const h = p.h ?? 8;
      if (x + p.w > 24) {
        x = 0;
        y += rowHeight;
        rowHeight = 0;
      }
      panels.push({
        type: p.kind,
        id: id++,
        title: p.title,
        description: p.description,
        datasource: DS,
        gridPos: { h, w: p.w, x, y },
        fieldConfig: { defaults: fieldDefaults(p), overrides: [] },
        options: options(p),
        targets: p.queries.map((q, i) => target(q, i, p.kind)),
        ...(p.kind === 'table' ? { transformations: [{ id: 'organize', options: { excludeByName: { Time: true }, renameByName: { Value: 'value' } } }] } : {}),
      });
      x += p.w;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  return panels;
}

export function datasourceVariable(): Json {
  return { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: { text: 'Prometheus', value: PROMETHEUS_UID }, hide: 0, refresh: 1, regex: '' };
}

/** A multi-select label filter; "All" is the regex `.*` so queries can always say `=~"$name"`. */
export function labelVariable(name: string, label: string, query: string): Json {
  return {
    name,
    label,
    type: 'query',
    datasource: DS,
    definition: query,
    query: { query, refId: `${name}-values` },
    refresh: 2,
    sort: 1,
    multi: true,
    includeAll: true,
    allValue: '.*',
    current: { text: ['All'], value: ['$__all'] },
    hide: 0,
  };
}

export function textboxVariable(name: string, label: string, value: string, description: string): Json {
  return { name, label, description, type: 'textbox', query: value, current: { text: value, value }, hide: 0 };
}

export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly variables: readonly Json[];
  readonly rows: readonly RowSpec[];
  /** uids of dashboards to link in the header. */
  readonly links: readonly { readonly title: string; readonly uid: string }[];
}

export function dashboard(d: DashboardSpec): Json {
  return {
    uid: d.uid,
    title: d.title,
    description: d.description,
    tags: ['turnstream', 'ai-agents', 'llm-cost'],
    editable: true,
    graphTooltip: 1,
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    fiscalYearStartMonth: 0,
    liveNow: false,
    links: d.links.map((l) => ({ type: 'link', title: l.title, url: `/d/${l.uid}`, keepTime: true, includeVars: false, icon: 'dashboard', asDropdown: false, tags: [], targetBlank: false, tooltip: '' })),
    annotations: { list: [{ builtIn: 1, datasource: { type: 'grafana', uid: '-- Grafana --' }, enable: true, hide: true, iconColor: 'rgba(0, 211, 255, 1)', name: 'Annotations & Alerts', type: 'dashboard' }] },
    templating: { list: d.variables },
    panels: layout(d.rows),
  };
}

/** One-line JSON with a space after `:` and `,` (how a person writes short objects). */
function inline(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(inline).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Json).filter(([, v]) => v !== undefined);
    return entries.length === 0 ? '{}' : `{ ${entries.map(([k, v]) => `${JSON.stringify(k)}: ${inline(v)}`).join(', ')} }`;
  }
  const s = JSON.stringify(value);
  if (s === undefined) throw new Error(`not JSON: ${String(value)}`);
  return s;
}

/**
 * JSON with short arrays/objects on one line (diffs stay readable), long ones expanded with two
 * spaces. Deterministic, so the committed files can be compared with a fresh build.
 */
export function formatJson(value: unknown, indent = ''): string {
  const flat = inline(value);
  if (value === null || typeof value !== 'object' || indent.length + flat.length <= 100) return flat;
  const inner = `${indent}  `;
  if (Array.isArray(value)) return `[\n${value.map((v) => inner + formatJson(v, inner)).join(',\n')}\n${indent}]`;
  const entries = Object.entries(value as Json).filter(([, v]) => v !== undefined);
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${formatJson(v, inner)}`).join(',\n')}\n${indent}}`;
}
