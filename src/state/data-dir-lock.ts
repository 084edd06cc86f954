import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !zombie(pid);
}

/**
 * Whether `pid` has exited but is not reaped yet (state Z): right after a kill -9 its pid still
 * answers signal 0 until its parent waits for it, yet it holds nothing. Linux only; elsewhere no
 * /proc, and the pid counts as alive.
 */
function zombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S …": comm may hold spaces and parentheses, so the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

/** Lock files this process holds: its own pid in a lock file it does not hold is a stale one. */
const held = new Set<string>();

/**
 * One writer per embedded data directory: `turnstream start` (or `send --data-dir`) holds
 * `<dataDir>/turnstream.lock` with its pid. A second lock throws `ConfigError` naming the holder's
 * pid, also within the holding process. A lock left by a killed process (its pid is gone) is taken
 * over (also while its pid is a zombie, exited but not reaped yet), and so is one holding this process's own pid that this process does not hold (the pid was
 * reused after a restart, as pid 1 is in a container). Readers (`sessions`) need no lock: SQLite WAL
 * lets them read alongside the writer.
 */
export function lockDataDir(dataDir: string): { release(): void } {
  const path = resolve(join(dataDir, 'turnstream.lock'));
  if (held.has(path)) {
    throw new ConfigError(
      `data dir ${dataDir} is in use by turnstream (pid ${process.pid}, this process); open it once and share it, or stop the other user first`,
    );
  }
  // The pid is written to a private file first and then hard-linked into place: the lock file
  // appears atomically with its content, so no one can read it empty and mistake it for stale.
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, String(process.pid));
  try {
    return acquire(path, tmp, dataDir);
  } finally {
    rmSync(tmp, { force: true });
  }
}

function acquire(path: string, tmp: string, dataDir: string): { release(): void } {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      linkSync(tmp, path);
      held.add(path);
      let released = false;
      return {
        release: () => {
          if (released) return;
          released = true;
          held.delete(path);
          rmSync(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new ConfigError(`data dir ${dataDir} is in use by turnstream (pid ${pid}); send events to that server with --url, or stop it first`);
      }
      rmSync(path, { force: true }); // stale: its process is gone
    }
  }
  throw new ConfigError(`could not lock data dir ${dataDir} (${path}); remove the file if no turnstream is running`);
}
