import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImportStats } from '../../../src/sources/claude/import-stats.ts';
import type { OutgoingEvent } from '../../../src/sources/claude/mapped-event.ts';
import { parseTranscriptLine } from '../../../src/sources/claude/transcript-line.ts';
import { TranscriptMapper, type TranscriptMapperOptions } from '../../../src/sources/claude/transcript-mapper.ts';

/** Builds transcript lines the way Claude Code writes them (only the fields the importer reads). */
let clock = Date.parse('2026-03-01T10:00:00.000Z');
let n = 0;
const at = (): string => {
  clock += 1000;
  return new Date(clock).toISOString();
};
const prompt = (text: string, extra: Record<string, unknown> = {}) => ({
  type: 'user',
  uuid: `u${++n}`,
  timestamp: at(),
  sessionId: 's-1',
  message: { role: 'user', content: text },
  ...extra,
});
const usage = (input: number, output: number, cw = 0, cr = 0, split?: [number, number]) => ({
  input_tokens: input,
  output_tokens: output,
  cache_creation_input_tokens: cw,
  cache_read_input_tokens: cr,
  ...(split === undefined ? {} : { cache_creation: { ephemeral_5m_input_tokens: split[0], ephemeral_1h_input_tokens: split[1] } }),
});
const assistant = (msg: string, req: string, blocks: Record<string, unknown>[], u: ReturnType<typeof usage>, extra: Record<string, unknown> = {}) => ({
  type: 'assistant',
  uuid: `a${++n}`,
  timestamp: at(),
  sessionId: 's-1',
  requestId: req,
  message: { id: msg, model: 'claude-sonnet-4-5-20250929', role: 'assistant', stop_reason: null, content: blocks, usage: u },
  ...extra,
});
const text = (t: string) => ({ type: 'text', text: t });
const toolUse = (id: string, name: string) => ({ type: 'tool_use', id, name, input: { command: 'rm -rf secret-dir' } });
const toolResult = (id: string, isError = false, extra: Record<string, unknown> = {}) => ({
  type: 'user',
  uuid: `r${++n}`,
  timestamp: at(),
  sessionId: 's-1',
  message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: 'secret output', is_error: isError }] },
  ...extra,
});

function map(lines: object[], options: Partial<TranscriptMapperOptions> = {}, end: 'seal' | 'finish' | 'none' = 'finish') {
  const stats = new ImportStats();
  const m = new TranscriptMapper({ session: 's-1', subagentFile: false, stats, ...options });
  for (const l of lines) {
    const p = parseTranscriptLine(JSON.stringify(l));
    if (p.kind === 'line') m.line(p.line, p.timeMs);
    else if (p.kind === 'skipped') stats.skip(p.reason);
  }
  if (end === 'seal') m.seal();
  if (end === 'finish') m.finish();
  return { events: m.drain().map((e) => e.event), stats, mapper: m };
}

const ofType = <T extends OutgoingEvent['type']>(events: OutgoingEvent[], type: T) =>
  events.filter((e): e is Extract<OutgoingEvent, { type: T }> => e.type === type);

