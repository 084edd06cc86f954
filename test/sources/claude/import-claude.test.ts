import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { EventSink } from '../../../src/sources/claude/event-sink.ts';
import { importClaude } from '../../../src/sources/claude/import-claude.ts';
import type { OutgoingEvent } from '../../../src/sources/claude/mapped-event.ts';

const fixture = fileURLToPath(new URL('../../../../shared/fixtures/external/claude-parser-3a7770b4.jsonl', import.meta.url));
const lines = readFileSync(fixture, 'utf8')
  .split('\n')
  .filter((l) => l !== '');
const SESSION = '3a7770b4-aba3-46dd-b677-8fc2d71d4e06';

function memorySink(): EventSink & { events: OutgoingEvent[] } {
  const events: OutgoingEvent[] = [];
  return {
    target: 'memory',
    events,
    async send(batch) {
      events.push(...batch);
      return { accepted: batch.length, duplicate: 0, rejected: 0, rejections: [] };
    },
  };
}

describe('importClaude', () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnstream-import-claude-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('skips bad lines and unreadable files with a counted reason, and imports the rest', async () => {
    const root = join(dir, 'bad', 'projects');
    const project = join(root, '-home-me-proj');
    mkdirSync(project, { recursive: true });
    const body = [
      ...lines.slice(0, 4),
      '{"type":"assistant","timestamp":"2025-08-24T04:16:40.000Z", oops',
      '{"type":"hologram","timestamp":"2025-08-24T04:16:40.000Z"}',
      '{"type":"assistant","timestamp":"2025-08-24T04:16:40.500Z","uuid":"x","message":{"id":"msg_x","content":[]}}',
      ...lines.slice(4, 24),
    ].join('\n');
    writeFileSync(join(project, `${SESSION}.jsonl`), `${body}\n{"type":"user","timestamp":"2025-08-24T04:17:45`);
    symlinkSync(join(dir, 'nowhere'), join(project, 'dangling.jsonl'));
    mkdirSync(join(dir, 'a-directory'));
    symlinkSync(join(dir, 'a-directory'), join(project, 'not-a-file.jsonl'));
    const sink = memorySink();
    const r = await importClaude({ roots: [root], sink });
    assert.deepEqual(Object.fromEntries(r.stats.skipped), { malformed_json: 1, unknown_type: 1, no_usage: 1, truncated_last_line: 1, unreadable_file: 2 });
    assert.equal(r.stats.files, 3);
    const calls = sink.events.filter((e) => e.type === 'llm.usage');
    assert.equal(calls.length, 7, 'the 7 API calls of the first turn');
    assert.ok(sink.events.every((e) => e.session === SESSION));
    assert.equal(r.sessions[0]!.project, '-home-me-proj');
  });

  it('uses an unterminated last line that parses (a file that merely lacks its final newline)', async () => {
    const file = join(dir, 'no-final-newline.jsonl');
    writeFileSync(file, lines.slice(0, 3).join('\n'));
    const sink = memorySink();
    const r = await importClaude({ roots: [file], sink });
    assert.deepEqual(Object.fromEntries(r.stats.skipped), {});
    assert.deepEqual(
      sink.events.filter((e) => e.type === 'llm.usage').map((e) => (e as { outputTokens: number }).outputTokens),
      [98],
    );
  });

  it('leaves the last call and turn of a live transcript for later, and ends a quiet one', async () => {
    const file = join(dir, 'live.jsonl');
    writeFileSync(file, `${lines.slice(0, 24).join('\n')}\n`); // ends with the text-only final answer of turn 1
    const lastLineMs = Date.parse('2025-08-24T04:17:09.369Z');
    const live = memorySink();
    const r1 = await importClaude({ roots: [file], sink: live, nowMs: lastLineMs + 60_000 });
    assert.equal(r1.activeFiles, 1);
    assert.equal(live.events.filter((e) => e.type === 'llm.usage').length, 6, 'the 7th call may still be streaming');
    assert.deepEqual(
      live.events.filter((e) => e.type.endsWith('.end') && e.type !== 'tool.end'),
      [],
    );

    const quiet = memorySink();
    const r2 = await importClaude({ roots: [file], sink: quiet, nowMs: lastLineMs + 11 * 60_000 });
    assert.equal(r2.activeFiles, 0);
    assert.equal(quiet.events.filter((e) => e.type === 'llm.usage').length, 7);
    assert.deepEqual(
      quiet.events.slice(-2).map((e) => e.type),
      ['turn.end', 'session.end'],
    );
    const ids = new Set(quiet.events.map((e) => e.id));
    assert.ok(
      live.events.every((e) => ids.has(e.id)),
      'the later import repeats every id of the earlier one: they are deduplicated',
    );
  });

  it('sends events of all files in event-time order', async () => {
    const sink = memorySink();
    await importClaude({ roots: [fileURLToPath(new URL('../../../../shared/fixtures/external/claude-projects/', import.meta.url))], sink });
    const times = sink.events.map((e) => Date.parse(e.time as string));
    assert.ok(times.every((t, i) => i === 0 || times[i - 1]! <= t));
  });
});
