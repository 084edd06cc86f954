/**
 * The package's public API for producers and embedders. The CLI is `turnstream` (bin/).
 */
export { createEmitter, type Emitter, type EmitterOptions, type EmitInput } from './client/emit.ts';
export { postEvents, type PostOptions, type PostResult } from './client/post-events.ts';
export { decodeEvent, DEFAULT_DECODE_LIMITS, type DecodeLimits, type DecodeResult } from './events/decode-event.ts';
export type { StepEvent, StepEventType, LlmUsageEvent, LoggedEvent } from './events/step-event.ts';
export type { TurnAggregate } from './model/turn-aggregate.ts';
export { windowTurns, type WindowTurnsOptions, type WindowOutput } from './streams/window-turns.ts';
export { rollUpSessions } from './streams/roll-up-sessions.ts';
export { toStateWrites } from './streams/to-state-writes.ts';
export { createPriceTable, loadPriceTable, type PriceTable } from './events/price-table.ts';
export { priceUsage } from './events/price-usage.ts';
