import { startPrometheusWithRules } from './prometheus-with-rules.ts';

export interface PrometheusProcess {
  readonly url: string;
  /** Runs an instant query; returns the result vector. */
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** Polls `expr` until it returns at least one sample (or throws after `timeoutMs`). */
  waitFor(expr: string, timeoutMs?: number): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  stop(): Promise<void>;
}

/**
 * Starts a real Prometheus (the Debian package's binary) scraping `targets` every second, on a
 * free loopback port with its own temporary TSDB; no rules. Fails, never skips, when the binary is
 * missing. (The process handling lives in `startPrometheusWithRules`.)
 */
export function startPrometheus({ targets, bin }: { targets: string[]; bin?: string }): Promise<PrometheusProcess> {
  return startPrometheusWithRules({ targets, rules: {}, ...(bin === undefined ? {} : { bin }) });
}
