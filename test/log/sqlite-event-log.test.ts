import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedStore } from '../../src/state/open-embedded-store.ts';
import { eventLogContract } from './event-log.contract.ts';

eventLogContract('SqliteEventLog', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'turnstream-'));
  let store = openEmbeddedStore({ dataDir });
  return {
    log: store.log,
    reopen: async () => {
      await store.log.close();
      store.close();
      store = openEmbeddedStore({ dataDir });
      return store.log;
    },
    cleanup: async () => {
      await store.log.close();
      store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
});
