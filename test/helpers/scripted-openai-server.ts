import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One tool call the scripted model asks for. `arguments` is the JSON text the client receives. */
export interface ScriptedToolCall {
  readonly id: string;
  readonly name: string;
  readonly arguments: string;
}

/** Usage as OpenAI reports it: `promptTokens` INCLUDES `cachedTokens` (prompt_tokens_details.cached_tokens). */
export interface ScriptedUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly cachedTokens?: number;
  readonly reasoningTokens?: number;
}

/** What the server answers to one chat-completions request. */
export interface ScriptedReply {
  /** Assistant text, streamed in a few chunks. */
  readonly text?: string;
  readonly toolCalls?: readonly ScriptedToolCall[];
  readonly usage: ScriptedUsage;
  /** Defaults to `tool_calls` when there are tool calls, else `stop`. */
  readonly finishReason?: string;
  /** The `model` field of the answer; defaults to the request's model. */
  readonly model?: string;
  /** Milliseconds to wait before answering (a slow model). */
  readonly delayMs?: number;
}

/** A request the server received, in arrival order. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The parsed JSON body, or the raw text when it was not JSON. */
  readonly body: unknown;
}

export interface ScriptedOpenAIServer {
  /** Base URL including `/v1`, as OpenAI clients take it (`…/v1/chat/completions` is served). */
  readonly url: string;
  /** Every request so far (chat completions and anything else). */
  readonly requests: readonly RecordedRequest[];
  /** The replies actually served, in order (what the client was told, for ground-truth checks). */
  readonly served: readonly ScriptedReply[];
  close(): Promise<void>;
}

/** A fixed list of replies (one per chat-completions request, in order), or a function of the request. */
export type Script = readonly ScriptedReply[] | ((body: Record<string, unknown>, index: number) => ScriptedReply | undefined);

/**
 * A scripted OpenAI-compatible chat-completions server on 127.0.0.1 for tests that drive a real agent
 * (kit, OpenLLMetry, …). Streaming requests (`stream: true`) get SSE chunks the way OpenAI sends them:
 * role, text deltas, tool-call deltas (id and name first, then the arguments), a chunk with the
 * finish reason, then a final chunk with empty `choices` and `usage` (with
 * `prompt_tokens_details.cached_tokens`), then `data: [DONE]`. Non-streaming requests get one
 * `chat.completion` object. A request past the end of the script is answered 500 with an error body
 * (and recorded), so a test sees it instead of hanging.
 */
export async function startScriptedOpenAIServer(script: Script): Promise<ScriptedOpenAIServer> {
  const requests: RecordedRequest[] = [];
  const served: ScriptedReply[] = [];
  let completions = 0;
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      let body: unknown = raw;
      try {
        body = raw === '' ? undefined : JSON.parse(raw);
      } catch {
        // keep the raw text
      }
      requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body });
      void answer(req, res, body).catch(() => res.destroy());
    });
  });

  async function answer(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path?.endsWith('/models')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [] }));
      return;
    }
    if (req.method !== 'POST' || !path?.endsWith('/chat/completions') || typeof body !== 'object' || body === null) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `not scripted: ${req.method} ${req.url}` } }));
      return;
    }
    const request = body as Record<string, unknown>;
    const index = completions++;
    const reply = typeof script === 'function' ? script(request, index) : script[index];
    if (reply === undefined) {
      res
        .writeHead(500, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message: `script exhausted at request ${index}`, type: 'server_error' } }));
      return;
    }
    served.push(reply);
    if (reply.delayMs !== undefined) await new Promise((r) => setTimeout(r, reply.delayMs));
    const model = reply.model ?? (typeof request['model'] === 'string' ? request['model'] : 'scripted');
    if (request['stream'] === true) writeStream(res, reply, model, index);
    else writeCompletion(res, reply, model, index);
  }

  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return {
    url,
    requests,
    served,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

function finishReasonOf(reply: ScriptedReply): string {
  return reply.finishReason ?? ((reply.toolCalls?.length ?? 0) > 0 ? 'tool_calls' : 'stop');
}

function usageJson(u: ScriptedUsage): Record<string, unknown> {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    prompt_tokens_details: { cached_tokens: u.cachedTokens ?? 0 },
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens ?? 0 },
  };
}

function writeStream(res: ServerResponse, reply: ScriptedReply, model: string, index: number): void {
  const id = `chatcmpl-scripted-${index}`;
  const created = Math.floor(Date.now() / 1000);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const send = (choices: unknown[], extra: Record<string, unknown> = {}): void => {
    res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices, ...extra })}\n\n`);
  };
  send([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]);
  const text = reply.text ?? '';
  for (let at = 0; at < text.length; at += 16) send([{ index: 0, delta: { content: text.slice(at, at + 16) }, finish_reason: null }]);
  (reply.toolCalls ?? []).forEach((call, i) => {
    send([
      { index: 0, delta: { tool_calls: [{ index: i, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }, finish_reason: null },
    ]);
    send([{ index: 0, delta: { tool_calls: [{ index: i, function: { arguments: call.arguments } }] }, finish_reason: null }]);
  });
  send([{ index: 0, delta: {}, finish_reason: finishReasonOf(reply) }]);
  send([], { usage: usageJson(reply.usage) });
  res.end('data: [DONE]\n\n');
}

function writeCompletion(res: ServerResponse, reply: ScriptedReply, model: string, index: number): void {
  const toolCalls = (reply.toolCalls ?? []).map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
  const message = { role: 'assistant', content: reply.text ?? null, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) };
  res.writeHead(200, { 'content-type': 'application/json' }).end(
    JSON.stringify({
      id: `chatcmpl-scripted-${index}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{ index: 0, message, finish_reason: finishReasonOf(reply) }],
      usage: usageJson(reply.usage),
    }),
  );
}
