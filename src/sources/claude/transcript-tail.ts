import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';

/** What one `read()` found. */
export type TailRead =
  | { readonly ok: true; readonly lines: string[]; readonly bytes: number; readonly restarted: boolean }
  | { readonly ok: false; readonly error: Error };

const CHUNK_BYTES = 1 << 20;
const NEWLINE = 0x0a;

/**
 * Follows one append-only JSONL file: each `read()` returns the complete lines written since the
 * last one (LF or CRLF; blank lines dropped) and keeps an unterminated last line back until its
 * newline arrives — a line Claude Code is still writing. Splitting on the newline byte is safe in
 * UTF-8 (it never occurs inside a multi-byte character), and each line is decoded whole.
 * A file that got shorter was replaced or truncated: it is read again from the start
 * (`restarted`), which is harmless because imported event ids repeat and are deduplicated.
 * Errors (unreadable, vanished file) are returned, never thrown.
 */
export class TranscriptTail {
  readonly path: string;
  private offset = 0;
  private carry: Buffer = Buffer.alloc(0);

  constructor(path: string) {
    this.path = path;
  }

  /** Bytes consumed so far, including a held-back partial line. */
  get position(): number {
    return this.offset;
  }

  /** The unterminated last line held back, if any (decoded; '' when none). */
  get partial(): string {
    return this.carry.toString('utf8');
  }

  /** Forgets the held-back partial line (it was dealt with at end of import). */
  dropPartial(): void {
    this.carry = Buffer.alloc(0);
  }

  read(): TailRead {
    let fd: number;
    try {
      // Followed files are checked every second: skip the open when nothing was appended.
      if (this.offset > 0 && statSync(this.path).size === this.offset) return { ok: true, lines: [], bytes: 0, restarted: false };
      fd = openSync(this.path, 'r');
    } catch (error) {
      return { ok: false, error: error as Error };
    }
    try {
      const size = fstatSync(fd).size;
      let restarted = false;
      if (size < this.offset) {
        this.offset = 0;
        this.carry = Buffer.alloc(0);
        restarted = true;
      }
      const lines: string[] = [];
      const start = this.offset;
      while (this.offset < size) {
        const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, size - this.offset));
        const n = readSync(fd, chunk, 0, chunk.length, this.offset);
        if (n === 0) break;
        this.offset += n;
        this.split(this.carry.length === 0 ? chunk.subarray(0, n) : Buffer.concat([this.carry, chunk.subarray(0, n)]), lines);
      }
      return { ok: true, lines, bytes: this.offset - start, restarted };
    } catch (error) {
      return { ok: false, error: error as Error };
    } finally {
      closeSync(fd);
    }
  }

  private split(buf: Buffer, lines: string[]): void {
    let from = 0;
    for (let nl = buf.indexOf(NEWLINE, from); nl !== -1; nl = buf.indexOf(NEWLINE, from)) {
      const end = nl > from && buf[nl - 1] === 0x0d ? nl - 1 : nl;
      if (end > from) {
        const line = buf.toString('utf8', from, end);
        if (line.trim() !== '') lines.push(line);
      }
      from = nl + 1;
    }
    // Copied: the chunk buffer is not reused, but a subarray would pin the whole chunk.
    this.carry = from >= buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(from));
  }
}
