import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Node, SourceFile } from 'typescript/unstable/ast';
import { SyntaxKind } from 'typescript/unstable/ast';
import { API } from 'typescript/unstable/sync';

/** One function whose span is longer than allowed and carries no `// long: <why>` comment. */
export interface LongFunction {
  /** Path relative to the project root, e.g. `src/cli/replay.ts`. */
  file: string;
  /** 1-based line the function starts on. */
  line: number;
  /** `name`, `Class.method`, or `<callee> callback` for a function passed as an argument. */
  name: string;
  lines: number;
}

export interface FindLongFunctionsOptions {
  /** The tsconfig.json whose program is parsed (the TypeScript 7 API parses through a project). */
  tsconfig: string;
  /** Only files under this folder are checked. */
  under: string;
  maxLines?: number;
}

// What counts as a function: declarations, methods, constructors, accessors, function expressions
// and arrow functions with a block body, wherever they appear (assigned to a const, passed as an
// argument, returned). Each is measured by its own span, from the line it starts on to the line
// of its closing brace, so an outer function's length includes the closures it defines.
const functionKinds = new Set<SyntaxKind>([
  SyntaxKind.FunctionDeclaration,
  SyntaxKind.MethodDeclaration,
  SyntaxKind.Constructor,
  SyntaxKind.GetAccessor,
  SyntaxKind.SetAccessor,
  SyntaxKind.FunctionExpression,
  SyntaxKind.ArrowFunction,
]);

/** The exemption: a `// long: <reason>` line in the comment block right above the function's first line. */
const longComment = /^\s*\/\/\s*long:\s*\S/;

/**
 * Lists every function under `under` longer than `maxLines` (default 60) lines that has no
 * `// long: <why>` comment right above the line it starts on. Sorted longest first.
 */
export function findLongFunctions({ tsconfig, under, maxLines = 60 }: FindLongFunctionsOptions): LongFunction[] {
  const root = resolve(tsconfig, '..');
  const folder = isAbsolute(under) ? under : join(root, under);
  const api = new API({ cwd: root });
  try {
    const project = api.updateSnapshot({ openProjects: [resolve(tsconfig)] }).getProjects()[0];
    if (project === undefined) throw new Error(`no project for ${tsconfig}`);
    const found: LongFunction[] = [];
    for (const fileName of project.program.getSourceFileNames()) {
      if (!fileName.startsWith(`${folder}/`) || fileName.endsWith('.d.ts')) continue;
      const file = project.program.getSourceFile(fileName);
      if (file === undefined) continue;
      found.push(...longFunctionsIn(file, relative(root, fileName), maxLines));
    }
    return found.sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file) || a.line - b.line);
  } finally {
    api.close();
  }
}

function longFunctionsIn(file: SourceFile, path: string, maxLines: number): LongFunction[] {
  const lines = file.text.split('\n');
  const found: LongFunction[] = [];
  const visit = (node: Node): void => {
    if (functionKinds.has(node.kind) && hasBlockBody(node)) {
      const start = file.getLineAndCharacterOfPosition(node.getStart(file)).line;
      const end = file.getLineAndCharacterOfPosition(node.end).line;
      const length = end - start + 1;
      if (length > maxLines && !exempted(lines, start)) {
        found.push({ file: path, line: start + 1, name: nameOf(node, file), lines: length });
      }
    }
    node.forEachChild(visit);
  };
  file.forEachChild(visit);
  return found;
}

function hasBlockBody(node: Node): boolean {
  const body = (node as { body?: Node }).body;
  return body !== undefined && body.kind === SyntaxKind.Block;
}

/** Walks up the contiguous comment lines above `start` (0-based) looking for `// long:`. */
function exempted(lines: readonly string[], start: number): boolean {
  for (let i = start - 1; i >= 0; i--) {
    const text = (lines[i] ?? '').trim();
    if (!(text.startsWith('//') || text.startsWith('/*') || text.startsWith('*'))) return false;
    if (longComment.test(text)) return true;
  }
  return false;
}

function nameOf(node: Node, file: SourceFile): string {
  const own = identifierText((node as { name?: Node }).name, file);
  const parent = node.parent;
  if (node.kind === SyntaxKind.Constructor || own !== undefined) {
    const method = own ?? 'constructor';
    const owner = identifierText((parent as { name?: Node }).name, file);
    const inClass = parent.kind === SyntaxKind.ClassDeclaration || parent.kind === SyntaxKind.ClassExpression;
    return inClass && owner !== undefined && node.kind !== SyntaxKind.FunctionExpression ? `${owner}.${method}` : method;
  }
  if (parent.kind === SyntaxKind.VariableDeclaration || parent.kind === SyntaxKind.PropertyAssignment || parent.kind === SyntaxKind.PropertyDeclaration) {
    return identifierText((parent as { name?: Node }).name, file) ?? '<anonymous>';
  }
  if (parent.kind === SyntaxKind.CallExpression || parent.kind === SyntaxKind.NewExpression) {
    const callee = (parent as { expression?: Node }).expression;
    const text = callee === undefined ? '<call>' : callee.getText(file).replace(/\s+/g, '');
    return `${text} callback`;
  }
  return '<anonymous>';
}

function identifierText(name: Node | undefined, file: SourceFile): string | undefined {
  return name === undefined ? undefined : name.getText(file);
}
