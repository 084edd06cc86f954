import type { EmbeddedPipeline } from '../../src/pipeline/open-embedded-pipeline.ts';

/** Everything an embedded pipeline's store holds for every session (totals, turns, state), its position and dead letters: what a restart must reproduce exactly. */
export async function storeView(pipeline: Pick<EmbeddedPipeline, 'store'>) {
  const { state } = pipeline.store;
  const sessions = (await state.sessions()).map((s) => s.session).sort();
  const out: Record<string, unknown> = {};
  for (const s of sessions) out[s] = { totals: await state.totals(s), turns: await state.turns(s), state: await state.list(s) };
  return { position: await state.position(), sessions: out, letters: await pipeline.store.deadLetters.countByReason() };
}
