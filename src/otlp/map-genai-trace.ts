import { type SpanFacts, spanFacts } from './genai-span-facts.ts';
import type { MappedEvent } from './map-claude-code-logs.ts';
import { otlpEventIds } from './otlp-event-ids.ts';
import { REQUESTED_TOOLS, type OtlpSpan } from './otlp-spans.ts';
import { textOf } from './otlp-value.ts';

interface Node {
  readonly span: OtlpSpan;
  readonly facts: SpanFacts;
}

/** One turn of a trace: under an agent root span, or the trace's spans outside any agent root. */
interface TurnGroup {
  readonly root?: Node;
  readonly nodes: Node[];
}

/**
 * The step events of one trace's spans (all that arrived so far), with ids derived from the trace
 * and span ids, so mapping the same spans again yields the same events.
 *
 * - **Turn**: the outermost agent root span above a span (`invoke_agent`, the AI SDK's
 *   `ai.generateText`/`ai.streamText`, OpenLLMetry's workflow/agent) is its turn: `turn.start` and
 *   `turn.end` at the root's start and end. Spans under no agent root form the trace's turn, from
 *   their first start to their last end.
 * - **Session**: the first of `gen_ai.conversation.id`, `session.id`,
 *   `ai.telemetry.metadata.sessionId`, `traceloop.association.properties.session_id` found on the
 *   root, then on the turn's spans in start order; else the trace id.
 * - **Usage is counted once**: a span's usage counts only when no span below it reports usage (the
 *   AI SDK puts the total on `ai.generateText` and each call's on its `doGenerate` child; an agent
 *   span may carry its calls' total).
 * - **Tools**: `tool.start` / `tool.end` at the tool span's start and end; status ERROR → error.
 *
 * Only counts, names, ids, tokens, cost and times are copied: never prompts, messages, tool
 * arguments or results (their attributes are not even read).
 */
export function mapTrace(spans: readonly OtlpSpan[]): MappedEvent[] {
  const nodes = new Map<string, Node>();
  for (const span of spans) nodes.set(span.spanId, { span, facts: spanFacts(span) });
  const parentOf = (n: Node): Node | undefined => (n.span.parentSpanId === '' ? undefined : nodes.get(n.span.parentSpanId));
  const countsUsage = usageCounters(nodes, parentOf);
  const groups = new Map<string, TurnGroup>();
  for (const n of nodes.values()) {
    if (n.facts.role === 'covered') continue;
    const root = outermostAgent(n, parentOf);
    const key = root?.span.spanId ?? '';
    let g = groups.get(key);
    if (g === undefined) {
      g = { ...(root === undefined ? {} : { root }), nodes: [] };
      groups.set(key, g);
    }
    g.nodes.push(n);
  }
  const events: MappedEvent[] = [];
  for (const g of groups.values()) events.push(...turnEvents(g, countsUsage));
  return events;
}

/** The spans whose usage counts: those with usage and no descendant with usage. */
function usageCounters(nodes: ReadonlyMap<string, Node>, parentOf: (n: Node) => Node | undefined): ReadonlySet<Node> {
  const covered = new Set<Node>();
  for (const n of nodes.values()) {
    if (n.facts.usage === undefined) continue;
    const seen = new Set<Node>([n]);
    for (let p = parentOf(n); p !== undefined && !covered.has(p) && !seen.has(p); p = parentOf(p)) {
      covered.add(p);
      seen.add(p);
    }
  }
  const counters = new Set<Node>();
  for (const n of nodes.values()) if (n.facts.usage !== undefined && !covered.has(n) && n.facts.role !== 'covered') counters.add(n);
  return counters;
}

/** The outermost agent span at or above `n` (a parent cycle in bad input ends the walk). */
function outermostAgent(n: Node, parentOf: (n: Node) => Node | undefined): Node | undefined {
  let found: Node | undefined;
  const seen = new Set<Node>();
  for (let p: Node | undefined = n; p !== undefined && !seen.has(p); p = parentOf(p)) {
    seen.add(p);
    if (p.facts.role === 'agent') found = p;
  }
  return found;
}

