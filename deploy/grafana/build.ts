/**
 * Writes the dashboards Grafana provisions: `node deploy/grafana/build.ts`. The JSON is committed;
 * test/deploy/dashboards.test.ts fails when it differs from what this script would write.
 */
import { writeFileSync } from 'node:fs';
import { budgetsHealth } from './src/budgets-health.ts';
import { formatJson } from './src/dashboard-kit.ts';
import { overview } from './src/overview.ts';

export const DASHBOARDS: Record<string, unknown> = {
  'turnstream-overview.json': overview,
  'turnstream-budgets-health.json': budgetsHealth,
};

export function renderDashboard(json: unknown): string {
  return `${formatJson(json)}\n`;
}

if (import.meta.main) {
  for (const [file, json] of Object.entries(DASHBOARDS)) {
    writeFileSync(new URL(`dashboards/${file}`, import.meta.url), renderDashboard(json));
    process.stdout.write(`wrote deploy/grafana/dashboards/${file}\n`);
  }
}
