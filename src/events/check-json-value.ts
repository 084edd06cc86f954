/** What `checkJsonValue` found wrong, and where (`value.0.k`, `attrs.cost`, `inputTokens`). */
export interface JsonValueBreach {
  readonly kind: 'too_deep' | 'not_finite';
  readonly path: string;
}

const MAX_PATH_CHARS = 120;

/**
 * Walks an already-parsed value without recursion (an explicit stack), so a value nested 100,000
 * deep costs a loop, not the call stack. Reports the first container nested more than `maxDepth`
 * levels (the root is level 1) or the first number that is not finite (`JSON.parse` turns `1e309`
 * into Infinity). The depth bound also ends the walk on a cyclic object. Returns undefined when
 * the value is within bounds; never throws for values made by `JSON.parse`.
 */
export function checkJsonValue(root: unknown, maxDepth: number): JsonValueBreach | undefined {
  // The clean case runs on every event: no paths, no closures, numbers tested in place.
  return isClean(root, maxDepth) ? undefined : locate(root, maxDepth);
}

/**
 * The walk's stacks, reused by every call (it is synchronous and calls nothing that could re-enter):
 * two arrays per event were ~4 % of the pipeline's allocations. Used up to `top` and kept at their
 * size (emptying them would free their storage, and the next walk allocate it again); each slot is
 * cleared when popped, so they hold no value alive. One grown by a very deep value is dropped.
 */
let stack: (object | undefined)[] = [];
let depths: number[] = [];
let top = 0;
const KEEP_SLOTS = 1024;

function push(value: object, depth: number): void {
  stack[top] = value;
  depths[top] = depth;
  top++;
}

function isClean(root: unknown, maxDepth: number): boolean {
  if (typeof root === 'number') return Number.isFinite(root);
  if (typeof root !== 'object' || root === null) return true;
  top = 0;
  push(root, 1);
  const clean = walk(maxDepth);
  for (let i = 0; i < top; i++) stack[i] = undefined;
  top = 0;
  if (stack.length > KEEP_SLOTS) {
    stack = [];
    depths = [];
  }
  return clean;
}

function walk(maxDepth: number): boolean {
  while (top > 0) {
    top--;
    const value = stack[top] as Record<string, unknown>;
    stack[top] = undefined;
    const depth = depths[top]!;
    if (depth > maxDepth) return false;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const child: unknown = value[i];
        if (typeof child === 'number') {
          if (!Number.isFinite(child)) return false;
        } else if (typeof child === 'object' && child !== null) push(child, depth + 1);
      }
    } else {
      for (const key in value) {
        const child = value[key];
        if (typeof child === 'number') {
          if (!Number.isFinite(child)) return false;
        } else if (typeof child === 'object' && child !== null) push(child, depth + 1);
      }
    }
  }
  return true;
}

/** The slow path, run only after `isClean` said no: the same walk, keeping each value's path. */
function locate(root: unknown, maxDepth: number): JsonValueBreach | undefined {
  const stack: { readonly value: unknown; readonly depth: number; readonly path: string }[] = [{ value: root, depth: 1, path: '' }];
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return { kind: 'not_finite', path: shorten(path) };
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth > maxDepth) return { kind: 'too_deep', path: shorten(path) };
    for (const key in value) {
      const child: unknown = (value as Record<string, unknown>)[key];
      stack.push({ value: child, depth: depth + 1, path: path === '' ? key : `${path}.${key}` });
    }
  }
  return undefined;
}

function shorten(path: string): string {
  return path.length <= MAX_PATH_CHARS ? path : `${path.slice(0, MAX_PATH_CHARS)}…`;
}
