import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The big bytes of the embedded store's checkpoints (the document and the text segments), each a
 * file in `dir` that the SQLite rows name. Written and synced on libuv's threads before the commit
 * that names them (`stage`), so the processor's thread never copies them into SQLite's WAL: at 100k
 * events of the bench that was ~12 MB and 60–90 ms inside one commit on the bench machine, and the
 * WAL checkpoint copied it all again into the database.
 *
 * A file no row names is an orphan: staged by a checkpoint that was never committed (a crash, a
 * checkpoint dropped), or replaced by a later one whose removal did not happen. `sweep` deletes
 * those; the server runs it at open, before it stages anything.
 */
export class CheckpointFiles {
  readonly dir: string;
  private made = false;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Writes `bytes` to a new file (name starting with `prefix`) and syncs it and the directory: its name, once it is durable. */
  async stage(prefix: string, bytes: Uint8Array): Promise<string> {
    if (!this.made) {
      mkdirSync(this.dir, { recursive: true });
      this.made = true;
    }
    const name = `${prefix}-${randomBytes(6).toString('hex')}.bin`;
    const file = await open(join(this.dir, name), 'wx');
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    // The name must be durable too before a commit names it.
    const dir = await open(this.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    return name;
  }

  /** The bytes of a file a row names (throws when it is gone: the caller reports a damaged checkpoint). */
  read(name: string): Buffer {
    return readFileSync(join(this.dir, name));
  }

  /** Removes files no row names any more (after the commit that stopped naming them). Best effort: an orphan left is swept at the next open. */
  remove(names: readonly string[]): void {
    for (const name of names) unlink(join(this.dir, name)).catch(() => undefined);
  }

  /** Deletes every file in `dir` not in `named` (orphans of checkpoints never committed). */
  sweep(named: ReadonlySet<string>): void {
    let entries: string[];
    try {
      entries = readdirSync(this.dir);
    } catch {
      return; // no directory yet: nothing staged
    }
    for (const name of entries) if (!named.has(name)) rmSync(join(this.dir, name), { force: true });
  }
}
