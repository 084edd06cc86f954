import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { OtlpTurnEncoder } from '../../src/exporters/otlp-turn-encoder.ts';
import { telemetryIdentity } from '../../src/exporters/telemetry-identity.ts';
import { buildTurnSpans } from '../../src/exporters/turn-spans.ts';
import { oddTurns as turns } from '../helpers/odd-turns.ts';

describe('OtlpTurnEncoder: OTLP protobuf straight from turn records', () => {
  it("writes exactly the SDK serializer's bytes for the spans buildTurnSpans makes, over many odd turns", () => {
    for (const [serviceName, version] of [
      ['turnstream', '1.2.3'],
      ['agents-prod é', ''],
    ] as const) {
      const encoder = new OtlpTurnEncoder({ serviceName, version });
      const ctx = telemetryIdentity(serviceName, version);
      for (let seed = 1; seed <= 60; seed++) {
        const batch = turns(seed, 1 + (seed % 7));
        const expected = ProtobufTraceSerializer.serializeRequest(batch.flatMap((a) => buildTurnSpans(a, ctx)));
        // Encoded turn by turn (as the span thread queues them), then joined into one request.
        const parts = batch.map((a) => encoder.encode([a]));
        const request = encoder.request(parts.map((p) => p.bytes));
        assert.deepEqual(Buffer.from(request), Buffer.from(expected!), `seed ${seed}, service ${serviceName}`);
        assert.equal(
          parts.reduce((n, p) => n + p.spans, 0),
          batch.reduce((n, a) => n + 1 + a.llm.length + a.tools.length, 0),
        );
      }
    }
  });

  it('encodes several turns at once the same as one by one', () => {
    const encoder = new OtlpTurnEncoder({ serviceName: 'turnstream', version: 'x' });
    const batch = turns(7, 20);
    const together = encoder.encode(batch);
    const apart = batch.map((a) => encoder.encode([a]));
    assert.deepEqual(Buffer.from(together.bytes), Buffer.concat(apart.map((p) => p.bytes)));
    assert.equal(
      together.spans,
      apart.reduce((n, p) => n + p.spans, 0),
    );
  });
});
