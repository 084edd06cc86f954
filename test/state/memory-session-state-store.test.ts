import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemorySessionStateStore, emptyMemoryStateData } from '../../src/state/memory-session-state-store.ts';
import { sessionStateStoreContract } from './session-state-store.contract.ts';

sessionStateStoreContract('MemorySessionStateStore', async () => {
  const data = emptyMemoryStateData();
  let store = new MemorySessionStateStore(data);
  return {
    store,
    reopen: async () => {
      await store.close();
      store = new MemorySessionStateStore(data);
      return store;
    },
    cleanup: async () => store.close(),
  };
});

describe('MemorySessionStateStore', () => {
  it('hands out copies: mutating what was written or read changes nothing stored', async () => {
    const store = new MemorySessionStateStore();
    const value = { list: [1, 2] };
    await store.set('s', 'k', value, { time: 1, seq: -1, id: 'a' });
    value.list.push(3);
    const read = await store.get('s', 'k');
    assert.ok(read !== undefined);
    (read.value as { list: number[] }).list.push(4);
    assert.deepEqual(await store.list('s'), { k: { list: [1, 2] } });
  });

  it('two stores over separate data never see each other', async () => {
    const a = new MemorySessionStateStore();
    const b = new MemorySessionStateStore();
    await a.set('s', 'k', 1, { time: 1, seq: -1, id: 'a' });
    assert.equal(await b.get('s', 'k'), undefined);
  });
});
