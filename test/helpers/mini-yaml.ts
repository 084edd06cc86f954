/**
 * A small YAML reader for the deploy/ files (compose, Prometheus, Alertmanager, Grafana
 * provisioning, Collector and Tempo configs), so their tests need no YAML dependency. It reads
 * the subset those files use: block maps and sequences, flow `[…]` / `{…}`, single- and
 * double-quoted scalars, `|` / `>` block scalars, comments. Anchors, tags, multi-document
 * streams and multi-line plain scalars are not supported and fail loudly instead of misreading.
 */
export type Yaml = string | number | boolean | null | Yaml[] | { [key: string]: Yaml };

interface Line {
  readonly no: number;
  readonly indent: number;
  /** Content after the indentation, comment stripped. */
  readonly text: string;
}

class Reader {
  readonly raw: string[];
  pos = 0;
  constructor(src: string) {
    this.raw = src.replace(/\r\n/g, '\n').split('\n');
  }
  /** The next line with content, or undefined at the end. */
  peek(): Line | undefined {
    while (this.pos < this.raw.length) {
      const line = this.raw[this.pos]!;
      const text = stripComment(line.trimStart()).trimEnd();
      if (text === '' || text === '---') {
        this.pos++;
        continue;
      }
      if (/^\t/.test(line)) throw new Error(`line ${this.pos + 1}: tab indentation`);
      return { no: this.pos + 1, indent: line.length - line.trimStart().length, text };
    }
    return undefined;
  }
}

export function parseYaml(src: string): Yaml {
  const r = new Reader(src);
  const first = r.peek();
  if (first === undefined) return null;
  const value = parseBlock(r, first.indent, first.text);
  const rest = r.peek();
  if (rest !== undefined) throw new Error(`line ${rest.no}: unexpected indentation`);
  return value;
}

function parseBlock(r: Reader, indent: number, text: string): Yaml {
  return isSeqItem(text) ? parseSeq(r, indent) : parseMap(r, indent);
}

const isSeqItem = (text: string): boolean => text === '-' || text.startsWith('- ');

function parseSeq(r: Reader, indent: number): Yaml[] {
  const out: Yaml[] = [];
  for (let l = r.peek(); l !== undefined && l.indent === indent && isSeqItem(l.text); l = r.peek()) {
    const rest = l.text.slice(1).trimStart();
    if (rest === '') {
      r.pos++;
      out.push(parseChild(r, indent));
    } else if (keyOf(rest) !== undefined) {
      // "- key: value" opens a map whose keys line up with `key`
      const inner = indent + (l.text.length - rest.length);
      r.raw[r.pos] = ' '.repeat(inner) + r.raw[r.pos]!.trimStart().slice(l.text.length - rest.length);
      out.push(parseMap(r, inner));
    } else {
      r.pos++;
      out.push(parseInline(rest, l.no));
    }
  }
  return out;
}

function parseMap(r: Reader, indent: number): { [key: string]: Yaml } {
  const out: { [key: string]: Yaml } = {};
  for (let l = r.peek(); l !== undefined && l.indent === indent && !isSeqItem(l.text); l = r.peek()) {
    const kv = keyOf(l.text);
    if (kv === undefined) throw new Error(`line ${l.no}: expected "key: value", got ${l.text}`);
    if (Object.hasOwn(out, kv.key)) throw new Error(`line ${l.no}: duplicate key ${kv.key}`);
    r.pos++;
    if (kv.rest === '') {
      const next = r.peek();
      // a sequence may sit at the same indentation as its key
      out[kv.key] = next !== undefined && next.indent === indent && isSeqItem(next.text) ? parseSeq(r, indent) : parseChild(r, indent);
    } else if (/^[|>][-+]?$/.test(kv.rest)) {
      out[kv.key] = blockScalar(r, indent, kv.rest);
    } else {
      out[kv.key] = parseInline(kv.rest, l.no);
    }
  }
  return out;
}

function parseChild(r: Reader, parentIndent: number): Yaml {
  const next = r.peek();
  if (next === undefined || next.indent <= parentIndent) return null;
  return parseBlock(r, next.indent, next.text);
}

