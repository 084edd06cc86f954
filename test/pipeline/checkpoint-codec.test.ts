import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCheckpoint, encodeCheckpointKeptTextsSteps, encodeCheckpointSteps, type OpenWork } from '../../src/pipeline/checkpoint-codec.ts';
import { drain } from '../../src/pipeline/steps.ts';
import { CheckpointTextIds } from '../../src/pipeline/checkpoint-text-ids.ts';
import { textOf, type SnapshotText } from '../../src/streams/snapshot-text.ts';

const SETTINGS = '{"s":1}';

/** Open work whose windows hold `texts` (the held-turn list is opaque to the codec). */
const work = (texts: SnapshotText[]): OpenWork => ({
  windows: { v: 2, held: { wm: 1, bucket: 0, clock: 1, sessions: [], turns: [] }, texts },
  poisoned: [[9, 'bad']],
});

const textsOf = (w: OpenWork): string[] => w.windows.texts.map(textOf);

describe('checkpoint codec', () => {
  it('format 2 (texts inside, what Kafka stores) round-trips, and a blob cut short says so', () => {
    const c = drain(encodeCheckpointSteps(40, SETTINGS, work(['{"a":1}', '{"b":"é"}'])));
    assert.equal(c.format, 2);
    const d = decodeCheckpoint(c, SETTINGS, 40);
    assert.ok(d.ok);
    assert.deepEqual(textsOf(d.work), ['{"a":1}', '{"b":"é"}']);
    assert.equal(d.kept, undefined);
    const cut = decodeCheckpoint({ ...c, data: c.data.subarray(0, c.data.byteLength / 2) }, SETTINGS, 40);
    assert.ok(!cut.ok);
    assert.match(cut.reason, /damaged \(.*cut short\)/);
  });

  it('format 3 names texts by id; decoding takes them from the kept texts, and a missing one is damage', () => {
    const ids = new CheckpointTextIds();
    const taken = ids.take(['{"a":1}', '{"b":2}', '{"a":1}']);
    assert.deepEqual(taken.ids, [1, 2, 1], 'equal texts share one id');
    assert.equal(taken.texts.full, true, 'the first checkpoint replaces whatever is kept');
    const c = drain(encodeCheckpointKeptTextsSteps(50, SETTINGS, work(['{"a":1}', '{"b":2}', '{"a":1}']), taken));
    assert.equal(c.format, 3);
    const d = decodeCheckpoint(c, SETTINGS, 50);
    assert.ok(d.ok);
    assert.deepEqual(textsOf(d.work), ['{"a":1}', '{"b":2}', '{"a":1}']);
    assert.deepEqual(d.kept, { ids: [1, 2, 1], nextId: 3 });
    assert.deepEqual(d.work.poisoned, [[9, 'bad']]);
    // As a store reads them back: bytes.
    const bytes = new Map([[1, Buffer.from('{"a":1}')]]);
    const missing = decodeCheckpoint({ ...c, texts: { byId: bytes } }, SETTINGS, 50);
    assert.ok(!missing.ok);
    assert.match(missing.reason, /its text 2 is not kept/);
  });

  it('text ids: a later checkpoint puts only new texts and drops the released ones; an uncommitted one changes nothing', () => {
    const ids = new CheckpointTextIds();
    ids.take(['a', 'b']).committed();
    const second = ids.take(['b', 'c']);
    assert.deepEqual(second.ids, [2, 3]);
    assert.deepEqual(second.texts.put, [3]);
    assert.deepEqual([...second.texts.byId.keys()], [2, 3], 'text 1 is no longer named: the store drops it');
    assert.equal(second.texts.full, undefined);
    // Not committed (a storage fault): the next checkpoint is computed against what is kept still.
    const third = ids.take(['b', 'd']);
    assert.deepEqual(third.ids, [2, 3]);
    assert.deepEqual(third.texts.put, [3]);
    assert.deepEqual([...third.texts.byId.keys()], [2, 3], 'text 1 is no longer named: the store drops it');
    third.committed();
    assert.deepEqual([...ids.take(['d']).texts.byId.keys()], [3], 'text 2 is no longer named: the store drops it');
  });

  it('text ids after a restore: restored texts (views of stored bytes) are known by identity; after a reset all are put again', () => {
    const ids = new CheckpointTextIds();
    const bytes = Buffer.from('xy');
    const x: SnapshotText = { bytes, start: 0, end: 1 };
    const y: SnapshotText = { bytes, start: 1, end: 2 };
    ids.restored([x, y], [7, 8], 9);
    const t = ids.take([y, 'z']);
    assert.deepEqual(t.ids, [8, 9]);
    assert.deepEqual(t.texts.put, [9]);
    assert.deepEqual([...t.texts.byId.keys()], [8, 9], 'text 7 is no longer named: the store drops it');
    assert.deepEqual(t.texts.byId.get(8), Buffer.from('y'), 'kept as a view of the bytes, not copied to a string');
    ids.reset();
    const full = ids.take([y, 'z']);
    assert.equal(full.texts.full, true);
    assert.deepEqual([...full.texts.put!].sort(), [...full.ids].sort());
  });
});
