import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openEmbeddedStore } from '../../src/state/open-embedded-store.ts';
import { eventually, startTurnstreamProcess } from '../helpers/turnstream-process.ts';

const bin = fileURLToPath(new URL('../../bin/turnstream.js', import.meta.url));
const env = { ...process.env, TURNSTREAM_DATA_DIR: '', TURNSTREAM_URL: '', TURNSTREAM_CONFIG: '' };
const cli = (args: string[]): { status: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};
const deep = (d: number): string => '['.repeat(d) + ']'.repeat(d);
const at = (min: number): string => new Date(Date.UTC(2026, 2, 2, 10, min)).toISOString();
const turn = (s: string, t: string, min: number, cost: number): string[] => [
  `{"v":1,"id":"${s}-${t}-a","type":"turn.start","session":"${s}","turn":"${t}","time":"${at(min)}"}`,
  `{"v":1,"id":"${s}-${t}-b","type":"llm.usage","session":"${s}","turn":"${t}","time":"${at(min)}","provider":"anthropic","model":"claude-sonnet-4","inputTokens":100,"outputTokens":50,"cost":${cost}}`,
  `{"v":1,"id":"${s}-${t}-c","type":"turn.end","session":"${s}","turn":"${t}","time":"${at(min + 1)}"}`,
];

describe('a server on a store that holds hostile events (logged before the decoder limits)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'turnstream-hostile-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts healthy, aggregates the good events exactly, dead-letters the bad, and the CLI shows everything', async () => {
    const raws = [
      ...turn('s1', 't1', 0, 0.5),
      // Issue 9 item 1 and item 4, as an older store holds them.
      `{"v":1,"id":"deep-1","type":"state.set","session":"s1","time":"${at(2)}","key":"k","value":${deep(5000)}}`,
      `{"v":1,"id":"inf-1","type":"llm.usage","session":"s1","turn":"t2","time":"${at(3)}","provider":"anthropic","model":"claude-sonnet-4","inputTokens":1e309,"outputTokens":1,"cost":1e309}`,
      // Item 10: state keys named like Object.prototype's.
      `{"v":1,"id":"proto-1","type":"state.set","session":"s1","time":"${at(4)}","key":"__proto__","value":{"polluted":true}}`,
      `{"v":1,"id":"ctor-1","type":"state.set","session":"s1","time":"${at(4)}","key":"constructor","value":"c"}`,
      ...turn('s2', 't1', 60, 2),
      // Item 2: an hour behind the newest event, for a closed turn, with a deep unknown field.
      `{"v":1,"id":"late-deep","type":"tool.start","session":"s1","turn":"t1","time":"${at(0)}","toolCallId":"c","toolName":"x","extra":${deep(5000)}}`,
      ...turn('s2', 't2', 62, 3),
    ];
    const store = openEmbeddedStore({ dataDir });
    // Straight into the log, as an old store holds them (the decoder would reject them now).
    await store.log.append(raws.map((raw) => ({ event: JSON.parse(raw.replace(deep(5000), '0')) as never, raw })));
    store.close();

    const server = await startTurnstreamProcess(['--data-dir', dataDir]);
    try {
      await eventually('processed to the head', async () => (await server.health())['processed'] === raws.length);
      const health = await server.health();
      assert.equal(health['ok'], true, JSON.stringify(health));
      assert.equal(health['rejected'], 3);
      // Live ingest still works after them.
      const res = await fetch(`${server.url}/v1/events`, { method: 'POST', body: turn('s3', 't1', 63, 4).join('\n') });
      assert.equal(res.status, 200);
      await eventually('live events processed', async () => (await server.health())['processed'] === raws.length + 3);
    } finally {
      assert.equal(await server.stop(), 0);
    }
    // Item 12: the stopped line reports what was processed.
    const stopped = server
      .stderr()
      .split('\n')
      .find((l) => l.includes('"msg":"stopped"'));
    assert.match(stopped ?? '', new RegExp(`"processed":${raws.length + 3}`), server.stderr());

    const list = cli(['sessions', 'list', '--data-dir', dataDir]);
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /s1 .* \$0\.5000/);
    assert.match(list.stdout, /s2 .* \$5\.0000/);
    const show = cli(['sessions', 'show', 's1', '--data-dir', dataDir, '--json']);
    assert.equal(show.status, 0, show.stderr);
    const report = JSON.parse(show.stdout) as { totals: { cost: number; inputTokens: number }; state: Record<string, unknown> };
    assert.equal(report.totals.cost, 0.5);
    assert.equal(report.totals.inputTokens, 100);
    assert.deepEqual(Object.keys(report.state).sort(), ['__proto__', 'constructor']);
    assert.deepEqual(Object.getOwnPropertyDescriptor(report.state, '__proto__')?.value, { polluted: true });
    const text = cli(['sessions', 'show', 's1', '--data-dir', dataDir]);
    assert.match(text.stdout, /__proto__ = \{"polluted":true\}/);
    assert.match(text.stdout, /constructor = "c"/);
    const replay = cli(['replay', 's1', '--data-dir', dataDir, '--json']);
    assert.equal(replay.status, 0, replay.stderr);
    const replayed = JSON.parse(replay.stdout) as { state: Record<string, unknown>; totals: { cost: number } };
    assert.deepEqual(Object.keys(replayed.state).sort(), ['__proto__', 'constructor']);
    assert.equal(replayed.totals.cost, 0.5);
    const letters = cli(['dead-letters', '--data-dir', dataDir, '--json']);
    assert.equal(letters.status, 0, letters.stderr);
    const rows = (JSON.parse(letters.stdout) as { letters: { reason: string; eventId?: string }[] }).letters;
    assert.deepEqual(
      rows
        .filter((r) => r.reason === 'processing_error')
        .map((r) => r.eventId)
        .sort(),
      ['deep-1', 'inf-1', 'late-deep'],
    );

    // Item 4, display side: an old store whose totals hold null (a summed 1e309) lists and shows.
    const old = openEmbeddedStore({ dataDir });
    old.db.exec(
      `UPDATE state SET value = json_set(value, '$.cost', json('null'), '$.inputTokens', json('null')) WHERE session = 's2' AND key = '$turnstream/totals'`,
    );
    old.db.exec(`UPDATE turns SET body = json_set(body, '$.cost', json('null')) WHERE session = 's2'`);
    old.close();
    const list2 = cli(['sessions', 'list', '--data-dir', dataDir]);
    assert.equal(list2.status, 0, list2.stderr);
    assert.match(list2.stdout, /s2 .*invalid/);
    assert.match(list2.stdout, /s1 .* \$0\.5000/, 'the other sessions still list');
    const show2 = cli(['sessions', 'show', 's2', '--data-dir', dataDir]);
    assert.equal(show2.status, 0, show2.stderr);
    assert.match(show2.stdout, /cost invalid/);
    const replay2 = cli(['replay', 's2', '--data-dir', dataDir]);
    assert.equal(replay2.status, 0, replay2.stderr);

    // And a restart on the same store is healthy again, counting nothing twice.
    const again = await startTurnstreamProcess(['--data-dir', dataDir]);
    try {
      assert.equal((await again.health())['ok'], true);
      assert.equal((await again.health())['rejected'], 0, 'nothing dead-lettered twice');
    } finally {
      await again.stop();
    }
  });
});
