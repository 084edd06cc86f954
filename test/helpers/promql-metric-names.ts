/**
 * The metric names a PromQL expression reads, without a PromQL parser: strings, label matchers,
 * ranges, label lists (`by (…)`, `on (…)`, …), offsets, numbers and dashboard variables are
 * removed; what is left and is not a function call or keyword is a metric name. Enough for the
 * expressions in deploy/ (the tests check the result against known names, so a miss shows up as
 * an unknown name, never as a silent pass).
 */
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'Inf', 'NaN', 'atan2']);

export function metricNames(expr: string): string[] {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  s = s.replace(/\{[^}]*\}/g, ' ');
  s = s.replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  s = s.replace(/\boffset\s+-?[0-9a-z]+/g, ' ');
  s = s.replace(/\$\{?\w+\}?/g, ' ');
  s = s.replace(/(^|[^\w:.])(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/g, '$1 ');
  const names = new Set<string>();
  for (const m of s.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = s.slice(m.index + m[0].length).trimStart();
    if (after.startsWith('(') || KEYWORDS.has(m[0])) continue;
    names.add(m[0]);
  }
  return [...names];
}
