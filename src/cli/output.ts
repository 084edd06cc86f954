/**
 * The CLI's output layer: the only place that writes to stdout (results) and to stderr (progress
 * and human messages). Everything else logs through the logger.
 */
export const out = {
  line(text = ''): void {
    process.stdout.write(`${text}\n`);
  },
  json(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  },
  note(text: string): void {
    process.stderr.write(`${text}\n`);
  },
  /** A one-line progress indicator on a terminal; silent when stderr is not a TTY. */
  progress(text: string): void {
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${text}`);
  },
  progressDone(): void {
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
  },
};
