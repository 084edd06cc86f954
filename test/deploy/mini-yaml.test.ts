import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseYaml } from '../helpers/mini-yaml.ts';

// The reader behind the compose/config checks: it must read what deploy/ uses exactly as a YAML
// library would (checked against PyYAML on every deploy/ file while it was written) and refuse
// what it does not understand.
describe('parseYaml (test helper for deploy/ files)', () => {
  it('reads block maps and sequences, including "- key: value" items and sequences under a key at its indentation', () => {
    const doc = `
# comment
a: 1
b:
  c: 'x: y'   # trailing comment
  d: "q\\"uote"
list:
- one
- k: v
  k2: [1, two, 'th,ree']
nested:
  - name: n
    items:
      - 1.5
      - true
      - ~
`;
    assert.deepEqual(parseYaml(doc), {
      a: 1,
      b: { c: 'x: y', d: 'q"uote' },
      list: ['one', { k: 'v', k2: [1, 'two', 'th,ree'] }],
      nested: [{ name: 'n', items: [1.5, true, null] }],
    });
  });

  it('reads block scalars, flow maps, URLs and port mappings as strings', () => {
    const doc = 'expr: |\n  sum(x)\n    > 1\n\nfolded: >-\n  a\n  b\nf: { s: page, c: cost }\nurl: http://prometheus:9090\nports:\n  - 8787:8787\n  - \'9093:9093\'\nhash: a#b\n';
    assert.deepEqual(parseYaml(doc), { expr: 'sum(x)\n  > 1\n', folded: 'a b', f: { s: 'page', c: 'cost' }, url: 'http://prometheus:9090', ports: ['8787:8787', '9093:9093'], hash: 'a#b' });
  });

  it('fails loudly on what it does not support', () => {
    assert.throws(() => parseYaml('a: 1\n  b: 2\n'), /unexpected indentation/);
    assert.throws(() => parseYaml('a: 1\na: 2\n'), /duplicate key/);
    assert.throws(() => parseYaml('a: [1, 2\n'), /expected/);
    assert.throws(() => parseYaml('a: "open\n'), /unterminated/);
  });
});
