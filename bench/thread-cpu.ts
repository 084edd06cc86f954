import { readdirSync, readFileSync } from 'node:fs';

/** CPU seconds (user + system) of this process's threads by name (Linux `/proc/self/task`), tids of one name summed. */
export function threadCpu(): Map<string, number> {
  const byName = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return byName; // not Linux: the split has no CPU rows
  }
  const tick = 100; // USER_HZ: 100 on every Linux Node supports
  for (const tid of tids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const close = stat.lastIndexOf(')');
    const name = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    byName.set(name, (byName.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / tick);
  }
  return byName;
}

/**
 * CPU seconds each kind of thread spent since `before`: the main thread, the log writer, span and WAL
 * checkpoint threads (by the names the pipeline gives them; Linux cuts names to 15 characters), and
 * the rest (V8's GC and compiler helpers, libuv's pool). Threads that ended meanwhile are not counted.
 */
export function cpuSince(before: Map<string, number>): { main: number; logWriter: number; spans: number; walCheckpoint: number; other: number } {
  const out = { main: 0, logWriter: 0, spans: 0, walCheckpoint: 0, other: 0 };
  for (const [name, s] of threadCpu()) {
    const d = Math.max(0, s - (before.get(name) ?? 0));
    if (name === 'MainThread' || name === 'node') out.main += d;
    else if (name.startsWith('turnstream-log')) out.logWriter += d;
    else if (name.startsWith('turnstream-spa')) out.spans += d;
    else if (name.startsWith('turnstream-wal')) out.walCheckpoint += d;
    else out.other += d;
  }
  return out;
}
