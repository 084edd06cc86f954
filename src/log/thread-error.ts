/** An error as it crosses the thread boundary: what `storageFault` and the logs read of it. */
export interface ThreadError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly errcode?: number;
  readonly errstr?: string;
}

export function threadError(error: unknown): ThreadError {
  const e = (error ?? {}) as { name?: unknown; message?: unknown; code?: unknown; errcode?: unknown; errstr?: unknown };
  return {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: typeof e.message === 'string' ? e.message : String(error),
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.errcode === 'number' ? { errcode: e.errcode } : {}),
    ...(typeof e.errstr === 'string' ? { errstr: e.errstr } : {}),
  };
}
