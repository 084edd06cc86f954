/**
 * The live JavaScript heap of a child process started with `--inspect=127.0.0.1:0` (say, through
 * `NODE_OPTIONS`), read over its inspector: a full garbage collection, then the bytes still in
 * use. Unlike RSS, this does not depend on when the child last collected garbage or how full its
 * SQLite page caches are, so two runs of the same traffic agree to within a few MB.
 */
export interface HeapProbe {
  /** Live heap bytes of the child's main thread after a full collection. */
  liveBytes(): Promise<number>;
  close(): void;
}

/** Connects to the inspector whose `ws://` address the child printed on stderr (`stderr()`). */
export async function openHeapProbe(stderr: () => string, timeoutMs = 10_000): Promise<HeapProbe> {
  const deadline = Date.now() + timeoutMs;
  const addressOf = (): string | undefined => /Debugger listening on (ws:\/\/\S+)/.exec(stderr())?.[1];
  while (addressOf() === undefined) {
    if (Date.now() > deadline) throw new Error(`no inspector address on the child's stderr within ${timeoutMs} ms: ${stderr().slice(-500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const address = addressOf()!;
  const ws = new WebSocket(address);
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`cannot connect to the inspector at ${address}`));
  });
  let next = 0;
  const pending = new Map<number, (m: { result?: Record<string, unknown>; error?: { message: string } }) => void>();
  ws.onmessage = (m: MessageEvent) => {
    const d = JSON.parse(String(m.data)) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
    if (d.id !== undefined) pending.get(d.id)?.(d);
    if (d.id !== undefined) pending.delete(d.id);
  };
  const call = (method: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const id = ++next;
      pending.set(id, (d) => (d.error === undefined ? resolve(d.result ?? {}) : reject(new Error(`${method}: ${d.error.message}`))));
      ws.send(JSON.stringify({ id, method }));
    });
  return {
    liveBytes: async () => {
      await call('HeapProfiler.collectGarbage');
      const usage = await call('Runtime.getHeapUsage');
      return usage['usedSize'] as number;
    },
    close: () => ws.close(),
  };
}
