import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { deployPath } from './deploy-files.ts';
import { freePort } from './free-port.ts';

/** One span as Jaeger's HTTP query API (`/api/traces/<id>`) returns it: times and durations in µs. */
export interface JaegerSpan {
  readonly traceID: string;
  readonly spanID: string;
  readonly operationName: string;
  readonly references: readonly { readonly refType: string; readonly traceID: string; readonly spanID: string }[];
  readonly startTime: number;
  readonly duration: number;
  readonly tags: readonly { readonly key: string; readonly type: string; readonly value: unknown }[];
  readonly processID: string;
}

export interface JaegerTrace {
  readonly traceID: string;
  readonly spans: readonly JaegerSpan[];
  readonly processes: Record<string, { readonly serviceName: string; readonly tags: readonly { key: string; value: unknown }[] }>;
}

export interface JaegerProcess {
  /** Jaeger's query API and UI, e.g. http://127.0.0.1:PORT. */
  readonly queryUrl: string;
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT (OTLP/HTTP; the exporter appends /v1/traces). */
  readonly otlpHttpUrl: string;
  /** The trace, or undefined while Jaeger does not know it (404). */
  trace(traceId: string): Promise<JaegerTrace | undefined>;
  /** Polls until the trace has at least `spans` spans (a batch may land in parts), or throws. */
  waitForTrace(traceId: string, spans: number, timeoutMs?: number): Promise<JaegerTrace>;
  stderr(): string;
  stop(): Promise<void>;
}

const script = fileURLToPath(new URL('../../deploy/tools/jaeger.sh', import.meta.url));

/**
 * The Jaeger v2 binary: $JAEGER_BIN (set by `npm test`'s global setup), or else what
 * deploy/tools/jaeger.sh built into its cache (it builds there when missing: minutes, once, under a
 * lock). Throws, never skips, with what to do when it cannot be had.
 */
export function jaegerBin(): string {
  const fromEnv = process.env['JAEGER_BIN'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const r = spawnSync('bash', [script, 'bin'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const path = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || path === undefined || path === '') {
    throw new Error(
      `jaeger is not available: ${(r.stderr ?? '').trim().slice(-400)}\nRun \`bash deploy/tools/jaeger.sh install\` once (needs Go 1.24+ and the Go module proxy), or set JAEGER_BIN to a Jaeger v2 binary.`,
    );
  }
  return path;
}

const listening = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/**
 * Starts a real Jaeger v2 with the shipped deploy/jaeger/jaeger.yml (the compose stack's config),
 * its four listen addresses moved to free loopback ports through the variables that file reads.
 * Resolves once the query API answers and the OTLP/HTTP receiver accepts connections (the
 * Collector starts receivers last). Traces live in memory and die with the process.
 */
export async function startJaeger({ bin = jaegerBin() }: { bin?: string } = {}): Promise<JaegerProcess> {
  if (spawnSync(bin, ['version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error(
      `Jaeger binary "${bin}" does not run: unset JAEGER_BIN to use the one deploy/tools/jaeger.sh builds, or point it at a working Jaeger v2 binary`,
    );
  }
  const [otlpHttp, otlpGrpc, queryHttp, queryGrpc] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const child: ChildProcess = spawn(bin, ['--config', deployPath('jaeger/jaeger.yml')], {
    env: {
      ...process.env,
      JAEGER_OTLP_HTTP_ENDPOINT: `127.0.0.1:${otlpHttp}`,
      JAEGER_OTLP_GRPC_ENDPOINT: `127.0.0.1:${otlpGrpc}`,
      JAEGER_QUERY_HTTP_ENDPOINT: `127.0.0.1:${queryHttp}`,
      JAEGER_QUERY_GRPC_ENDPOINT: `127.0.0.1:${queryGrpc}`,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.on('error', (e) => (stderr += `spawn failed: ${e.message}\n`));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const queryUrl = `http://127.0.0.1:${queryHttp}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`jaeger exited (${child.exitCode}): ${stderr.slice(-2000)}`);
    let ready = false;
    try {
      ready = (await fetch(`${queryUrl}/api/services`)).ok && (await listening(otlpHttp));
    } catch {
      // not listening yet
    }
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`jaeger not ready after 30 s: ${stderr.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const trace = async (traceId: string): Promise<JaegerTrace | undefined> => {
    const res = await fetch(`${queryUrl}/api/traces/${traceId}`);
    if (res.status === 404) return undefined;
    const body = (await res.json()) as { data: JaegerTrace[] | null; errors: { msg: string }[] | null };
    if (!res.ok) throw new Error(`GET /api/traces/${traceId}: ${res.status} ${JSON.stringify(body.errors)}`);
    return body.data?.[0];
  };
  return {
    queryUrl,
    otlpHttpUrl: `http://127.0.0.1:${otlpHttp}`,
    trace,
    waitForTrace: async (traceId, spans, timeoutMs = 60_000) => {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const t = await trace(traceId);
        if (t !== undefined && t.spans.length >= spans) return t;
        if (Date.now() > end)
          throw new Error(`trace ${traceId} has ${t?.spans.length ?? 0} of ${spans} spans after ${timeoutMs} ms (jaeger log: ${stderr.slice(-1000)})`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000); // never hang a test run
      await exited;
      clearTimeout(force);
    },
  };
}
