/**
 * The few error classes turnstream throws. Adapters translate library errors into these at the
 * edge, keeping the original as `cause`. `retriable` tells a retrier whether trying again can help:
 * programming and configuration errors are never retried.
 */

export class TurnstreamError extends Error {
  readonly retriable: boolean;

  constructor(message: string, options?: { cause?: unknown; retriable?: boolean }) {
    super(message, options !== undefined && 'cause' in options ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.retriable = options?.retriable ?? false;
  }
}

/**
 * Invalid configuration, found at start-up. The message says which file or setting is wrong and
 * what to change; retrying cannot fix it.
 */
export class ConfigError extends TurnstreamError {
  override readonly retriable = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, retriable: false });
  }
}
