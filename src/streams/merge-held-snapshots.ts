import type { HeldTurnSnapshot, HeldTurnsSnapshot, SessionSnapshot } from './held-turns.ts';
import type { TurnWindowSnapshot } from './turn-window.ts';
import type { WindowsSnapshot } from './window-turns.ts';
import type { SnapshotText } from './snapshot-text.ts';

/**
 * Merges the snapshots of shards into the one a single run makes. A shard is the same operator
 * run over the events of a set of sessions, the sets disjoint, each fed every clock tick of the log
 * in place of the other sessions' events (see `clockTick`): each sweeps where the single run sweeps,
 * with the same clock, so each holds exactly what the single run holds of its sessions. What is
 * left to merge:
 * - the watermark: the largest of the shards' (each saw its own events' times; the ticks carry
 *   every other second, and the largest time is some shard's own event);
 * - the sweep bucket and clock: the same in every shard (else this throws: not shards of one log);
 * - sessions and turns, in the order the single run made them: by the position of the event that
 *   created each (`order`, which every shard's snapshot must carry);
 * - the stand-ins' own session (`standIn`, an id no event can have) is left out.
 * `body` maps a turn's body (given its shard's index), called in the merged order.
 */
export function mergeHeldSnapshots<B, C>(parts: readonly HeldTurnsSnapshot<B>[], standIn: string, body: (b: B, part: number) => C): HeldTurnsSnapshot<C> {
  if (parts.length === 0) throw new RangeError('no shard to merge');
  const first = parts[0]!;
  let wm: number | null = null;
  const sessions: { at: number; s: SessionSnapshot }[] = [];
  const turns: { at: number; t: HeldTurnSnapshot<B>; part: number }[] = [];
  for (const [k, p] of parts.entries()) {
    if (p.order === undefined) throw new RangeError(`shard ${k} has no order: snapshot it with { order: true }`);
    if (p.bucket !== first.bucket || p.clock !== first.clock) {
      throw new RangeError(`shard ${k} swept to clock ${p.clock} (bucket ${p.bucket}), shard 0 to ${first.clock} (${first.bucket}): not shards of one log`);
    }
    if (p.wm !== null && (wm === null || p.wm > wm)) wm = p.wm;
    for (const [i, s] of p.sessions.entries()) if (s[0] !== standIn) sessions.push({ at: at(p.order.sessions[i], k, 'session'), s });
    for (const [i, t] of p.turns.entries()) turns.push({ at: at(p.order.turns[i], k, 'turn'), t, part: k });
  }
  sessions.sort((a, b) => a.at - b.at);
  turns.sort((a, b) => a.at - b.at);
  const seen = new Set<string>();
  for (const { s } of sessions) {
    if (seen.has(s[0])) throw new RangeError(`session "${s[0]}" is held by two shards`);
    seen.add(s[0]);
  }
  return {
    wm,
    bucket: first.bucket,
    clock: first.clock,
    sessions: sessions.map((x) => x.s),
    turns: turns.map(({ t, part }): HeldTurnSnapshot<C> => [t[0], t[1], t[2], t[3], t[4], t[5], t[6], body(t[7], part)]),
  };
}

function at(pos: number | undefined, part: number, what: string): number {
  if (pos === undefined || !(pos >= 0)) throw new RangeError(`shard ${part} has a ${what} with no position (restored, not rebuilt)`);
  return pos;
}

/**
 * `mergeHeldSnapshots` for the turn windows: a closed turn's text goes to the merged `texts` in the
 * merged turn order (as one run's snapshot lists them), an open turn's snapshot as it is.
 */
export function mergeWindowsSnapshots(parts: readonly WindowsSnapshot[], standIn: string): WindowsSnapshot {
  const texts: SnapshotText[] = [];
  const held = mergeHeldSnapshots<TurnWindowSnapshot | number, TurnWindowSnapshot | number>(
    parts.map((p) => p.held),
    standIn,
    (b, part) => {
      if (typeof b !== 'number') return b;
      const text = parts[part]!.texts[b];
      if (text === undefined) throw new RangeError(`shard ${part} names text ${b}, which it does not hold`);
      return texts.push(text) - 1;
    },
  );
  return { v: 2, held, texts };
}