function turnEvents(g: TurnGroup, countsUsage: ReadonlySet<Node>): MappedEvent[] {
  const nodes = [...g.nodes].sort(
    (a, b) =>
      a.span.startMs - b.span.startMs || a.span.startSubMs - b.span.startSubMs || a.span.endMs - b.span.endMs || (a.span.spanId < b.span.spanId ? -1 : 1),
  );
  const steps = nodes.filter((n) => countsUsage.has(n) || n.facts.role === 'tool');
  if (g.root === undefined && steps.length === 0) return [];
  const traceId = (g.root ?? nodes[0]!).span.traceId;
  const session = g.root?.facts.session ?? nodes.find((n) => n.facts.session !== undefined)?.facts.session ?? traceId;
  const turn = g.root === undefined ? traceId : `${traceId}:${g.root.span.spanId}`;
  const agent = g.root?.facts.agentName ?? nodes.find((n) => n.facts.agentName !== undefined)?.facts.agentName ?? g.root?.span.serviceName;
  const attrs = agent === undefined ? {} : { attrs: { 'agent.name': agent.slice(0, 1024) } };
  const base = { v: 1, session, turn };
  const startMs = g.root?.span.startMs ?? steps.reduce((m, n) => Math.min(m, n.span.startMs), Number.POSITIVE_INFINITY);
  const endMs = g.root?.span.endMs ?? steps.reduce((m, n) => Math.max(m, n.span.endMs), 0);
  const turnId = (kind: 'turn.start' | 'turn.end'): string =>
    g.root === undefined ? otlpEventIds.traceTurn(traceId, kind) : otlpEventIds.span(traceId, g.root.span.spanId, kind);
  const events: MappedEvent[] = [{ ...base, id: turnId('turn.start'), type: 'turn.start', time: startMs, ...attrs }];
  const asked = askedAt(nodes);
  const askedOf = (n: Node) => (n.facts.role === 'tool' ? asked.get(n.facts.toolCallId ?? '') : undefined);
  const startOf = (n: Node): number => Math.min(n.span.startMs, askedOf(n)?.timeMs ?? Number.POSITIVE_INFINITY);
  // Stable: steps keep the span order except that tools a step asked for follow the model's order.
  const ordered = steps
    .map((n, i) => ({ n, i }))
    .sort((a, b) => startOf(a.n) - startOf(b.n) || (askedOf(a.n)?.index ?? 0) - (askedOf(b.n)?.index ?? 0) || a.i - b.i)
    .map(({ n }) => n);
  for (const n of ordered) events.push(...stepEvents(n, base, attrs, askedOf(n)));
  const stopReason = g.root?.facts.finishReason;
  events.push({ ...base, id: turnId('turn.end'), type: 'turn.end', time: endMs, ...(stopReason === undefined ? {} : { stopReason }) });
  // Times are whole milliseconds: two tools started in the same one keep the spans' order (by their
  // nanosecond starts) through `seq`, which the turn windows order ties by.
  return events.map((e, seq) => ({ ...e, seq }));
}

/**
 * Where a model step (an AI SDK `doGenerate` span listing the calls it asked for) requested each
 * tool call: the step's end, and the call's place in its list. The SDK runs a step's tools
 * concurrently, so their spans may start in any order within a millisecond or two; the turn's tool
 * order is the order the model asked in.
 */
function askedAt(nodes: readonly Node[]): Map<string, { readonly timeMs: number; readonly index: number }> {
  const out = new Map<string, { timeMs: number; index: number }>();
  for (const n of nodes) {
    const ids = textOf(n.span.attrs.get(REQUESTED_TOOLS));
    if (ids === undefined) continue;
    for (const [index, id] of ids.split('\n').entries()) if (!out.has(id)) out.set(id, { timeMs: n.span.endMs, index });
  }
  return out;
}

function stepEvents(
  n: Node,
  base: { v: number; session: string; turn: string },
  attrs: { attrs?: Record<string, string> },
  asked: { readonly timeMs: number; readonly index: number } | undefined,
): MappedEvent[] {
  const { span, facts } = n;
  const durationMs = span.endMs - span.startMs;
  if (facts.role === 'tool') {
    const tool = { toolCallId: facts.toolCallId!, toolName: facts.toolName! };
    // Asked for by a step: it starts when the model asked (its place in the list orders ties, via `seq`).
    const startMs = asked === undefined ? span.startMs : Math.min(span.startMs, asked.timeMs);
    return [
      { ...base, id: otlpEventIds.span(span.traceId, span.spanId, 'tool.start'), type: 'tool.start', time: startMs, ...tool },
      {
        ...base,
        id: otlpEventIds.span(span.traceId, span.spanId, 'tool.end'),
        type: 'tool.end',
        time: span.endMs,
        ...tool,
        durationMs,
        ...(span.error === undefined ? {} : { error: span.error === true ? true : span.error.slice(0, 1024) }),
      },
    ];
  }
  const u = facts.usage!;
  return [
    {
      ...base,
      id: otlpEventIds.span(span.traceId, span.spanId, 'llm'),
      type: 'llm.usage',
      time: span.endMs,
      provider: facts.provider ?? 'unknown',
      model: facts.model ?? 'unknown',
      ...u,
      ...(facts.cost === undefined ? {} : { cost: facts.cost }),
      ...(facts.finishReason === undefined ? (span.error === undefined ? {} : { finishReason: 'error' }) : { finishReason: facts.finishReason }),
      durationMs,
      ...attrs,
    },
  ];
}
