import { int, isoTime, usd } from '../report/format.ts';
import type { StepEvent } from '../events/step-event.ts';
import type { TurnAggregate } from '../model/turn-aggregate.ts';

/** What one event says, in a few words (never prompts or values beyond the state key's). */
function detail(e: StepEvent): string {
  switch (e.type) {
    case 'session.start':
      return [e.agent, e.user].filter((x) => x !== undefined).join(' · ');
    case 'session.end':
      return e.reason ?? '';
    case 'turn.start':
      return '';
    case 'turn.end':
      return e.stopReason ?? '';
    case 'llm.usage':
      return `${e.model}  in ${int(e.inputTokens)}  out ${int(e.outputTokens)}${e.cacheReadTokens ? `  cache read ${int(e.cacheReadTokens)}` : ''}${e.cacheWriteTokens ? `  cache write ${int(e.cacheWriteTokens)}` : ''}`;
    case 'tool.start':
      return e.toolName;
    case 'tool.end':
      return `${e.toolName}${e.durationMs === undefined ? '' : `  ${(e.durationMs / 1000).toFixed(1)} s`}${e.error === undefined || e.error === false ? '' : `  error: ${e.error === true ? 'error' : e.error}`}`;
    case 'state.set':
    case 'state.delete':
      return e.key;
  }
}

/**
 * `--speed` output: one line per event as the replay reaches it, and one per turn aggregate as
 * the windows emit it (the line starts with `=>`), so a demo shows the session unfold.
 */
export const feedLine = {
  event(e: StepEvent): string {
    const turn = 'turn' in e && e.turn !== undefined ? e.turn : '';
    return `${isoTime(e.timeMs)}  ${e.type.padEnd(13)}  ${turn.padEnd(8)}  ${detail(e)}`.trimEnd();
  },
  turn(a: TurnAggregate): string {
    const revision = a.revision > 0 ? `, revision ${a.revision}` : '';
    const tools = a.toolCalls === 0 ? '' : `, ${a.toolCalls} tool calls (${a.toolNames.join(' → ')})`;
    return `  => ${a.turn} ${a.status}${a.stopReason === undefined ? '' : ` (${a.stopReason})`}${revision}: ${(a.durationMs / 1000).toFixed(1)} s, ${a.llmCalls} LLM calls${tools}, ${usd(a.cost)}`;
  },
};
