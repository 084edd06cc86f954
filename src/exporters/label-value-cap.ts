import { LABEL_VALUE_OTHER } from './semconv.ts';

/** Default for `maxValuesPerLabel`: far above the models, agents and tools a deployment names. */
export const DEFAULT_MAX_LABEL_VALUES = 200;
/** Default for `maxLabelSets`: bounds the product of capped labels (e.g. model × agent). */
export const DEFAULT_MAX_LABEL_SETS = 1000;
/**
 * Default for `maxHistogramLabelSets`: a histogram series is ~17 lines on /metrics (one per
 * bucket), so histogram families keep fewer combinations than counters to hold /metrics < 1 MB.
 */
export const DEFAULT_MAX_HISTOGRAM_LABEL_SETS = 25;

export interface LabelValueCapOptions {
  /** Distinct values one label name keeps; later new values fold into `other`. */
  readonly maxValuesPerLabel?: number;
  /** Distinct combinations one label-set family keeps; later new combinations fold entirely into `other`. */
  readonly maxLabelSets?: number;
  /** Called once per folded value (`label` = attribute name); must be cheap. */
  readonly onValueFolded?: (label: string) => void;
  /** Called once per folded combination (`family` = the name given to `labelSets`). */
  readonly onLabelSetFolded?: (family: string) => void;
}

export interface LabelValueCap {
  /**
   * A folding function for one label name. It returns the value itself while the label has seen
   * fewer than `maxValuesPerLabel` distinct values, or when the value was admitted before;
   * otherwise `other`. Admission is first-seen order, so the same input sequence (a replay of
   * the same log) folds the same values.
   */
  values(label: string): (value: string) => string;
  /**
   * An admission check for one family of label combinations (one check covers every metric that
   * carries the same producer-chosen labels, so they name the same series). Returns true when
   * `key` was admitted before or there is room; false means the caller records all of the
   * family's labels as `other`. `max` overrides `maxLabelSets` for this family.
   */
  labelSets(family: string, max?: number): (key: string) => boolean;
}

/**
 * Bounds producer-chosen metric label values (model, provider, agent, tool, stop reason): each
 * label name keeps its first `maxValuesPerLabel` distinct values and each label-set family its
 * first `maxLabelSets` combinations, across every metric, for the life of the process. Memory is
 * bounded by those two numbers; nothing here remembers folded values (that would be unbounded),
 * so the callbacks count folded recordings, not distinct folded values.
 */
export function createLabelValueCap(options: LabelValueCapOptions = {}): LabelValueCap {
  const maxValues = positiveInteger('maxValuesPerLabel', options.maxValuesPerLabel ?? DEFAULT_MAX_LABEL_VALUES);
  const defaultMaxSets = positiveInteger('maxLabelSets', options.maxLabelSets ?? DEFAULT_MAX_LABEL_SETS);
  const { onValueFolded, onLabelSetFolded } = options;
  const byLabel = new Map<string, (value: string) => string>();
  const byFamily = new Map<string, (key: string) => boolean>();
  return {
    values(label) {
      let fold = byLabel.get(label);
      if (fold === undefined) {
        const admitted = new Set<string>([LABEL_VALUE_OTHER]);
        fold = (value) => {
          if (admitted.has(value)) return value;
          // `other` is pre-admitted, so the budget is maxValues real values plus `other`.
          if (admitted.size <= maxValues) {
            admitted.add(value);
            return value;
          }
          onValueFolded?.(label);
          return LABEL_VALUE_OTHER;
        };
        byLabel.set(label, fold);
      }
      return fold;
    },
    labelSets(family, max) {
      let admit = byFamily.get(family);
      if (admit === undefined) {
        const maxSets = max === undefined ? defaultMaxSets : positiveInteger(`label sets of ${family}`, max);
        const admitted = new Set<string>();
        admit = (key) => {
          if (admitted.has(key)) return true;
          if (admitted.size < maxSets) {
            admitted.add(key);
            return true;
          }
          onLabelSetFolded?.(family);
          return false;
        };
        byFamily.set(family, admit);
      }
      return admit;
    },
  };
}

function positiveInteger(name: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer, got ${n}`);
  return n;
}
