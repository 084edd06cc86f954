/**
 * A seeded multi-session stream that exercises everything replay must reproduce, as NDJSON lines
 * in DELIVERY order (what a server receives), for a pipeline run with `MESSY_WINDOWS`:
 * - sessions that overlap in event time, each with 1–3 concurrent turns;
 * - out-of-order delivery (small delays), and some events delayed far enough to be a revision
 *   (within grace) or dead-lettered as late (beyond it);
 * - turns that never end (abandoned once the other sessions' events move the watermark past the
 *   idle timeout), sessions that end with turns open (abandoned by session.end);
 * - re-sent events (same id: dropped at the embedded log, deduplicated by the windows on Kafka);
 * - state writes and deletes racing on the same keys, with seq ties.
 */

export const MESSY_WINDOWS = { turnIdleTimeoutMs: 20_000, graceMs: 10_000 } as const;
export const MESSY_T0 = Date.parse('2026-01-10T10:00:00.000Z');

function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Planned {
  readonly line: string;
  readonly deliverAt: number;
  readonly order: number;
}

export interface MessyStream {
  readonly lines: string[];
  readonly sessions: string[];
}

export function messyStream({ seed = 1, sessions = 6 }: { seed?: number; sessions?: number } = {}): MessyStream {
  const rnd = random(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const planned: Planned[] = [];
  let order = 0;
  const send = (e: Record<string, unknown>, delay = 0): void => {
    const line = JSON.stringify(e);
    planned.push({ line, deliverAt: (e['time'] as number) + delay, order: order++ });
  };
  const names: string[] = [];
  for (let s = 0; s < sessions; s++) {
    const session = `messy-${seed}-${s}`;
    names.push(session);
    let t = MESSY_T0 + s * 17_000 + int(0, 3000);
    let n = 0;
    let seq = 0;
    const ev = (type: string, fields: Record<string, unknown>, at: number): Record<string, unknown> => ({
      v: 1,
      id: `${session}-e${n++}`,
      type,
      session,
      time: at,
      seq: seq++,
      ...fields,
    });
    send(ev('session.start', { agent: s % 2 === 0 ? 'coder' : 'helper', user: `u${s}` }, t));
    const turns = int(3, 6);
    const endSession = s % 3 === 1; // ends with a turn still open
    for (let k = 0; k < turns; k++) {
      const concurrent = int(1, 3);
      const base = t;
      for (let c = 0; c < concurrent; c++) {
        const turn = `t${k}-${c}`;
        let at = base + c * 150;
        const delay = (): number => {
          const r = rnd();
          return r < 0.75 ? 0 : r < 0.93 ? int(1, 2500) : r < 0.97 ? int(12_000, 16_000) : int(35_000, 60_000);
        };
        send(ev('turn.start', { turn }, at), delay());
        const steps = int(2, 6);
        for (let i = 0; i < steps; i++) {
          at += int(200, 1800);
          if (rnd() < 0.5) {
            const e = ev(
              'llm.usage',
              {
                turn,
                provider: 'anthropic',
                model: rnd() < 0.7 ? 'claude-sonnet-4-5' : 'claude-haiku-4-5',
                inputTokens: int(10, 3000),
                outputTokens: int(10, 900),
                cacheReadTokens: int(0, 20_000),
                cacheWriteTokens: int(0, 2000),
                durationMs: int(100, 3000),
              },
              at,
            );
            send(e, delay());
            if (rnd() < 0.08) send(e, int(0, 4000)); // re-sent
          } else {
            const id = `call-${k}-${c}-${i}`;
            const name = ['Read', 'Bash', 'Edit', 'Grep'][int(0, 3)]!;
            send(ev('tool.start', { turn, toolCallId: id, toolName: name }, at), delay());
            at += int(50, 900);
            send(
              ev('tool.end', { turn, toolCallId: id, toolName: name, durationMs: int(50, 900), ...(rnd() < 0.2 ? { error: 'exit code 1' } : {}) }, at),
              delay(),
            );
          }
          if (rnd() < 0.3) {
            const key = ['plan', 'branch', 'todo'][int(0, 2)]!;
            const e = rnd() < 0.25 ? ev('state.delete', { key }, at) : ev('state.set', { key, value: { k, c, i } }, at);
            send(e, delay());
            if (e['type'] === 'state.set' && rnd() < 0.3)
              send({ ...e, id: `${e['id'] as string}-tie`, seq: (e['seq'] as number) - 1, value: 'tie' }, int(0, 2000));
          }
        }
        const lastTurn = k === turns - 1;
        // Some turns never end: abandoned on the idle timeout, or by session.end.
        if (!(lastTurn && endSession) && rnd() < 0.85) send(ev('turn.end', { turn, stopReason: rnd() < 0.9 ? 'end_turn' : 'max_tokens' }, at + 50), delay());
        t = Math.max(t, at + 100);
      }
      t += int(500, 30_000); // sometimes idle long enough for open turns to be abandoned
    }
    if (endSession) send(ev('session.end', { reason: 'user_exit' }, t), 0);
  }
  planned.sort((a, b) => a.deliverAt - b.deliverAt || a.order - b.order);
  return { lines: planned.map((p) => p.line), sessions: names };
}
