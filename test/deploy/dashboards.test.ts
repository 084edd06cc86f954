import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DASHBOARDS, renderDashboard } from '../../deploy/grafana/build.ts';
import { PROMETHEUS_UID } from '../../deploy/grafana/src/turnstream-dashboard.ts';
import { DASHBOARD_FILES, panelsOf, readDashboard, readDeploy, readDeployYaml, shippedBudget, type Dashboard } from '../helpers/deploy-files.ts';

// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template literal
const DS = { type: 'prometheus', uid: '${datasource}' };
// Grafana's own unit ids used here, or a custom `suffix: …` unit.
const UNITS = new Set(['currencyUSD', 's', 'percentunit']);

describe('Grafana dashboards (deploy/grafana)', () => {
  const boards: [string, Dashboard][] = DASHBOARD_FILES.map((f) => [f, readDashboard(f)]);

  it('are the committed output of deploy/grafana/build.ts (run it after editing deploy/grafana/src)', () => {
    assert.deepEqual(DASHBOARD_FILES.map((f) => f.replace('grafana/dashboards/', '')).sort(), Object.keys(DASHBOARDS).sort());
    for (const [file, json] of Object.entries(DASHBOARDS)) {
      assert.equal(readDeploy(`grafana/dashboards/${file}`), renderDashboard(json), `${file} is stale: node deploy/grafana/build.ts`);
    }
  });

  it('are an Overview and a Budgets & health board with unique uids', () => {
    assert.deepEqual(boards.map(([, d]) => d.uid).sort(), ['turnstream-budgets-health', 'turnstream-overview']);
  });

  for (const [file, d] of boards) {
    describe(file, () => {
      const panels = panelsOf(d);

      it('every panel has a unit, the $datasource data source, a description and queries', () => {
        assert.ok(panels.length >= 10);
        for (const p of panels) {
          const unit = p.fieldConfig?.defaults.unit ?? '';
          assert.ok(UNITS.has(unit) || /^suffix: \S/.test(unit), `${p.title}: unit "${unit}"`);
          assert.deepEqual(p.datasource, DS, p.title);
          assert.ok((p.description ?? '').length > 10, `${p.title}: no description`);
          assert.ok(p.targets !== undefined && p.targets.length > 0, `${p.title}: no queries`);
          for (const t of p.targets) {
            assert.deepEqual(t.datasource, DS, `${p.title} ${t.refId}`);
            assert.ok(t.expr.trim() !== '', `${p.title} ${t.refId}: empty expr`);
            assert.ok(t.legendFormat !== undefined && t.legendFormat !== '', `${p.title} ${t.refId}: no legend`);
          }
          assert.equal(new Set(p.targets.map((t) => t.refId)).size, p.targets.length, `${p.title}: duplicate refId`);
        }
      });

      it('has a datasource variable defaulting to the provisioned uid', () => {
        const v = d.templating.list.find((x) => x.name === 'datasource');
        assert.equal(v?.type, 'datasource');
        assert.equal(v?.query, 'prometheus');
        assert.equal(v?.current?.value, PROMETHEUS_UID);
        for (const x of d.templating.list.filter((y) => y.type === 'query')) assert.deepEqual(x.datasource, DS, x.name);
      });

      it('lays panels out on the 24-column grid without overlaps, ids unique', () => {
        const all = d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
        assert.equal(new Set(all.map((p) => p.id)).size, all.length);
        const cells = new Set<string>();
        for (const p of all) {
          const g = p.gridPos;
          assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24, `${p.title}: ${JSON.stringify(g)}`);
          for (let x = g.x; x < g.x + g.w; x++) {
            for (let y = g.y; y < g.y + g.h; y++) {
              assert.ok(!cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`);
              cells.add(`${x},${y}`);
            }
          }
        }
      });
    });
  }

  it('the Budgets board budget defaults to the daily budget of the alert rules', () => {
    const d = boards.find(([, b]) => b.uid === 'turnstream-budgets-health')![1];
    const budget = d.templating.list.find((v) => v.name === 'budget');
    assert.equal(budget?.type, 'textbox');
    assert.equal(Number(budget?.current?.value), shippedBudget());
    assert.equal(Number(budget?.query), shippedBudget());
  });

  it('the Overview covers what issue 4 asks for', () => {
    const d = boards.find(([, b]) => b.uid === 'turnstream-overview')![1];
    const titles = panelsOf(d)
      .map((p) => p.title)
      .join(' | ');
    for (const t of [
      /Spend rate by provider/,
      /Spend rate by model/,
      /Spend rate by agent/,
      /Tokens by type/,
      /Cache-hit ratio/,
      /Turns per minute by status and stop reason/,
      /Turn duration p50 \/ p95/,
      /LLM calls per turn/,
      /Tool calls per turn/,
      /Tool calls per minute by tool/,
      /Tool error rate by tool/,
      /Top agents by cost/,
      /Top models by cost/,
    ]) {
      assert.match(titles, t);
    }
  });

  it('Grafana provisioning: the data source uid the boards default to, and a provider for their folder', () => {
    const ds = readDeployYaml('grafana/provisioning/datasources/turnstream.yml') as { datasources: { uid: string; type: string }[] };
    assert.ok(ds.datasources.some((x) => x.uid === PROMETHEUS_UID && x.type === 'prometheus'));
    const prov = readDeployYaml('grafana/provisioning/dashboards/turnstream.yml') as { providers: { type: string; options: { path: string } }[] };
    assert.equal(prov.providers[0]?.type, 'file');
    assert.equal(prov.providers[0]?.options.path, '/var/lib/grafana/dashboards');
  });
});
