/**
 * A binary min-heap of items by a number each item carries (`key`, read when the item is added and
 * never again: the key must not change while the item is queued). Ties come out in no particular
 * order. `HeldTurns` queues its closed turns by the session clock at their close, so a sweep looks
 * only at the turns whose grace may have passed instead of at every turn it holds.
 */
export class MinQueue<T> {
  private readonly items: T[] = [];
  private readonly keys: number[] = [];

  /** Adds `item` under `key`. */
  push(item: T, key: number): void {
    const { items, keys } = this;
    let i = items.length;
    items.push(item);
    keys.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent]! <= key) break;
      items[i] = items[parent]!;
      keys[i] = keys[parent]!;
      i = parent;
    }
    items[i] = item;
    keys[i] = key;
  }

  /** The smallest key queued (+Infinity when empty). */
  peekKey(): number {
    return this.keys.length === 0 ? Number.POSITIVE_INFINITY : this.keys[0]!;
  }

  /** Removes and returns the item with the smallest key (undefined when empty). */
  pop(): T | undefined {
    const { items, keys } = this;
    if (items.length === 0) return undefined;
    const top = items[0]!;
    const lastItem = items.pop()!;
    const lastKey = keys.pop()!;
    const n = items.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && keys[right]! < keys[left]! ? right : left;
      if (keys[child]! >= lastKey) break;
      items[i] = items[child]!;
      keys[i] = keys[child]!;
      i = child;
    }
    items[i] = lastItem;
    keys[i] = lastKey;
    return top;
  }

  get size(): number {
    return this.items.length;
  }

  clear(): void {
    this.items.length = 0;
    this.keys.length = 0;
  }
}