describe('TranscriptMapper', () => {
  it('counts each API call once, with the usage of its LAST line (earlier lines hold a streaming placeholder)', () => {
    const { events } = map([
      prompt('fix the bug'),
      assistant('msg_1', 'req_1', [text('Looking.')], usage(3, 4, 3628, 11506, [3628, 0])),
      assistant('msg_1', 'req_1', [toolUse('toolu_1', 'Bash')], usage(3, 98, 3628, 11506, [3628, 0])),
      toolResult('toolu_1'),
      assistant('msg_2', 'req_2', [text('Done.')], usage(6, 24, 122, 15134, [100, 22])),
    ]);
    const calls = ofType(events, 'llm.usage');
    assert.equal(calls.length, 2);
    assert.deepEqual(
      calls.map((c) => [
        c.id,
        c.inputTokens,
        c.outputTokens,
        c.cacheWriteTokens,
        c.cacheWrite5mTokens,
        c.cacheWrite1hTokens,
        c.cacheReadTokens,
        c.step,
        c.provider,
        c.model,
      ]),
      [
        ['claude:call:msg_1:req_1', 3, 98, 3628, 3628, 0, 11506, 1, 'anthropic', 'claude-sonnet-4-5-20250929'],
        ['claude:call:msg_2:req_2', 6, 24, 122, 100, 22, 15134, 2, 'anthropic', 'claude-sonnet-4-5-20250929'],
      ],
    );
    assert.ok(calls[0]!.durationMs! > 0, 'duration: from the prompt to the last line of the response');
  });

  it('makes a turn per typed prompt: tool results, reminders, local commands and interruptions are not prompts', () => {
    const { events } = map([
      prompt('first'),
      assistant('m1', 'r1', [toolUse('t1', 'Read')], usage(1, 10)),
      toolResult('t1'),
      prompt('<system-reminder>be nice</system-reminder>', { isMeta: true }),
      assistant('m2', 'r2', [toolUse('t2', 'Bash')], usage(1, 10)),
      toolResult('t2', true),
      { type: 'user', uuid: 'int', timestamp: at(), message: { role: 'user', content: [text('[Request interrupted by user for tool use]')] } },
      prompt('<bash-input>ls</bash-input>'),
      prompt('<bash-stdout>a b</bash-stdout>'),
      prompt('/clear'), // a local command: answered by no API call, so no turn
      prompt('second'),
      assistant('m3', 'r3', [text('ok')], usage(1, 5)),
    ]);
    const starts = ofType(events, 'turn.start');
    const ends = ofType(events, 'turn.end');
    assert.equal(starts.length, 2);
    assert.deepEqual(
      ends.map((e) => [e.turn, e.stopReason]),
      [
        [starts[0]!.turn, 'interrupted'],
        [starts[1]!.turn, 'end_turn'],
      ],
    );
    assert.deepEqual(
      ofType(events, 'tool.start').map((e) => [e.turn, e.toolName]),
      [
        [starts[0]!.turn, 'Read'],
        [starts[0]!.turn, 'Bash'],
      ],
    );
    assert.deepEqual(
      ofType(events, 'tool.end').map((e) => [e.toolCallId, e.error, typeof e.durationMs]),
      [
        ['t1', undefined, 'number'],
        ['t2', true, 'number'],
      ],
    );
    assert.equal(starts[1]!.turn, `u${n - 1}`, 'the turn id is the uuid of the prompt line that opened it');
  });

  it('starts the session at its first line and ends it when finished; a turn ends at its final answer', () => {
    const { events } = map([prompt('hi'), assistant('m1', 'r1', [text('hello')], usage(1, 2))], { project: '-home-a-proj' });
    assert.deepEqual(
      events.map((e) => e.type),
      ['session.start', 'turn.start', 'llm.usage', 'turn.end', 'session.end'],
    );
    const start = events[0] as Extract<OutgoingEvent, { type: 'session.start' }>;
    assert.equal(start.agent, 'claude-code');
    assert.deepEqual(start.attrs, { 'claude.project': '-home-a-proj' });
  });

  it('keeps a pending call (and its open turn) until a later line or seal(): its last line may still be coming', () => {
    const { events, mapper } = map([prompt('go'), assistant('m1', 'r1', [text('x')], usage(1, 2))], {}, 'none');
    assert.deepEqual(
      events.map((e) => e.type),
      ['session.start', 'turn.start'],
    );
    mapper.seal();
    assert.deepEqual(
      mapper.drain().map((e) => e.event.type),
      ['llm.usage', 'turn.end'],
    );
  });

  it('a later line of a call already sent becomes a continuation with the growth, and reopens the turn it ended', () => {
    const stats = new ImportStats();
    const m = new TranscriptMapper({ session: 's-1', subagentFile: false, stats });
    const feed = (l: object): void => {
      const p = parseTranscriptLine(JSON.stringify(l));
      if (p.kind === 'line') m.line(p.line, p.timeMs);
    };
    feed(prompt('go'));
    const p = n;
    feed(assistant('m1', 'r1', [text('thinking aloud')], usage(5, 3, 100, 0, [100, 0])));
    m.seal(); // the file went quiet: m1 looked final
    feed(assistant('m1', 'r1', [toolUse('t1', 'Write')], usage(5, 400, 100, 0, [100, 0])));
    feed(toolResult('t1'));
    feed(assistant('m2', 'r2', [text('written')], usage(1, 7)));
    m.seal();
    const events = m.drain().map((e) => e.event);
    const calls = ofType(events, 'llm.usage');
    assert.deepEqual(
      calls.map((c) => [c.outputTokens, c.inputTokens, c.cacheWriteTokens, c.attrs?.['claude.continued'] ?? false, c.turn]),
      [
        [3, 5, 100, false, `u${p}`],
        [397, 0, 0, true, `u${p}`],
        [7, 1, 0, false, `u${p}`],
      ],
    );
    assert.deepEqual(
      ofType(events, 'turn.end').map((e) => e.id),
      [`claude:turn:u${p}:end`, `claude:turn:u${p}:end`],
      'the second end repeats the id: dropped as a duplicate',
    );
    assert.deepEqual(
      ofType(events, 'tool.start').map((e) => e.turn),
      [`u${p}`],
    );
  });

  it('attributes subagent work to the parent session, in marked turns of its own', () => {
    const side = { isSidechain: true, agentId: 'a123' };
    const { events } = map(
      [
        prompt('explore the repo', side),
        assistant('m1', 'r1', [toolUse('t1', 'Grep')], usage(3, 50), side),
        toolResult('t1', false, side),
        assistant('m2', 'r2', [text('found it')], usage(3, 60), side),
      ],
      { session: 'parent-1', subagentFile: true, agentId: 'from-path' },
    );
    // In emission order: a call is sent once the next one shows it complete (the import sorts by time).
    assert.deepEqual(
      events.map((e) => e.type),
      ['turn.start', 'tool.start', 'tool.end', 'llm.usage', 'llm.usage', 'turn.end'],
      'no session.start/end from a subagent file',
    );
    for (const e of events) {
      assert.equal(e.session, 'parent-1');
      assert.equal(e.attrs?.['claude.sidechain'], true, e.type);
      assert.equal(e.attrs?.['claude.agent'], 'a123', e.type);
    }
  });

  it('separates subagent conversations written into the parent file (Claude Code 1.x) by their uuid chain', () => {
    const a1 = prompt('task A', { isSidechain: true, parentUuid: null });
    const b1 = prompt('task B', { isSidechain: true, parentUuid: null });
    const main = prompt('main');
    const { events } = map([
      main,
      assistant('m0', 'r0', [toolUse('task-a', 'Task'), toolUse('task-b', 'Task')], usage(1, 1)),
      a1,
      { ...assistant('ma', 'ra', [text('A done')], usage(2, 2)), isSidechain: true, parentUuid: a1.uuid },
      b1,
      { ...assistant('mb', 'rb', [text('B done')], usage(3, 3)), isSidechain: true, parentUuid: b1.uuid },
      toolResult('task-a'),
      toolResult('task-b'),
      assistant('m9', 'r9', [text('both done')], usage(4, 4)),
    ]);
    const starts = ofType(events, 'turn.start');
    assert.deepEqual(
      starts.map((s) => [s.turn, s.attrs?.['claude.agent'] ?? 'main']),
      [
        [main.uuid, 'main'],
        [a1.uuid, a1.uuid],
        [b1.uuid, b1.uuid],
      ],
    );
    assert.deepEqual(
      ofType(events, 'llm.usage')
        .map((c) => [c.turn, c.inputTokens])
        .sort((x, y) => (x[1]! < y[1]! ? -1 : 1)),
      [
        [starts[0]!.turn, 1],
        [a1.uuid, 2],
        [b1.uuid, 3],
        [starts[0]!.turn, 4],
      ],
    );
  });

  it('counts what it cannot use and goes on', () => {
    const { events, stats } = map([
      prompt('go'),
      { type: 'assistant', uuid: 'x1', timestamp: at(), message: { id: 'm0', model: 'claude-opus-4-6', content: [] } },
      {
        type: 'assistant',
        uuid: 'x2',
        timestamp: at(),
        message: { id: 'm0b', model: '<synthetic>', content: [text('No response requested.')], usage: usage(0, 0) },
      },
      { type: 'assistant', uuid: 'x3', message: { id: 'm0c', model: 'claude-opus-4-6', usage: usage(1, 1) } },
      { type: 'mystery-record', timestamp: at() },
      { type: 'progress', timestamp: at(), data: { message: { type: 'assistant', message: { usage: usage(9, 9) } } } },
      toolResult('toolu_never_asked'),
      assistant('m1', 'r1', [text('fine')], usage(1, 1)),
    ]);
    assert.deepEqual(Object.fromEntries(stats.skipped), { no_usage: 1, synthetic: 1, no_timestamp: 1, unknown_type: 1, orphan_tool_result: 1 });
    assert.equal(ofType(events, 'llm.usage').length, 1, 'progress lines (copies of subagent messages) are not counted');
    assert.equal(parseTranscriptLine('{"type":"user",').kind, 'skipped');
  });

  it('copies no prompt, reply, tool input or tool output into events', () => {
    const { events } = map([
      prompt('my secret prompt'),
      assistant('m1', 'r1', [text('secret reply'), toolUse('t1', 'Bash')], usage(1, 1)),
      toolResult('t1', true),
    ]);
    const json = JSON.stringify(events);
    for (const secret of ['secret prompt', 'secret reply', 'secret-dir', 'secret output']) assert.ok(!json.includes(secret), secret);
  });

  it('derives event ids from Claude Code ids only: the same lines map to the same ids', () => {
    const lines = [prompt('a'), assistant('m1', 'r1', [toolUse('t1', 'Read')], usage(1, 1)), toolResult('t1'), assistant('m2', 'r2', [text('b')], usage(1, 1))];
    const first = map(lines, { session: 's-1' }).events.map((e) => e.id);
    const again = map(lines, { session: 's-1' }).events.map((e) => e.id);
    assert.deepEqual(first, again);
    assert.deepEqual(
      first.filter((id) => !id.startsWith('claude:session:')),
      [
        `claude:turn:${lines[0]!.uuid}:start`,
        'claude:tool:t1:start',
        'claude:tool:t1:end',
        'claude:call:m1:r1',
        'claude:call:m2:r2',
        `claude:turn:${lines[0]!.uuid}:end`,
      ],
    );
  });

  it('sealFinished: a call whose stop reason is written is sent at once, a final answer ends its turn (Claude Code 2.1, issue 12)', () => {
    const stopped = (line: ReturnType<typeof assistant>, reason: string) => ({ ...line, message: { ...line.message, stop_reason: reason } });
    const lines = [
      prompt('run it'),
      stopped(assistant('msg_f1', 'req_f1', [text('Running.')], usage(3, 40, 500, 0)), 'tool_use'),
      stopped(assistant('msg_f1', 'req_f1', [toolUse('toolu_f1', 'Bash')], usage(3, 40, 500, 0)), 'tool_use'),
      toolResult('toolu_f1'),
      stopped(assistant('msg_f2', 'req_f2', [text('Done.')], usage(5, 12, 0, 500)), 'end_turn'),
    ];
    const stats = new ImportStats();
    const m = new TranscriptMapper({ session: 's-1', subagentFile: false, stats });
    const feed = (l: object) => {
      const p = parseTranscriptLine(JSON.stringify(l));
      if (p.kind === 'line') m.line(p.line, p.timeMs);
    };
    feed(lines[0]!);
    feed(lines[1]!);
    m.sealFinished();
    const first = m.drain().map((e) => e.event);
    assert.deepEqual(
      first.map((e) => e.type),
      ['session.start', 'turn.start', 'llm.usage'],
      'stop reason tool_use: the call is final, its turn goes on',
    );
    for (const l of lines.slice(2)) feed(l);
    m.sealFinished();
    const rest = m.drain().map((e) => e.event);
    assert.deepEqual(
      rest.map((e) => e.type),
      ['tool.start', 'tool.end', 'llm.usage', 'turn.end'],
      'the later line of msg_f1 adds no tokens (no continued usage); the final answer ends the turn',
    );
    // Another block of the final answer with the same counts (read by --watch after the seal) leaves the turn ended.
    feed(stopped(assistant('msg_f2', 'req_f2', [text('More.')], usage(5, 12, 0, 500)), 'end_turn'));
    m.seal();
    assert.deepEqual(m.drain(), []);
    const all = [...first, ...rest];
    const calls = ofType(all, 'llm.usage');
    assert.deepEqual(
      calls.map((c) => [c.outputTokens, c.finishReason]),
      [
        [40, 'tool_use'],
        [12, 'end_turn'],
      ],
    );
    assert.deepEqual(
      map(lines)
        .events.filter((e) => e.type !== 'session.end')
        .map((e) => e.id)
        .sort(),
      all.map((e) => e.id).sort(),
      'the same event ids as a one-shot import of the finished file',
    );
  });
});
