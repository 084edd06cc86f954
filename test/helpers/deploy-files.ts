import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** A parsed YAML document (what the deploy/ files contain: no anchors, tags or custom types). */
export type Yaml = string | number | boolean | null | Yaml[] | { [key: string]: Yaml };

/** Absolute path of a file under deploy/. */
export const deployPath = (rel: string): string => fileURLToPath(new URL(`../../deploy/${rel}`, import.meta.url));
export const readDeploy = (rel: string): string => readFileSync(deployPath(rel), 'utf8');
/** A deploy/ YAML file, parsed as YAML 1.2 (duplicate keys are an error, as Prometheus and Compose treat them). */
export const readDeployYaml = (rel: string): Yaml => parse(readDeploy(rel)) as Yaml;

export const RULE_FILES: readonly string[] = readdirSync(deployPath('prometheus/rules'))
  .filter((f) => f.endsWith('.yml'))
  .sort()
  .map((f) => `prometheus/rules/${f}`);
export const DASHBOARD_FILES: readonly string[] = readdirSync(deployPath('grafana/dashboards'))
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => `grafana/dashboards/${f}`);

export interface RuleQuery {
  readonly file: string;
  readonly group: string;
  readonly kind: 'record' | 'alert';
  /** The recorded series or the alert name. */
  readonly name: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: Record<string, string>;
}

type Obj = Record<string, Yaml>;
const obj = (v: Yaml | undefined, what: string): Obj => {
  if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${what} is not a map`);
  return v;
};
const list = (v: Yaml | undefined, what: string): Yaml[] => {
  if (!Array.isArray(v)) throw new Error(`${what} is not a list`);
  return v;
};

/** Every recording and alerting rule shipped under deploy/prometheus/rules/. */
export function shippedRules(): RuleQuery[] {
  const out: RuleQuery[] = [];
  for (const file of RULE_FILES) {
    for (const g of list(obj(readDeployYaml(file), file)['groups'], `${file} groups`)) {
      const group = obj(g, file);
      for (const r of list(group['rules'], `${file} rules`)) {
        const rule = obj(r, file);
        const kind = rule['record'] !== undefined ? 'record' : 'alert';
        out.push({
          file,
          group: String(group['name']),
          kind,
          name: String(rule[kind]),
          expr: String(rule['expr']).trim(),
          ...(rule['for'] === undefined ? {} : { for: String(rule['for']) }),
          labels: Object.fromEntries(Object.entries(rule['labels'] === undefined ? {} : obj(rule['labels'], 'labels')).map(([k, v]) => [k, String(v)])),
        });
      }
    }
  }
  return out;
}

const BUDGET_RULE = /(- record: turnstream:budget_usd_per_day\n\s+expr: vector\()([0-9.]+)(\))/;

/** The daily budget the shipped rules use (`turnstream:budget_usd_per_day`). */
export function shippedBudget(): number {
  const m = BUDGET_RULE.exec(readDeploy('prometheus/rules/turnstream-cost.yml'));
  if (!m) throw new Error('turnstream:budget_usd_per_day = vector(N) not found in turnstream-cost.yml');
  return Number(m[2]);
}

/**
 * A shipped rules file made fit for a test of a few seconds: the budget replaced (cost rules)
 * and every `for:` set to 0s. Throws if the budget constant is not where the docs say it is.
 */
export function rulesForTest(rel: string, { budgetUsd }: { budgetUsd: number }): string {
  let text = readDeploy(rel);
  if (rel.endsWith('turnstream-cost.yml')) {
    if (!BUDGET_RULE.test(text)) throw new Error(`budget constant not found in ${rel}`);
    text = text.replace(BUDGET_RULE, `$1${budgetUsd}$3`);
  }
  return text.replace(/^(\s+for: )\S+$/gm, '$10s');
}

export interface PanelQuery {
  readonly dashboard: string;
  readonly panel: string;
  readonly refId: string;
  readonly expr: string;
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: Panel[];
  readonly templating: { list: Variable[] };
}
export interface Panel {
  readonly type: string;
  readonly id: number;
  readonly title: string;
  readonly description?: string;
  readonly datasource?: { type: string; uid: string };
  readonly gridPos: { h: number; w: number; x: number; y: number };
  readonly fieldConfig?: { defaults: { unit?: string } };
  readonly targets?: { datasource?: { type: string; uid: string }; refId: string; expr: string; legendFormat?: string }[];
  readonly panels?: Panel[];
}
export interface Variable {
  readonly name: string;
  readonly type: string;
  readonly query: string | { query: string };
  readonly definition?: string;
  readonly current?: { value: string | string[] };
  readonly datasource?: { type: string; uid: string };
}

export const readDashboard = (rel: string): Dashboard => JSON.parse(readDeploy(rel)) as Dashboard;

/** Panels of a dashboard, rows' nested panels included; rows themselves left out. */
export function panelsOf(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]));
}

export function dashboardQueries(): PanelQuery[] {
  return DASHBOARD_FILES.map(readDashboard).flatMap((d) =>
    panelsOf(d).flatMap((p) => (p.targets ?? []).map((t) => ({ dashboard: d.uid, panel: p.title, refId: t.refId, expr: t.expr }))),
  );
}

/** The series selector inside each `label_values(selector, label)` variable query. */
export function variableSelectors(): { dashboard: string; variable: string; selector: string; label: string }[] {
  return DASHBOARD_FILES.map(readDashboard).flatMap((d) =>
    d.templating.list
      .filter((v) => v.type === 'query')
      .map((v) => {
        const q = typeof v.query === 'string' ? v.query : v.query.query;
        const m = /^label_values\((.+),\s*(\w+)\)$/.exec(q);
        if (!m) throw new Error(`${d.uid} variable ${v.name}: not a label_values(selector, label) query: ${q}`);
        return { dashboard: d.uid, variable: v.name, selector: m[1]!, label: m[2]! };
      }),
  );
}

/** Replaces Grafana variables (`$x`, `${x}`); an unknown variable throws, so none slips through. */
export function substituteVariables(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => {
    const name = (a ?? b)!;
    const v = values[name];
    if (v === undefined) throw new Error(`no value for variable $${name} in ${expr}`);
    return v;
  });
}
