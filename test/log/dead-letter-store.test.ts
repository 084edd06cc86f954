import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeadLetter } from '../../src/events/reject-reason.ts';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/state/open-embedded-store.ts';

const AT = Date.parse('2025-06-01T12:00:00Z');

/** Inputs as received: non-ASCII, astral characters, a line that is not JSON, odd whitespace. */
const RAW = {
  unicode: '{"v":1,"id":"é-😀","session":"日本語","type":"turn.start","time":"2025-06-01T12:00:00Z","turn":"ü"}',
  notJson: 'this is not JSON { "v": 1, ,, \u00ff\u2028 ',
  whitespace: '  {"v":2}\t\r',
  escapes: '{"s":"\\u00e9\\n\\"quoted\\""}',
  control: 'nul:\u0000 bell:\u0007 end',
};

function letter(reason: DeadLetter['reason'], raw: string, extra: Partial<DeadLetter> = {}): DeadLetter {
  return { reason, raw, message: `${reason}: something is wrong`, source: 'http', at: AT, ...extra };
}

describe('SqliteDeadLetterStore', () => {
  let dataDir: string;
  let store: EmbeddedStore;

  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'turnstream-'));
    store = openEmbeddedStore({ dataDir });
  });
  after(() => {
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts empty', async () => {
    assert.deepEqual(await store.deadLetters.list(), []);
    assert.deepEqual(await store.deadLetters.countByReason(), {});
    await store.deadLetters.put([]);
    assert.deepEqual(await store.deadLetters.list(), []);
  });

  it('keeps every field and the raw text exactly, in put order', async () => {
    const letters: DeadLetter[] = [
      letter('schema', RAW.unicode, { session: '日本語', eventId: 'é-😀', source: 'file:/tmp/ä.ndjson' }),
      letter('invalid_json', RAW.notJson, { message: 'Unexpected token \'h\', "this is not"... is not valid JSON' }),
      letter('unknown_version', RAW.whitespace, { at: AT + 1 }),
      letter('duplicate', RAW.escapes, { session: 's1', eventId: 'e1', source: 'stdin' }),
      letter('invalid_json', RAW.control),
    ];
    await store.deadLetters.put(letters);
    const listed = await store.deadLetters.list();
    assert.deepEqual(listed, letters);
    for (const [i, l] of listed.entries()) {
      assert.equal(Buffer.compare(Buffer.from(l.raw, 'utf8'), Buffer.from(letters[i]!.raw, 'utf8')), 0, `raw bytes of letter ${i}`);
    }
    assert.equal('session' in listed[1]!, false, 'an absent session stays absent');
    assert.equal('eventId' in listed[1]!, false, 'an absent event id stays absent');
  });

  it('lists by reason and honours the limit', async () => {
    await store.deadLetters.put([letter('late', '{"late":1}', { source: 'pipeline' }), letter('late', '{"late":2}', { source: 'pipeline' })]);
    assert.deepEqual(
      (await store.deadLetters.list({ reason: 'invalid_json' })).map((l) => l.raw),
      [RAW.notJson, RAW.control],
    );
    assert.deepEqual(
      (await store.deadLetters.list({ reason: 'late' })).map((l) => l.raw),
      ['{"late":1}', '{"late":2}'],
    );
    assert.deepEqual(
      (await store.deadLetters.list({ reason: 'late', limit: 1 })).map((l) => l.raw),
      ['{"late":1}'],
    );
    assert.deepEqual(await store.deadLetters.list({ reason: 'too_large' }), []);
    assert.equal((await store.deadLetters.list({ limit: 3 })).length, 3);
    assert.equal((await store.deadLetters.list()).length, 7);
  });

  it('the default list limit is 100', async () => {
    await store.deadLetters.put(Array.from({ length: 120 }, (_, i) => letter('time_skew', `{"i":${i}}`)));
    assert.equal((await store.deadLetters.list()).length, 100);
    assert.equal((await store.deadLetters.list({ reason: 'time_skew', limit: 1000 })).length, 120);
  });

  it('counts by reason', async () => {
    assert.deepEqual(await store.deadLetters.countByReason(), {
      schema: 1,
      invalid_json: 2,
      unknown_version: 1,
      duplicate: 1,
      late: 2,
      time_skew: 120,
    });
  });

  it('survives close and reopen', async () => {
    const before = await store.deadLetters.list({ limit: 1000 });
    store.close();
    store = openEmbeddedStore({ dataDir });
    assert.deepEqual(await store.deadLetters.list({ limit: 1000 }), before);
    assert.equal((await store.deadLetters.countByReason()).time_skew, 120);
  });
});
