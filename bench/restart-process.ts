/**
 * A restart with no checkpoint in a process of its own (`runReplayRestart` starts it): the open
 * work rebuilt from the whole log of `--data-dir`, timed from open to caught up.
 *
 *   node bench/restart-process.ts --data-dir DIR --events N [--threads N]
 * prints one line: {"bench":"restart","seconds":…}
 */
import { parseArgs } from 'node:util';
import { loadPriceTable } from '../src/events/price-table.ts';
import { restartInProcess } from './replay.ts';

const { values } = parseArgs({ options: { 'data-dir': { type: 'string' }, events: { type: 'string' }, threads: { type: 'string' } } });
if (values['data-dir'] === undefined || values.events === undefined)
  throw new Error('usage: node bench/restart-process.ts --data-dir DIR --events N [--threads N]');
const sample = await restartInProcess(
  values['data-dir'],
  loadPriceTable(),
  Number(values.events),
  values.threads === undefined ? undefined : Number(values.threads),
);
console.log(JSON.stringify({ bench: 'restart', seconds: sample.seconds }));
