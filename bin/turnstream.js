#!/usr/bin/env node
// Entry point. In a checkout, Node 24 (and 22.18+) runs the TypeScript sources directly (type
// stripping; 22.15–22.17 need the flag, so the CLI re-runs itself with it). Installed as a
// dependency (under node_modules, where Node refuses to strip types) it runs the built dist/.
import { spawnSync } from 'node:child_process';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 15)) {
  process.stderr.write(
    `turnstream needs Node.js >= 22.15 (24 LTS recommended); this is ${process.version}.\n` +
      `Run it through npm (npm start, npx turnstream) so the node@24 dev dependency is used, or install Node 24.\n`,
  );
  process.exit(1);
}
const installed = import.meta.url.includes('/node_modules/');
// Node's on-disk compile cache (V8 code, and the type-stripped TypeScript; in the OS temp folder, or
// NODE_COMPILE_CACHE): a start then skips most of parsing and compiling turnstream and its
// dependencies (measured here: ~1.6 s to a healthy server without it). The API enables it for this
// thread only; the variable carries it to the worker threads (log writer, spans, WAL checkpoints,
// rebuild shards), which otherwise compile their modules again at every start: a server on an
// empty data dir was healthy in 447–558 ms without, 346–370 ms with. Off with NODE_DISABLE_COMPILE_CACHE=1.
if (process.features.typescript || installed) {
  const { enableCompileCache } = await import('node:module');
  const cache = enableCompileCache?.();
  if (cache?.directory !== undefined && process.env.NODE_DISABLE_COMPILE_CACHE === undefined) process.env.NODE_COMPILE_CACHE ??= cache.directory;
}
if (!installed && !process.features.typescript) {
  const r = spawnSync(process.execPath, ['--experimental-strip-types', '--no-warnings', ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
// kafkajs 2.2.4 schedules a timer with a negative delay on Node >= 23 (kafkajs issue 1751; harmless: Node clamps it to
// 1 ms, which is what kafkajs meant); keep that one known warning off the operator's terminal.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'TimeoutNegativeWarning') process.stderr.write(`${w.name}: ${w.message}\n`);
});
const { run } = await import(installed ? '../dist/cli/main.js' : '../src/cli/main.ts');
await run(process.argv.slice(2));
