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
 * Starts a real Prometheus (3.16, built by deploy/tools/tools.sh; see toolBin) scraping `targets`
 * every second, on a free loopback port with its own temporary TSDB; no rules; `flags` are extra
 * command-line flags. Fails, never skips, when the binary is missing. (The process handling lives
 * in `startPrometheusWithRules`.)
 */
export function startPrometheus({ targets, bin, flags }: { targets: string[]; bin?: string; flags?: string[] }): Promise<PrometheusProcess> {
  return startPrometheusWithRules({ targets, rules: {}, ...(bin === undefined ? {} : { bin }), ...(flags === undefined ? {} : { flags }) });
}
