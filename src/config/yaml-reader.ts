// Typed, located reads over a parsed YAML document. Every read either returns a value or records an
// issue pointing at the node's line and column (via the LineCounter) with its key path, and returns
// undefined, so validation goes on and reports every problem of the file at once.
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { ConfigIssue } from './errors.js';
import { didYouMean } from './suggest.js';
import { parseDurationText, parseSize } from './units.js';

/** A value in the document: the node (aliases resolved), where to point at, and its key path. */
export interface Located {
  readonly node: Node | null;
  /** The node an issue points at: the value as written (an alias, not its anchor), else its key */
  readonly at: Node | null;
  readonly path: string;
}

export interface Entry {
  readonly key: string;
  readonly keyAt: Located;
  readonly value: Located;
}

const PLAIN_KEY_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (!PLAIN_KEY_RE.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent ? `${parent}.${key}` : key;
}

function describeNode(node: Node | null): string {
  if (node === null || (isScalar(node) && node.value === null)) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return typeof node.value === 'string' ? 'text' : typeof node.value === 'number' ? 'a number' : typeof node.value === 'boolean' ? 'true/false' : 'a value';
  return 'a value';
}

export class YamlReader {
  readonly issues: ConfigIssue[] = [];

  constructor(
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  root(): Located {
    const node = this.deref(this.doc.contents as Node | null);
    return { node, at: this.doc.contents as Node | null, path: '' };
  }

  /** Records an issue at `loc` and returns undefined, so reads can `return r.fail(…)`. */
  fail(loc: Located, message: string): undefined {
    const offset = loc.at?.range?.[0] ?? loc.node?.range?.[0] ?? 0;
    const { line, col } = this.lines.linePos(offset);
    this.issues.push({ line, col, path: loc.path, message });
    return undefined;
  }

  isAbsent(loc: Located): boolean {
    return loc.node === null || (isScalar(loc.node) && loc.node.value === null);
  }

  /** The pairs of a mapping, in file order; undefined (and an issue) when it is not one. */
  entries(loc: Located): Entry[] | undefined {
    if (!isMap(loc.node)) return this.fail(loc, `expected a mapping (key: value), got ${describeNode(loc.node)}`);
    const out: Entry[] = [];
    for (const pair of loc.node.items) {
      const keyNode = pair.key as Node | null;
      const keyAt: Located = { node: keyNode, at: keyNode, path: loc.path };
      const k = isScalar(keyNode) ? keyNode.value : undefined;
      if (typeof k !== 'string' && typeof k !== 'number') {
        this.fail(keyAt, 'keys must be plain text');
        continue;
      }
      const key = String(k);
      const valueNode = pair.value as Node | null;
      const path = childPath(loc.path, key);
      out.push({
        key,
        keyAt: { ...keyAt, path },
        value: { node: this.deref(valueNode), at: valueNode?.range ? valueNode : keyNode, path },
      });
    }
    return out;
  }

  /**
   * A mapping with a fixed set of keys: unknown keys are refused (with a "did you mean"), missing
   * required ones reported at the mapping. Returns the present keys.
   */
  object(loc: Located, known: readonly string[], required: readonly string[] = []): Partial<Record<string, Located>> | undefined {
    const entries = this.entries(loc);
    if (!entries) return undefined;
    const out: Partial<Record<string, Located>> = {};
    for (const e of entries) {
      if (!known.includes(e.key)) {
        this.fail(e.keyAt, `unknown key "${e.key}"${didYouMean(e.key, known)}; expected one of ${known.join(', ')}`);
        continue;
      }
      out[e.key] = e.value;
    }
    for (const k of required) {
      if (out[k] === undefined || this.isAbsent(out[k]!)) this.fail(loc, `missing "${k}"`);
    }
    return out;
  }

  list(loc: Located): Located[] | undefined {
    if (!isSeq(loc.node)) return this.fail(loc, `expected a list, got ${describeNode(loc.node)}`);
    return loc.node.items.map((item, i) => {
      const node = item as Node | null;
      return { node: this.deref(node), at: node?.range ? node : loc.at, path: childPath(loc.path, i) };
    });
  }

  /** One item or a list of them (`fast: openai/x` or `fast: [openai/x, backup/x]`) */
  oneOrList(loc: Located): Located[] | undefined {
    return isSeq(loc.node) ? this.list(loc) : [loc];
  }

  string(loc: Located, opts: { nonEmpty?: boolean } = { nonEmpty: true }): string | undefined {
    const v = isScalar(loc.node) ? loc.node.value : undefined;
    if (typeof v !== 'string') return this.fail(loc, `expected text, got ${describeNode(loc.node)}${typeof v === 'number' ? ' (quote it)' : ''}`);
    if (opts.nonEmpty !== false && v.trim() === '') return this.fail(loc, 'must not be empty');
    return v;
  }

  bool(loc: Located): boolean | undefined {
    const v = isScalar(loc.node) ? loc.node.value : undefined;
    if (typeof v !== 'boolean') return this.fail(loc, `expected true or false, got ${describeNode(loc.node)}`);
    return v;
  }

  number(loc: Located, opts: { min: number; max: number; integer?: boolean }): number | undefined {
    const v = isScalar(loc.node) ? loc.node.value : undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) return this.fail(loc, `expected a number, got ${describeNode(loc.node)}`);
    if (opts.integer && !Number.isInteger(v)) return this.fail(loc, 'expected a whole number');
    if (v < opts.min || v > opts.max) return this.fail(loc, `must be from ${opts.min} to ${opts.max}`);
    return v;
  }

  oneOf<T extends string>(loc: Located, values: readonly T[]): T | undefined {
    const v = this.string(loc);
    if (v === undefined) return undefined;
    if (!(values as readonly string[]).includes(v)) {
      return this.fail(loc, `"${v}" is not one of ${values.join(', ')}${didYouMean(v, values)}`);
    }
    return v as T;
  }

  /** `60s`, `10m`, `30d` → ms */
  duration(loc: Located, opts: { allowZero?: boolean } = {}): number | undefined {
    const v = isScalar(loc.node) ? loc.node.value : undefined;
    if (typeof v === 'number') return this.fail(loc, `a duration needs a unit: write "${v}s" or "${v}ms"`);
    if (typeof v !== 'string') return this.fail(loc, `expected a duration like 60s, 10m, 30d, got ${describeNode(loc.node)}`);
    const ms = parseDurationText(v, opts.allowZero);
    if (ms === null) return this.fail(loc, `"${v}" is not a duration like 500ms, 60s, 10m, 12h, 30d`);
    return ms;
  }

  /** `32MiB`, `512KB`, a number of bytes → bytes */
  size(loc: Located): number | undefined {
    const v = isScalar(loc.node) ? loc.node.value : undefined;
    if (typeof v !== 'string' && typeof v !== 'number') return this.fail(loc, `expected a size like 32MiB, got ${describeNode(loc.node)}`);
    const bytes = parseSize(v);
    if (bytes === null) return this.fail(loc, `"${v}" is not a size like 512KiB, 32MiB, 1GB (or a number of bytes)`);
    return bytes;
  }

  /** The value as plain JS (for options ibex passes on without knowing their shape) */
  plain(loc: Located): unknown {
    if (loc.node === null) return null;
    try {
      return loc.node.toJS(this.doc, { maxAliasCount: 100 });
    } catch {
      // The library's guard against alias bombs ("billion laughs")
      return this.fail(loc, 'too many aliases');
    }
  }

  private deref(node: Node | null | undefined): Node | null {
    if (node && isAlias(node)) return (node.resolve(this.doc) as Node | undefined) ?? null;
    return node ?? null;
  }
}
