import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventLog } from '../../src/log/event-log.ts';
import { LogWriter } from '../../src/log/log-writer.ts';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/state/open-embedded-store.ts';
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

/**
 * The embedded server's arrangement: appends on the log writer thread (its own connection),
 * reads through the main thread's connection to the same file. Every guarantee of the contract
 * (positions in order, dedupe across batches and reopen, durability) must hold across the two.
 */
eventLogContract('SqliteEventLog appended by the LogWriter thread', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'turnstream-'));
  const open = async (): Promise<{ store: EmbeddedStore; writer: LogWriter; log: EventLog }> => {
    const store = openEmbeddedStore({ dataDir, writable: true });
    const writer = await LogWriter.start({ dataDir, db: store.db });
    const log: EventLog = {
      dedupesOnAppend: true,
      append: (batch) => writer.append(batch),
      read: (options) => store.log.read(options),
      head: () => store.log.head(),
      close: async () => {
        await writer.close();
        store.close();
      },
    };
    return { store, writer, log };
  };
  let current = await open();
  return {
    log: current.log,
    reopen: async () => {
      await current.log.close();
      current = await open();
      return current.log;
    },
    cleanup: async () => {
      await current.log.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
});
