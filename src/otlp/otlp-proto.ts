import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Type } from 'protobufjs';

// protobufjs (CommonJS) is loaded on the first OTLP/protobuf request, not when the server starts:
// a start-up that receives no OTLP does not pay for it.
const requireCjs = createRequire(import.meta.url);
const protobufjs = (): typeof import('protobufjs') => requireCjs('protobufjs') as typeof import('protobufjs');

/** The three OTLP/HTTP signals, as their paths name them (`/v1/<signal>`). */
export type OtlpSignal = 'traces' | 'logs' | 'metrics';

export const OTLP_SIGNALS: readonly OtlpSignal[] = ['traces', 'logs', 'metrics'];

/** The request and response message types of one signal's export service. */
export interface OtlpMessages {
  readonly request: Type;
  readonly response: Type;
}

// The OpenTelemetry project's own .proto files, vendored unchanged (see proto/SOURCE.md).
const PROTO_DIR = fileURLToPath(new URL('./proto/', import.meta.url));
const SERVICE: Readonly<Record<OtlpSignal, { file: string; pkg: string; name: string }>> = {
  traces: { file: 'trace', pkg: 'trace', name: 'Trace' },
  logs: { file: 'logs', pkg: 'logs', name: 'Logs' },
  metrics: { file: 'metrics', pkg: 'metrics', name: 'Metrics' },
};

let messages: ReadonlyMap<OtlpSignal, OtlpMessages> | undefined;

function load(): ReadonlyMap<OtlpSignal, OtlpMessages> {
  const root = new (protobufjs().Root)();
  // Imports inside the files are relative to the proto root (`opentelemetry/proto/...`).
  root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
  root.loadSync(OTLP_SIGNALS.map((s) => `opentelemetry/proto/collector/${SERVICE[s].file}/v1/${SERVICE[s].file}_service.proto`));
  root.resolveAll();
  const byName = new Map<OtlpSignal, OtlpMessages>();
  for (const s of OTLP_SIGNALS) {
    const { pkg, name } = SERVICE[s];
    byName.set(s, {
      request: root.lookupType(`opentelemetry.proto.collector.${pkg}.v1.Export${name}ServiceRequest`),
      response: root.lookupType(`opentelemetry.proto.collector.${pkg}.v1.Export${name}ServiceResponse`),
    });
  }
  return byName;
}

/**
 * The `Export*ServiceRequest` / `Export*ServiceResponse` types of a signal, built by protobufjs from
 * the vendored official OTLP definitions (parsed once, on first use: a few milliseconds).
 */
export function otlpMessages(signal: OtlpSignal): OtlpMessages {
  messages ??= load();
  return messages.get(signal)!;
}

let status: Type | undefined;

/** `google.rpc.Status` (code, message): the body OTLP/HTTP gives failed requests. Details are not sent. */
export function statusMessage(): Type {
  if (status === undefined) {
    const { Type: MessageType, Field, Root } = protobufjs();
    status = new MessageType('Status').add(new Field('code', 1, 'int32')).add(new Field('message', 2, 'string'));
    new Root().define('google.rpc').add(status);
  }
  return status;
}
