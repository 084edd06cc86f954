import type { Worker } from 'node:worker_threads';

/**
 * Resolves once `worker` says it is ready, rejects with the error it reports instead (`answer`
 * maps each message: 'ready', an Error, or undefined to keep waiting) or when it exits first
 * (`what` names the thread in that error).
 */
export function threadReady<M>(worker: Worker, answer: (m: M) => 'ready' | Error | undefined, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const settle = (error?: Error): void => {
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onMessage = (m: M): void => {
      const a = answer(m);
      if (a === 'ready') settle();
      else if (a !== undefined) settle(a);
    };
    const onExit = (code: number): void => settle(new Error(`${what} exited (${code}) before opening the store`));
    worker.on('message', onMessage);
    worker.on('exit', onExit);
  });
}
