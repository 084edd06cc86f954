import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TurnstreamError } from '../errors.ts';
import { openEmbeddedStore, type EmbeddedStore } from '../state/open-embedded-store.ts';

/** Opens an existing embedded store for the read-only commands; a clear error if there is none. */
export function openStoreForReading(dataDir: string): EmbeddedStore {
  const dir = resolve(dataDir);
  if (!existsSync(join(dir, 'turnstream.db'))) {
    throw new TurnstreamError(`no turnstream data in ${dir}; run 'turnstream start' (or 'turnstream send FILE --data-dir ${dataDir}') first, or point --data-dir at the right directory`);
  }
  return openEmbeddedStore({ dataDir: dir });
}
