import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findLongFunctions } from '../helpers/long-functions.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

// Issue 10: no function in src/ over ~60 lines without a `// long: <why>` comment right above it.
describe('function length in src/', () => {
  it('has no function over 60 lines without a `// long:` comment', () => {
    const offenders = findLongFunctions({ tsconfig: join(root, 'tsconfig.json'), under: 'src' });
    const list = offenders.map((f) => `  ${f.file}:${f.line} ${f.name} (${f.lines} lines)`).join('\n');
    assert.deepEqual(offenders, [], `split these or add a \`// long: <why>\` comment above them:\n${list}`);
  });
});

describe('findLongFunctions', () => {
  const body = (n: number): string => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join('\n');

  it('finds declarations, methods, arrow consts and callbacks, and honours `// long:`', () => {
    const dir = mkdtempSync(join(tmpdir(), 'long-functions-'));
    try {
      const source = [
        `export function declared(): void {\n${body(60)}\n}`,
        `export function short(): void {\n${body(10)}\n}`,
        `export class Box {\n  run(): void {\n${body(60)}\n  }\n}`,
        `export const arrow = (): void => {\n${body(60)}\n};`,
        `export const call = (): void => { [1].forEach((x) => {\n${body(60)}\n  }); };`,
        `// a state machine reads best in one place\n// long: the states share locals\nexport function allowed(): void {\n${body(60)}\n}`,
        `// long:\nexport function emptyReason(): void {\n${body(60)}\n}`,
      ].join('\n\n');
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, noEmit: true }, include: ['src'] }));
      mkdirSync(join(dir, 'src'));
      writeFileSync(join(dir, 'src', 'sample.ts'), `${source}\n`);

      const found = findLongFunctions({ tsconfig: join(dir, 'tsconfig.json'), under: 'src' });
      const names = found.map((f) => `${f.name}:${f.lines}`).sort();
      assert.deepEqual(names, ['Box.run:62', 'arrow:62', 'call:62', 'declared:62', 'emptyReason:62', '[1].forEach callback:62'].sort());
      assert.ok(found.every((f) => f.file === join('src', 'sample.ts')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
