import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One writer per embedded data directory: `turnstream start` (or `send --data-dir`) holds
 * `<dataDir>/turnstream.lock` with its pid. A lock left by a killed process (its pid is gone) is
 * taken over. Readers (`sessions`) need no lock: SQLite WAL lets them read alongside the writer.
 */
export function lockDataDir(dataDir: string): { release(): void } {
  const path = join(dataDir, 'turnstream.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return {
        release: () => {
          if (released) return;
          released = true;
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
