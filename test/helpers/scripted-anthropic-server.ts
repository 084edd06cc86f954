import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Token counts of one scripted reply, in the Messages API's convention (input excludes cache). */
export interface ScriptedAnthropicUsage {
  readonly input: number;
  readonly output: number;
  readonly cacheRead?: number;
  /** Cache writes with the 5-minute TTL (`cache_creation.ephemeral_5m_input_tokens`). */
  readonly cacheWrite5m?: number;
  /** Cache writes with the 1-hour TTL (`cache_creation.ephemeral_1h_input_tokens`). */
  readonly cacheWrite1h?: number;
}

/** One tool call the scripted model asks for, e.g. `{ name: 'Bash', input: { command: 'echo hi' } }`. */
export interface ScriptedToolUse {
  readonly name: string;
  readonly input: Record<string, unknown>;
  /** Default: `toolu_<server run>_<step>_<index>`. */
  readonly id?: string;
}

/** One answer of the scripted model to one main-loop request. */
export interface ScriptedAnthropicReply {
  readonly text?: string;
  readonly toolUses?: readonly ScriptedToolUse[];
  readonly usage: ScriptedAnthropicUsage;
  /** Default: `tool_use` when the reply asks for tools, else `end_turn`. */
  readonly stopReason?: string;
}

/** A request the server answered (or refused), in arrival order. */
export interface RecordedAnthropicRequest {
  readonly method: string;
  /** Path without the query (`/v1/messages`, `/v1/messages/count_tokens`, …). */
  readonly path: string;
  readonly query: string;
  readonly model: string | undefined;
  readonly stream: boolean;
  /** Answered from the script (`script`), as a side call (`side`, `count_tokens`, `hello`), or not at all (`unknown`, `exhausted`). */
  readonly kind: 'script' | 'side' | 'count_tokens' | 'hello' | 'unknown' | 'exhausted';
  /** Index in the script, for `script` requests. */
  readonly step?: number;
  /** The `tool_result` blocks of the request's last user message (what the client's tools returned). */
  readonly toolResults: readonly { tool_use_id: string; is_error: boolean; content: string }[];
  readonly body: Record<string, unknown> | undefined;
}

export interface ScriptedAnthropicServerOptions {
  readonly script: readonly ScriptedAnthropicReply[];
  /**
   * Which `POST /v1/messages` requests the script answers. Default: requests that offer tools (the
   * agent loop always does; Claude Code's title, summary and quota side calls do not). The others
   * get a one-word text reply with zero usage, so they add neither tokens nor cost.
   */
  readonly isScripted?: (body: Record<string, unknown>) => boolean;
  /** Model id put in answers. Default: the request's `model`. */
  readonly model?: string;
}

export interface ScriptedAnthropicServer {
  /** Base URL for `ANTHROPIC_BASE_URL` (`http://127.0.0.1:PORT`). */
  readonly url: string;
  readonly requests: readonly RecordedAnthropicRequest[];
  /** Script replies handed out so far. */
  readonly used: number;
  close(): Promise<void>;
}

interface Block {
  readonly type: 'text' | 'tool_use';
  readonly text?: string;
  readonly id?: string;
  readonly name?: string;
  readonly input?: Record<string, unknown>;
}

/** The `usage` object of the Messages API for a reply (`output` overridable for message_start's placeholder). */
export function anthropicUsage(u: ScriptedAnthropicUsage, output = u.output): Record<string, unknown> {
  const w5 = u.cacheWrite5m ?? 0;
  const w1 = u.cacheWrite1h ?? 0;
  return {
    input_tokens: u.input,
    cache_creation_input_tokens: w5 + w1,
    cache_read_input_tokens: u.cacheRead ?? 0,
    cache_creation: { ephemeral_5m_input_tokens: w5, ephemeral_1h_input_tokens: w1 },
    output_tokens: output,
    service_tier: 'standard',
  };
}

/**
 * A scripted Anthropic Messages API on 127.0.0.1 for driving real clients (Claude Code) offline.
 * `POST /v1/messages` (any query, e.g. `?beta=true`) is answered from the script in order: with
 * `stream: true` as the API's SSE events (message_start with the full usage including cache reads
 * and the 5m / 1h cache-write split, one content block per text / tool_use, message_delta with the
 * stop reason and the final usage, message_stop), else as one JSON message. Requests that are not
 * the agent loop (see `isScripted`) get a short zero-usage reply; `count_tokens` gets an estimate,
 * `HEAD` / `GET /api/hello` (Claude Code's connectivity check) a 200; anything else a 404 in the API's error
 * shape. Every request is recorded. A script that runs out
 * answers 500 (recorded as `exhausted`) instead of inventing replies, so a test sees the mismatch.
 */
