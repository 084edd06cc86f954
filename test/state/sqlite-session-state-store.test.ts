import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedStore } from '../../src/state/open-embedded-store.ts';
import { sessionStateStoreContract } from './session-state-store.contract.ts';

sessionStateStoreContract('SqliteSessionStateStore', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'turnstream-'));
  let store = openEmbeddedStore({ dataDir });
  return {
    store: store.state,
    reopen: async () => {
      await store.state.close();
      store.close();
      store = openEmbeddedStore({ dataDir });
      return store.state;
    },
    cleanup: async () => {
      await store.state.close();
      store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
});
