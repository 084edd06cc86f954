import { basename } from 'node:path';
import { describeTranscriptPath, findTranscripts, type TranscriptPathInfo } from './find-transcripts.ts';
import type { ImportStats } from './import-stats.ts';
import type { MappedEvent } from './mapped-event.ts';
import { parseTranscriptLine, type ParsedLine } from './transcript-line.ts';
import { TranscriptMapper } from './transcript-mapper.ts';
import { TranscriptTail } from './transcript-tail.ts';

interface Tracked {
  readonly info: TranscriptPathInfo;
  readonly tail: TranscriptTail;
  mapper: TranscriptMapper | undefined;
  /** Wall-clock time the file was last seen growing while watched; -Infinity for what was there at start. */
  grewAtMs: number;
  unreadable: boolean;
}

export interface SettleOptions {
  /** Wall clock, epoch ms. */
  readonly nowMs: number;
  /** A file quiet this long has its pending calls sent (`TranscriptMapper.seal`). */
  readonly sealAfterMs: number;
  /** A file quiet this long is over: its session ends (`TranscriptMapper.finish`). */
  readonly finishAfterMs: number;
}

/**
 * The transcripts under some roots, each followed from where it was last read. `discover()` adds
 * files that appeared; `read()` maps what was appended since; `settle()` decides, from how long
 * each file has been quiet, which pending calls to send and which sessions are over. "Quiet" is
 * measured from the later of the file's last line time and the moment it was last seen growing,
 * so history is settled at once while a live session is left open.
 */
export class TranscriptSet {
  private readonly roots: readonly string[];
  private readonly stats: ImportStats;
  private readonly tracked = new Map<string, Tracked>();
  private readonly badRoots = new Set<string>();

  constructor(options: { roots: readonly string[]; stats: ImportStats }) {
    this.roots = options.roots;
    this.stats = options.stats;
  }

  get paths(): string[] {
    return [...this.tracked.keys()];
  }

  /** Finds files not tracked yet; returns their paths. Unreadable directories count once each. */
  discover(): string[] {
    const added: string[] = [];
    for (const root of this.roots) {
      const { files, errors } = findTranscripts(root);
      for (const e of errors) {
        if (this.badRoots.has(e.path)) continue;
        this.badRoots.add(e.path);
        this.stats.skip('unreadable_file');
      }
      for (const path of files) {
        if (this.tracked.has(path)) continue;
        const info = describeTranscriptPath(path);
        this.tracked.set(path, { info, tail: new TranscriptTail(path), mapper: undefined, grewAtMs: Number.NEGATIVE_INFINITY, unreadable: false });
        this.stats.files++;
        if (info.subagentFile) this.stats.subagentFiles++;
        else this.stats.mainFiles++;
        added.push(path);
      }
    }
    return added;
  }

  /**
   * Reads what every tracked file (or only `paths`) gained and returns the mapped events, in file
   * order per file. `grewAtMs`: the wall clock to record as "last seen growing" (when watching).
   * `onFile` reports bytes read, for progress.
   */
  read(options: { paths?: readonly string[]; grewAtMs?: number; onFile?: (bytes: number) => void } = {}): MappedEvent[] {
    const events: MappedEvent[] = [];
    for (const path of options.paths ?? this.tracked.keys()) {
      const f = this.tracked.get(path);
      if (f === undefined) continue;
      const r = f.tail.read();
      if (!r.ok) {
        // Gone after it was read: deleted, nothing left to follow. Gone before: a dangling link.
        if ((r.error as NodeJS.ErrnoException).code === 'ENOENT' && f.tail.position > 0) this.tracked.delete(path);
        else if (!f.unreadable) {
          f.unreadable = true;
          this.stats.skip('unreadable_file');
        }
        continue;
      }
      f.unreadable = false;
      if (r.restarted) f.mapper = undefined;
      this.stats.bytes += r.bytes;
      if (r.bytes > 0 && options.grewAtMs !== undefined) f.grewAtMs = options.grewAtMs;
      this.feed(f, r.lines.map(parseTranscriptLine));
      options.onFile?.(r.bytes);
      if (f.mapper !== undefined) for (const e of f.mapper.drain()) events.push(e);
    }
    return events;
  }

  /**
   * End of a one-shot import: a file's unterminated last line is used if it parses (a file that
   * merely lacks its final newline), else counted as `truncated_last_line`.
   */
  takePartialLines(): MappedEvent[] {
    const events: MappedEvent[] = [];
    for (const f of this.tracked.values()) {
      const partial = f.tail.partial;
      if (partial.trim() === '') continue;
      f.tail.dropPartial();
      const parsed = parseTranscriptLine(partial);
      if (parsed.kind === 'skipped' && parsed.reason === 'malformed_json') {
        this.stats.lines++;
        this.stats.skip('truncated_last_line');
        continue;
      }
      this.feed(f, [parsed]);
      if (f.mapper !== undefined) for (const e of f.mapper.drain()) events.push(e);
    }
    return events;
  }

  /**
   * Seals or finishes files by how long they have been quiet (see `SettleOptions`); a file written
   * to more recently still has its complete calls (stop reason written) sent.
   */
  settle(o: SettleOptions): MappedEvent[] {
    const events: MappedEvent[] = [];
    for (const f of this.tracked.values()) {
      const m = f.mapper;
      if (m === undefined) continue;
      const quietMs = o.nowMs - Math.max(m.lastLineMs, f.grewAtMs);
      if (quietMs >= o.finishAfterMs) m.finish();
      else if (quietMs >= o.sealAfterMs) m.seal();
      else m.sealFinished();
      for (const e of m.drain()) events.push(e);
    }
    return events;
  }

  /** Files whose session is still open (quiet for less than `finishAfterMs`). */
  active(o: SettleOptions): number {
    let n = 0;
    for (const f of this.tracked.values()) {
      if (f.mapper !== undefined && o.nowMs - Math.max(f.mapper.lastLineMs, f.grewAtMs) < o.finishAfterMs) n++;
    }
    return n;
  }

  private feed(f: Tracked, parsed: readonly ParsedLine[]): void {
    for (const p of parsed) {
      this.stats.lines++;
      if (p.kind === 'ignored') this.stats.ignoredLines++;
      else if (p.kind === 'skipped') this.stats.skip(p.reason);
      else {
        f.mapper ??= this.mapperFor(f.info, p.line.sessionId);
        f.mapper.line(p.line, p.timeMs);
      }
    }
  }

  /**
   * The mapper of a file, created at its first usable line: a session id from the path when the
   * path follows Claude Code's layout, else the line's `sessionId`, else the file name.
   */
  private mapperFor(info: TranscriptPathInfo, lineSession: unknown): TranscriptMapper {
    const session = info.session ?? (typeof lineSession === 'string' && lineSession !== '' ? lineSession : basename(info.path, '.jsonl'));
    return new TranscriptMapper({
      session,
      subagentFile: info.subagentFile,
      stats: this.stats,
      ...(info.agentId === undefined ? {} : { agentId: info.agentId }),
      ...(info.project === undefined ? {} : { project: info.project }),
    });
  }
}
