/**
 * Values kept by two or three strings, in nested maps: a lookup builds no key string (the metrics
 * look up label combinations a few times per LLM and tool call). Holds what the caller puts in; the
 * caller bounds it (the metrics keep only combinations the label caps admitted for good).
 */
export class LabelCache<V> {
  private readonly root = new Map<string, Map<string, Map<string, V>>>();

  get(a: string, b: string, c = ''): V | undefined {
    return this.root.get(a)?.get(b)?.get(c);
  }

  set(a: string, b: string, c: string, value: V): void {
    let byB = this.root.get(a);
    if (byB === undefined) {
      byB = new Map();
      this.root.set(a, byB);
    }
    let byC = byB.get(b);
    if (byC === undefined) {
      byC = new Map();
      byB.set(b, byC);
    }
    byC.set(c, value);
  }
}
