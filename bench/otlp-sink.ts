/**
 * An OTLP/HTTP trace receiver for benchmarks, in a child process (its CPU is not the pipeline's
 * event loop): answers every POST with success, counts requests and bytes. The span exporter under
 * test then does all an exporter does (batch, serialise, send, wait for the answer) with a peer
 * that costs nothing to wait for.
 *
 *   const sink = await startOtlpSink(); … env OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = sink.url … await sink.stop()
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OtlpSink {
  /** The traces URL (`http://127.0.0.1:port/v1/traces`). */
  readonly url: string;
  /** Stops the child; resolves to what it received. */
  stop(): Promise<{ requests: number; bytes: number }>;
}

export async function startOtlpSink(): Promise<OtlpSink> {
  const child: ChildProcess = spawn(process.execPath, [new URL(import.meta.url).pathname, '--serve'], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const port = await new Promise<number>((ok, fail) => {
    child.once('message', (m) => ok((m as { port: number }).port));
    child.once('exit', (code) => fail(new Error(`bench/otlp-sink.ts exited (${code}) before listening`)));
  });
  let stopped: Promise<{ requests: number; bytes: number }> | undefined;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    stop: () => {
      stopped ??= new Promise((ok) => {
        child.once('message', (m) => {
          child.kill();
          ok(m as { requests: number; bytes: number });
        });
        child.send('stop');
      });
      return stopped;
    },
  };
}

if (process.argv.includes('--serve')) {
  let requests = 0,
    bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    req.on('end', () => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end();
    });
  });
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
  process.on('message', () => process.send?.({ requests, bytes }));
}
