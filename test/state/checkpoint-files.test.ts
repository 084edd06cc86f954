import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/state/open-embedded-store.ts';
import type { Checkpoint } from '../../src/state/session-state-store.ts';

/** A format-3 checkpoint at `position` naming texts `ids` (those in `put` new). */
function checkpoint(position: number, ids: number[], put: number[]): Checkpoint {
  const byId = new Map(ids.map((id) => [id, `{"text":${id},"pad":"${'x'.repeat(200)}"}`] as const));
  return { format: 3, position, data: Buffer.from(JSON.stringify({ at: position, ids })), texts: { byId, put } };
}

const commitAt = (store: EmbeddedStore, position: number, c: Checkpoint) => store.state.commit({ writes: [], deltas: [], turns: [], position, checkpoint: c });

/** Waits until `check` holds (files are removed after the commit, off the thread). */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await sleep(10);
  assert.ok(check(), what);
}

describe('embedded store: checkpoints staged as files beside the database (real SQLite, real files)', () => {
  let dir: string;
  let files: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'turnstream-ckfiles-'));
    files = join(dir, 'checkpoints');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a staged checkpoint is committed by name: the row holds no bytes, the files do, and it reads back the same', async () => {
    const store = openEmbeddedStore({ dataDir: dir, writable: true });
    try {
      const c = checkpoint(10, [1, 2, 3], [1, 2, 3]);
      const staged = await store.state.stageCheckpoint!(c);
      assert.ok(staged.staged !== undefined && staged.staged.texts !== undefined, 'document and texts staged');
      assert.deepEqual(readdirSync(files).sort(), [staged.staged.doc, staged.staged.texts].sort());
      await commitAt(store, 10, staged);
      const row = store.db.prepare('SELECT length(data) AS n, file FROM checkpoint').get() as { n: number; file: string };
      assert.deepEqual({ ...row }, { n: 0, file: staged.staged.doc });
      const back = await store.state.checkpoint();
      assert.deepEqual(Buffer.from(back!.data), c.data);
      assert.deepEqual(
        [...back!.texts!.byId].map(([id, t]) => [id, Buffer.from(t).toString()]),
        [...c.texts!.byId].map(([id, t]) => [id, t]),
      );
    } finally {
      store.close();
    }
  });

  it('a later checkpoint removes the files no row names any more: the old document, segments it names nothing of', async () => {
    const store = openEmbeddedStore({ dataDir: dir, writable: true });
    try {
      const first = await store.state.stageCheckpoint!(checkpoint(10, [1, 2], [1, 2]));
      await commitAt(store, 10, first);
      const second = await store.state.stageCheckpoint!(checkpoint(20, [2, 3], [3]));
      await commitAt(store, 20, second);
      // Text 2 is still named: the first segment stays; only the first document goes.
      await eventually(() => !existsSync(join(files, first.staged!.doc)), 'the replaced document is removed');
      assert.deepEqual(readdirSync(files).sort(), [first.staged!.texts!, second.staged!.doc, second.staged!.texts!].sort());
      const third = await store.state.stageCheckpoint!(checkpoint(30, [3], []));
      await commitAt(store, 30, third);
      await eventually(() => readdirSync(files).length === 2, `two files left: ${readdirSync(files).join(', ')}`);
      assert.deepEqual(readdirSync(files).sort(), [second.staged!.texts!, third.staged!.doc].sort());
      assert.deepEqual([...(await store.state.checkpoint())!.texts!.byId.keys()], [3]);
    } finally {
      store.close();
    }
  });

  it('files staged but never committed (a crash) are swept when the server opens the store; readers leave them', async () => {
    const store = openEmbeddedStore({ dataDir: dir, writable: true });
    const kept = await store.state.stageCheckpoint!(checkpoint(10, [1], [1]));
    await commitAt(store, 10, kept);
    const orphan = await store.state.stageCheckpoint!(checkpoint(20, [1, 2], [2]));
    store.close();
    const reader = openEmbeddedStore({ dataDir: dir });
    reader.close();
    assert.ok(existsSync(join(files, orphan.staged!.doc)), 'a reader deletes nothing');
    const server = openEmbeddedStore({ dataDir: dir, writable: true });
    try {
      assert.deepEqual(readdirSync(files).sort(), [kept.staged!.doc, kept.staged!.texts!].sort());
      assert.equal((await server.state.checkpoint())!.position, 10);
    } finally {
      server.close();
    }
  });

  it('a staged checkpoint that will not be committed (dropped) has its files removed at once; the committed one keeps its own', async () => {
    const store = openEmbeddedStore({ dataDir: dir, writable: true });
    try {
      const kept = await store.state.stageCheckpoint!(checkpoint(10, [1], [1]));
      await commitAt(store, 10, kept);
      const dropped = await store.state.stageCheckpoint!(checkpoint(20, [1, 2], [2]));
      assert.equal(readdirSync(files).length, 4);
      store.state.unstageCheckpoint!(dropped);
      await eventually(() => readdirSync(files).length === 2, `the dropped checkpoint's two files removed: ${readdirSync(files).join(', ')}`);
      assert.deepEqual(readdirSync(files).sort(), [kept.staged!.doc, kept.staged!.texts!].sort());
      assert.equal((await store.state.checkpoint())!.position, 10);
    } finally {
      store.close();
    }
  });

  it('a document file that is gone reads as an empty (damaged) checkpoint, not an exception', async () => {
    const store = openEmbeddedStore({ dataDir: dir, writable: true });
    try {
      const c = await store.state.stageCheckpoint!(checkpoint(10, [1], [1]));
      await commitAt(store, 10, c);
      unlinkSync(join(files, c.staged!.doc));
      const back = await store.state.checkpoint();
      assert.equal(back!.data.byteLength, 0);
      assert.equal(back!.position, 10);
    } finally {
      store.close();
    }
  });
});
