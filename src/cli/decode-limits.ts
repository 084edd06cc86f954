import type { DecodeLimits } from '../events/decode-event.ts';
import type { Config } from './settings.ts';

/** The decoder's limits from the settings: one place for `start`, `send` and `import`. */
export function decodeLimits(config: Config): DecodeLimits {
  return {
    maxEventBytes: config.maxEventBytes,
    maxAttributes: config.maxAttributes,
    maxFutureSkewMs: config.maxFutureSkewMs,
    maxDepth: config.maxDepth,
    maxTokensPerCall: config.maxTokensPerCall,
    maxCostPerCallUsd: config.maxCostPerCallUsd,
  };
}