export async function startScriptedAnthropicServer(o: ScriptedAnthropicServerOptions): Promise<ScriptedAnthropicServer> {
  const requests: RecordedAnthropicRequest[] = [];
  let used = 0;
  let messageSeq = 0;
  // Message, request and tool-use ids are unique across servers, as the API's are: clients and
  // importers key on them (turnstream dedupes events by ids derived from them).
  const run = randomBytes(6).toString('hex');
  const isScripted = o.isScripted ?? ((body) => Array.isArray(body['tools']) && body['tools'].length > 0);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = await readAll(req);
    const [path = '/', query = ''] = (req.url ?? '/').split('?', 2);
    let body: Record<string, unknown> | undefined;
    try {
      body = raw.length === 0 ? undefined : (JSON.parse(raw) as Record<string, unknown>);
    } catch {
      body = undefined;
    }
    const model = typeof body?.['model'] === 'string' ? body['model'] : undefined;
    const stream = body?.['stream'] === true;
    const record = (kind: RecordedAnthropicRequest['kind'], step?: number): void => {
      requests.push({
        method: req.method ?? 'GET',
        path,
        query,
        model,
        stream,
        kind,
        ...(step === undefined ? {} : { step }),
        toolResults: toolResultsOf(body),
        body,
      });
    };
    if (req.method === 'POST' && path === '/v1/messages/count_tokens') {
      record('count_tokens');
      return json(res, 200, { input_tokens: Math.ceil(raw.length / 4) });
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && path === '/api/hello') {
      // Claude Code's connectivity check before its first request.
      record('hello');
      return json(res, 200, { message: 'hello' });
    }
    if (req.method !== 'POST' || path !== '/v1/messages' || body === undefined) {
      record('unknown');
      return json(res, 404, { type: 'error', error: { type: 'not_found_error', message: `scripted server: no route ${req.method} ${path}` } });
    }
    const id = `msg_${run}_${String(++messageSeq).padStart(4, '0')}`;
    const answerModel = o.model ?? model ?? 'claude-sonnet-4-5';
    if (!isScripted(body)) {
      record('side');
      return reply(res, stream, id, answerModel, [{ type: 'text', text: 'OK' }], 'end_turn', { input: 0, output: 0 });
    }
    const step = used;
    const r = o.script[step];
    if (r === undefined) {
      record('exhausted');
      return json(res, 500, { type: 'error', error: { type: 'api_error', message: `scripted server: script exhausted after ${used} replies` } });
    }
    used++;
    record('script', step);
    const blocks: Block[] = [];
    if (r.text !== undefined) blocks.push({ type: 'text', text: r.text });
    for (const [i, t] of (r.toolUses ?? []).entries()) blocks.push({ type: 'tool_use', id: t.id ?? `toolu_${run}_${step}_${i}`, name: t.name, input: t.input });
    const stopReason = r.stopReason ?? ((r.toolUses?.length ?? 0) > 0 ? 'tool_use' : 'end_turn');
    return reply(res, stream, id, answerModel, blocks, stopReason, r.usage);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { type: 'error', error: { type: 'api_error', message: String(error) } });
      else res.end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    get used() {
      return used;
    },
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

function reply(
  res: ServerResponse,
  stream: boolean,
  id: string,
  model: string,
  blocks: readonly Block[],
  stopReason: string,
  usage: ScriptedAnthropicUsage,
): void {
  const headers = { 'request-id': `req_${id.slice(4)}`, 'anthropic-organization-id': 'scripted' };
  if (!stream) {
    const content = blocks.map((b) => (b.type === 'text' ? { type: 'text', text: b.text } : { type: 'tool_use', id: b.id, name: b.name, input: b.input }));
    json(
      res,
      200,
      { id, type: 'message', role: 'assistant', model, content, stop_reason: stopReason, stop_sequence: null, usage: anthropicUsage(usage) },
      headers,
    );
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers });
  const send = (event: string, data: Record<string, unknown>): void => {
    res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
  };
  // message_start carries the input side and a placeholder output count, as the API does.
  send('message_start', {
    message: {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: anthropicUsage(usage, Math.min(1, usage.output)),
    },
  });
  blocks.forEach((b, index) => {
    if (b.type === 'text') {
      send('content_block_start', { index, content_block: { type: 'text', text: '' } });
      send('content_block_delta', { index, delta: { type: 'text_delta', text: b.text } });
    } else {
      send('content_block_start', { index, content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} } });
      send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(b.input) } });
    }
    send('content_block_stop', { index });
  });
  // The final usage: cumulative, as the API sends it (input side repeated, real output count).
  send('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: anthropicUsage(usage) });
  send('message_stop', {});
  res.end();
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

function readAll(req: IncomingMessage): Promise<string> {
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => ok(Buffer.concat(chunks).toString('utf8')));
    req.on('error', fail);
  });
}

function toolResultsOf(body: Record<string, unknown> | undefined): RecordedAnthropicRequest['toolResults'] {
  const messages = body?.['messages'];
  if (!Array.isArray(messages) || messages.length === 0) return [];
  const last = messages[messages.length - 1] as { role?: unknown; content?: unknown };
  if (last.role !== 'user' || !Array.isArray(last.content)) return [];
  const out: { tool_use_id: string; is_error: boolean; content: string }[] = [];
  for (const b of last.content as Record<string, unknown>[]) {
    if (b['type'] !== 'tool_result') continue;
    const c = b['content'];
    const content = typeof c === 'string' ? c : Array.isArray(c) ? c.map((x: { text?: unknown }) => (typeof x.text === 'string' ? x.text : '')).join('') : '';
    out.push({ tool_use_id: String(b['tool_use_id']), is_error: b['is_error'] === true, content });
  }
  return out;
}
