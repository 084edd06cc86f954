/**
 * Writes the dashboards Grafana provisions: `node deploy/grafana/build.ts`. The boards are built
 * with Grafana's typed builders (`@grafana/grafana-foundation-sdk`, see src/); the JSON is
 * committed, and test/deploy/dashboards.test.ts fails when it differs from what this script writes.
 */
import { writeFileSync } from 'node:fs';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { budgetsHealth } from './src/budgets-health.ts';
import { overview } from './src/overview.ts';

export const DASHBOARDS: Record<string, Dashboard> = {
  'turnstream-overview.json': overview,
  'turnstream-budgets-health.json': budgetsHealth,
};

/** The file as committed: two-space JSON, as Grafana's own "Export → JSON" writes it. */
export function renderDashboard(json: Dashboard): string {
  return `${JSON.stringify(json, null, 2)}\n`;
}

if (import.meta.main) {
  for (const [file, json] of Object.entries(DASHBOARDS)) {
    writeFileSync(new URL(`dashboards/${file}`, import.meta.url), renderDashboard(json));
    process.stdout.write(`wrote deploy/grafana/dashboards/${file}\n`);
  }
}