function blockScalar(r: Reader, indent: number, style: string): string {
  const lines: string[] = [];
  let contentIndent = -1;
  while (r.pos < r.raw.length) {
    const line = r.raw[r.pos]!;
    const lead = line.length - line.trimStart().length;
    if (line.trim() !== '' && lead <= indent) break;
    if (contentIndent < 0 && line.trim() !== '') contentIndent = lead;
    lines.push(line.trim() === '' ? '' : line.slice(contentIndent));
    r.pos++;
  }
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const body = style.startsWith('>') ? lines.join('\n').replace(/([^\n])\n(?=[^\n])/g, '$1 ') : lines.join('\n');
  return style.endsWith('-') ? body : `${body}\n`;
}

/** `key: rest` when the line is a map entry (the colon must be outside quotes and followed by space or end). */
function keyOf(text: string): { key: string; rest: string } | undefined {
  if (text.startsWith('[') || text.startsWith('{')) return undefined;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== '') {
      if (c === quote) quote = '';
    } else if ((c === '"' || c === "'") && i === 0) {
      quote = c;
    } else if (c === ':' && (i + 1 === text.length || text[i + 1] === ' ')) {
      const key = text.slice(0, i).trim();
      return { key: String(scalar(key)), rest: text.slice(i + 1).trim() };
    }
  }
  return undefined;
}

function stripComment(text: string): string {
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== '') {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") {
      if (i === 0 || /[\s:[{,-]/.test(text[i - 1]!)) quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      return text.slice(0, i);
    }
  }
  return text;
}

function parseInline(text: string, no: number): Yaml {
  const p = { s: text.trim(), i: 0 };
  const v = flowValue(p, no, false);
  if (p.s.slice(p.i).trim() !== '') throw new Error(`line ${no}: trailing text after value: ${p.s.slice(p.i)}`);
  return v;
}

function flowValue(p: { s: string; i: number }, no: number, inFlow: boolean): Yaml {
  while (p.s[p.i] === ' ') p.i++;
  const c = p.s[p.i];
  if (c === '[' || c === '{') {
    const close = c === '[' ? ']' : '}';
    p.i++;
    const arr: Yaml[] = [];
    const obj: { [key: string]: Yaml } = {};
    for (;;) {
      while (p.s[p.i] === ' ') p.i++;
      if (p.s[p.i] === close) break;
      if (c === '[') arr.push(flowValue(p, no, true));
      else {
        const key = String(flowValue(p, no, true));
        if (p.s[p.i] !== ':') throw new Error(`line ${no}: expected ":" in flow map`);
        p.i++;
        obj[key] = flowValue(p, no, true);
      }
      while (p.s[p.i] === ' ') p.i++;
      if (p.s[p.i] === ',') p.i++;
      else if (p.s[p.i] !== close) throw new Error(`line ${no}: expected "," or "${close}"`);
    }
    p.i++;
    return c === '[' ? arr : obj;
  }
  if (c === '"' || c === "'") {
    let out = '';
    for (p.i++; p.i < p.s.length; p.i++) {
      const ch = p.s[p.i]!;
      if (c === "'" && ch === "'" && p.s[p.i + 1] === "'") {
        out += "'";
        p.i++;
      } else if (ch === c) {
        p.i++;
        return out;
      } else if (c === '"' && ch === '\\') {
        const e = p.s[++p.i]!;
        out += ({ n: '\n', t: '\t', '"': '"', '\\': '\\', '/': '/' } as Record<string, string>)[e] ?? `\\${e}`;
      } else out += ch;
    }
    throw new Error(`line ${no}: unterminated string`);
  }
  const start = p.i;
  for (; p.i < p.s.length; p.i++) {
    const ch = p.s[p.i];
    if (inFlow && (ch === ',' || ch === ']' || ch === '}')) break;
    if (inFlow && ch === ':' && (p.i + 1 === p.s.length || p.s[p.i + 1] === ' ')) break;
  }
  return scalar(p.s.slice(start, p.i).trim());
}

function scalar(text: string): Yaml {
  if (/^(["']).*\1$/.test(text)) return flowValue({ s: text, i: 0 }, 0, false);
  if (text === '' || text === '~' || text === 'null') return null;
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (/^[-+]?(\d+|\d*\.\d+)([eE][-+]?\d+)?$/.test(text)) return Number(text);
  return text;
}
