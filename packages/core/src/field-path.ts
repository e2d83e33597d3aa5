/**
 * The one way a configuration names a field of a record (DESIGN §11): a **plain key**
 * (`sessions`, also `utm.source` as one key, which is what the `flatten` transform produces) or a
 * **singular JSONPath** (`$.utm.source`, `$.items[0]`, `$['x y']`, `$.items[-1]`): RFC 9535's
 * singular-query grammar, a chain of name and index selectors. Transforms, structured route
 * conditions, database columns (`from`), Prometheus metrics and webhook placeholders all compile
 * their fields here, once, and read and write them with {@link readField} / {@link setField} /
 * {@link deleteField}.
 *
 * The parser is written by hand (about a hundred lines) so that core carries no JSONPath
 * engine: a singular query has no filters or functions to evaluate, and the router's
 * compliance test checks this parser against json-p3 on every case of the RFC 9535 suite.
 * Queries that select several values (wildcards, filters, `..`) are the router's JSONPath
 * conditions and `set`/`compute` expressions, not field paths.
 *
 * Deprecated: the dot paths that Prometheus metrics and webhook placeholders took before
 * (`items.0.price`, `$.items.0.price`) are still read where they were read before, through
 * {@link FieldPathOptions.dotPaths}; {@link dotPathReplacement} gives the spelling to write.
 *
 * @packageDocumentation
 */
import * as v from 'valibot';
import { ConfigError } from './errors.js';
import type { JsonValue, SluiceRecord } from './record.js';

/**
 * A compiled field path: the keys from the record's root to the field (a string follows an
 * object member, a number an array index; a negative index counts from the end).
 *
 * @example
 * ```ts
 * const path: FieldPath = ['items', 0, 'sku'];
 * ```
 */
export type FieldPath = readonly (string | number)[];

/**
 * Options of {@link parseFieldPath} and {@link compileFieldPath}.
 *
 * @example
 * ```ts
 * parseFieldPath('$', { root: true }); // [] — the whole record
 * ```
 */
export interface FieldPathOptions {
  /** Accept `$` alone, the whole record (a database `json` column holding the record). Default false. */
  root?: boolean;
  /**
   * Also read the deprecated dot paths (`totals.revenue`, `items.0.price`, `$.items.0.price`) as
   * nested fields. Then a plain name containing a dot is always a dot path, never one key (write
   * `$['utm.source']` for a key with a dot). Only for the configs that took dot paths before.
   * Default false.
   */
  dotPaths?: boolean;
}

/**
 * A field path that does not parse; `position` is the 0-based offset of the offending character.
 *
 * @example
 * ```ts
 * try { parseFieldPath('$.items[*]'); }
 * catch (error) { if (error instanceof FieldPathSyntaxError) console.log(error.position); } // 8
 * ```
 */
export class FieldPathSyntaxError extends Error {
  override readonly name = 'FieldPathSyntaxError';
  readonly text: string;
  readonly position: number;
  /** What is wrong, without the text and the position (for callers that compose their own message). */
  readonly reason: string;

  constructor(text: string, position: number, reason: string) {
    super(
      `${JSON.stringify(text)} is not a field path: ${reason} at position ${position} ` +
        '(write a field name, or a singular JSONPath of names and indexes such as "$.a.b[0]")',
    );
    this.text = text;
    this.position = position;
    this.reason = reason;
  }
}

/** The largest array index a JSONPath may write (I-JSON's exact integers, RFC 9535 §2.1). */
const MAX_INDEX = 2 ** 53 - 1;
const DOT_SEGMENT = /^(?:[A-Za-z_$][\w$-]*|\d+)$/;
const SHORTHAND = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ESCAPES: Readonly<Record<string, string>> = {
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  '/': '/',
  '\\': '\\',
  "'": "'",
  '"': '"',
};

/**
 * Parses a field path. Throws {@link FieldPathSyntaxError} naming the position when it is
 * neither a plain key nor a singular JSONPath (or `$` alone without `root`).
 *
 * @example
 * ```ts
 * parseFieldPath('sessions');          // ['sessions']
 * parseFieldPath('utm.source');        // ['utm.source']
 * parseFieldPath("$.items[0]['x y']"); // ['items', 0, 'x y']
 * parseFieldPath('items.0.price', { dotPaths: true }); // ['items', 0, 'price'] (deprecated)
 * ```
 */
export function parseFieldPath(text: string, options: FieldPathOptions = {}): FieldPath {
  if (text === '') throw new FieldPathSyntaxError(text, 0, 'it is empty');
  if (options.dotPaths) {
    const dotted = dotPathKeys(text);
    if (dotted) return dotted;
    if (!text.startsWith('$') && text.includes('.')) {
      throw new FieldPathSyntaxError(
        text,
        text.indexOf('.'),
        "a name with a dot is read as a dot path of names and indexes, and this one is not (write $['a.b'] for one key with a dot)",
      );
    }
  }
  if (!text.startsWith('$')) return [text];
  const { keys } = parseSingularQuery(text);
  if (keys.length === 0 && !options.root)
    throw new FieldPathSyntaxError(text, 1, '"$" alone is the whole record, not a field');
  return keys;
}

/**
 * When `text` is read as a deprecated dot path (with {@link FieldPathOptions.dotPaths}), the
 * spelling to write instead; otherwise `undefined`.
 *
 * @example
 * ```ts
 * dotPathReplacement('items.0.price'); // "$.items[0].price"
 * dotPathReplacement('$.a.b');         // undefined (already a singular JSONPath)
 * ```
 */
export function dotPathReplacement(text: string): string | undefined {
  const keys = dotPathKeys(text);
  return keys ? formatFieldPath(keys) : undefined;
}

/**
 * What is wrong with a field path, or `undefined` when it parses (for schemas and checks).
 *
 * @example
 * ```ts
 * fieldPathProblem('$.a.b');     // undefined
 * fieldPathProblem('$.items[*]'); // '"$.items[*]" is not a field path: ...'
 * ```
 */
export function fieldPathProblem(
  text: unknown,
  options: FieldPathOptions = {},
): string | undefined {
  if (typeof text !== 'string')
    return 'must be a field name or a singular JSONPath such as "$.a.b"';
  try {
    parseFieldPath(text, options);
    return undefined;
  } catch (error) {
    if (error instanceof FieldPathSyntaxError) return error.message;
    throw error;
  }
}

/**
 * Compiles a field path from config, once; a {@link ConfigError} whose issue has the path `at`
 * (and the position in `details`) when it does not parse.
 *
 * @example
 * ```ts
 * compileFieldPath('$.utm.source', 'routes[0].transform[1].field'); // ['utm', 'source']
 * ```
 */
export function compileFieldPath(
  text: unknown,
  at: string,
  options: FieldPathOptions = {},
): FieldPath {
  if (typeof text !== 'string')
    throw new ConfigError([
      { path: at, message: 'must be a field name or a singular JSONPath such as "$.a.b"' },
    ]);
  try {
    return parseFieldPath(text, options);
  } catch (error) {
    if (error instanceof FieldPathSyntaxError)
      throw new ConfigError([{ path: at, message: error.message }], {
        details: { position: error.position },
      });
    throw error;
  }
}

/**
 * Reads the singular JSONPath that starts at `start` of a larger text (an operand of a `compute`
 * expression such as `$.totals.revenue / 100`): it ends before the first character that cannot
 * continue it. Throws {@link FieldPathSyntaxError} (positions relative to `start`) when what
 * follows `$` is not a singular query.
 *
 * @example
 * ```ts
 * readEmbeddedFieldPath('round($.a[0] * 2)', 6); // { path: ['a', 0], end: 12 }
 * ```
 */
export function readEmbeddedFieldPath(
  text: string,
  start: number,
): { path: FieldPath; end: number } {
  if (text[start] !== '$') throw new FieldPathSyntaxError(text.slice(start), 0, 'expected "$"');
  const { keys, end } = parseSingularQuery(text, start, true);
  if (keys.length === 0)
    throw new FieldPathSyntaxError(
      text.slice(start),
      1,
      '"$" alone is the whole record, not a field',
    );
  return { path: keys, end };
}

/**
 * A valibot schema of a field path written in a plugin's config: a string that
 * {@link parseFieldPath} accepts, kept as written (compile it once in `create()`).
 *
 * @example
 * ```ts
 * const columnSchema = v.object({ from: v.optional(fieldPathSchema({ root: true })) });
 * ```
 */
export function fieldPathSchema(options: FieldPathOptions = {}) {
  return v.pipe(
    v.string('must be a field name or a singular JSONPath such as "$.a.b"'),
    v.rawCheck<string>(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const problem = fieldPathProblem(dataset.value, options);
      if (problem) addIssue({ message: problem });
    }),
  );
}

/**
 * Reads a field the way a singular query does: own properties of objects only, array indexes
 * (negative counts from the end), `undefined` when any step is missing.
 *
 * @example
 * ```ts
 * readField({ a: [1, 2] }, ['a', -1]); // 2
 * readField({ a: 1 }, ['constructor']); // undefined
 * ```
 */
export function readField(value: JsonValue, path: FieldPath): JsonValue | undefined {
  let current: JsonValue | undefined = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    if (Array.isArray(current)) {
      if (typeof key !== 'number') return undefined;
      current = current[key < 0 ? current.length + key : key];
    } else {
      if (typeof key !== 'string' || !Object.hasOwn(current, key)) return undefined;
      current = current[key];
    }
  }
  return current;
}

/**
 * Returns a copy of `record` with the field set, creating intermediate objects (or arrays, for
 * an index) as needed; only the objects along the path are copied, the input is never mutated.
 * Throws when the path runs through a value that is not an object or array.
 *
 * @example
 * ```ts
 * setField({ a: 1 }, ['b', 'c'], 2); // { a: 1, b: { c: 2 } }
 * ```
 */
export function setField(record: SluiceRecord, path: FieldPath, value: JsonValue): SluiceRecord {
  return setIn(record, path, 0, value) as SluiceRecord;
}

function setIn(
  container: JsonValue | undefined,
  path: FieldPath,
  i: number,
  value: JsonValue,
): JsonValue {
  const key = path[i]!;
  const last = i === path.length - 1;
  if (container === undefined) container = typeof key === 'number' ? [] : {};
  if (container === null || typeof container !== 'object') {
    throw new Error(
      `cannot set ${formatFieldPath(path)}: ${formatFieldPath(path.slice(0, i))} is not an object`,
    );
  }
  if (Array.isArray(container)) {
    if (typeof key !== 'number') {
      throw new Error(
        `cannot set ${formatFieldPath(path)}: ${formatFieldPath(path.slice(0, i))} is an array`,
      );
    }
    const index = key < 0 ? container.length + key : key;
    if (index < 0 || index > container.length) {
      throw new Error(`cannot set ${formatFieldPath(path)}: index ${key} is out of range`);
    }
    const copy = container.slice();
    copy[index] = last ? value : setIn(copy[index], path, i + 1, value);
    return copy;
  }
  if (typeof key !== 'string') {
    throw new Error(
      `cannot set ${formatFieldPath(path)}: ${formatFieldPath(path.slice(0, i))} is an object`,
    );
  }
  const next = last
    ? value
    : setIn(Object.hasOwn(container, key) ? container[key] : undefined, path, i + 1, value);
  // A computed key defines an own, enumerable, writable data property even for "__proto__" (it
  // never touches a prototype), and is several times cheaper than a defineProperty on the copy.
  return { ...container, [key]: next };
}

/**
 * Returns a copy of `record` without the field (the same record when the field is absent).
 *
 * @example
 * ```ts
 * deleteField({ a: 1, b: 2 }, ['b']); // { a: 1 }
 * ```
 */
export function deleteField(record: SluiceRecord, path: FieldPath): SluiceRecord {
  return deleteIn(record, path, 0) as SluiceRecord;
}

function deleteIn(container: JsonValue, path: FieldPath, i: number): JsonValue {
  const key = path[i]!;
  const last = i === path.length - 1;
  if (container === null || typeof container !== 'object') return container;
  if (Array.isArray(container)) {
    if (typeof key !== 'number') return container;
    const index = key < 0 ? container.length + key : key;
    if (index < 0 || index >= container.length) return container;
    const copy = container.slice();
    if (last) copy.splice(index, 1);
    else copy[index] = deleteIn(copy[index]!, path, i + 1);
    return copy;
  }
  if (typeof key !== 'string' || !Object.hasOwn(container, key)) return container;
  const copy: SluiceRecord = { ...container };
  if (last) delete copy[key];
  else copy[key] = deleteIn(copy[key]!, path, i + 1);
  return copy;
}

/**
 * The canonical spelling of a field path, for messages (and what {@link parseFieldPath} reads
 * back).
 *
 * @example
 * ```ts
 * formatFieldPath(['items', 0, 'unit price']); // '$.items[0]["unit price"]'
 * ```
 */
export function formatFieldPath(path: FieldPath): string {
  let out = '$';
  for (const key of path)
    out +=
      typeof key === 'number'
        ? `[${key}]`
        : SHORTHAND.test(key)
          ? `.${key}`
          : `[${JSON.stringify(key)}]`;
  return out;
}

/**
 * Parses the deprecated dot form alone: names (letters, digits, `_ $ -`) and whole numbers
 * joined by dots, a number being an array index (`items.0.price` → `['items', 0, 'price']`). It
 * is what Prometheus metrics took before the field-path syntax and what webhook placeholders
 * take after `record.`; configs should write {@link parseFieldPath}'s syntax.
 *
 * @example
 * ```ts
 * parseDotPath('customer.id'); // ['customer', 'id']
 * parseDotPath('tags.1');      // ['tags', 1]
 * ```
 */
export function parseDotPath(text: string): FieldPath {
  const segments = text.split('.');
  let offset = 0;
  for (const segment of segments) {
    if (!DOT_SEGMENT.test(segment))
      throw new FieldPathSyntaxError(
        text,
        offset,
        'a dot path is names (letters, digits, _ $ -) and whole numbers joined by dots',
      );
    offset += segment.length + 1;
  }
  return segments.map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

// The deprecated dot path where `dotPaths` reads it: a dotted name, or one after "$." that is
// not a singular query already ("$.a.b" is the syntax itself, not deprecated).
function dotPathKeys(text: string): FieldPath | undefined {
  const body = text.startsWith('$.') ? text.slice(2) : text;
  if (!text.startsWith('$') ? !text.includes('.') : isSingularQuery(text)) return undefined;
  try {
    return parseDotPath(body);
  } catch {
    return undefined;
  }
}

function isSingularQuery(text: string): boolean {
  try {
    parseSingularQuery(text);
    return true;
  } catch {
    return false;
  }
}

// RFC 9535 singular-query = "$" *(S (name-segment / index-segment)), where
// name-segment = "[" S string-literal S "]" / "." member-name-shorthand and
// index-segment = "[" S int S "]"; S is blank space (space, tab, LF, CR).
// With `embedded`, the query is a prefix of `text` at `start` (an expression's operand): it ends
// before the first character that cannot continue it, instead of failing there.
function parseSingularQuery(
  text: string,
  start = 0,
  embedded = false,
): { keys: (string | number)[]; end: number } {
  const keys: (string | number)[] = [];
  let i = start + 1;
  const fail = (at: number, reason: string): never => {
    throw new FieldPathSyntaxError(embedded ? text.slice(start) : text, at - start, reason);
  };
  const blank = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  while (i < text.length) {
    const segmentStart = i;
    blank();
    if (embedded && text[i] !== '.' && text[i] !== '[') {
      i = segmentStart;
      break;
    }
    if (i >= text.length) fail(segmentStart, 'blank space after the last segment');
    const ch = text[i]!;
    if (ch === '.') {
      i++;
      const start = i;
      while (i < text.length) {
        const code = text.codePointAt(i)!;
        if (!(isNameFirst(code) || (i > start && code >= 0x30 && code <= 0x39))) break;
        i += code > 0xffff ? 2 : 1;
      }
      if (i === start)
        fail(
          start,
          text[start] === '.'
            ? '".." (descendants) selects several values'
            : text[start] === '*'
              ? 'a wildcard selects several values'
              : 'expected a member name after "."',
        );
      keys.push(text.slice(start, i));
    } else if (ch === '[') {
      i++;
      blank();
      const q = text[i];
      if (q === undefined) fail(i, 'unclosed "["');
      if (q === "'" || q === '"') keys.push(readString(q));
      else if (q === '-' || (q !== undefined && q >= '0' && q <= '9')) keys.push(readIndex());
      else
        fail(
          i,
          q === '*'
            ? 'a wildcard selects several values'
            : q === '?'
              ? 'a filter selects several values'
              : 'expected a quoted name or an index',
        );
      blank();
      if (text[i] === ',' || text[i] === ':')
        fail(
          i,
          text[i] === ','
            ? 'a list of selectors selects several values'
            : 'a slice selects several values',
        );
      if (text[i] !== ']') fail(i, i >= text.length ? 'unclosed "["' : 'expected "]"');
      i++;
    } else fail(i, 'expected "." or "["');
  }
  return { keys, end: i };

  function readIndex(): number {
    const start = i;
    if (text[i] === '-') i++;
    const digits = i;
    while (i < text.length && text[i]! >= '0' && text[i]! <= '9') i++;
    const literal = text.slice(start, i);
    if (i === digits) fail(digits, 'expected digits after "-"');
    if (text[digits] === '0' && (i - digits > 1 || literal === '-0'))
      fail(start, 'an index has no leading zeros (and no "-0")');
    const value = Number(literal);
    if (Math.abs(value) > MAX_INDEX) fail(start, `the index is beyond ±${MAX_INDEX}`);
    return value;
  }

  function readString(quote: string): string {
    let out = '';
    i++;
    for (;;) {
      if (i >= text.length) fail(i, `unterminated string, expected ${quote}`);
      const code = text.codePointAt(i)!;
      if (text[i] === quote) {
        i++;
        return out;
      }
      if (text[i] === '\\') {
        const escape = text[i + 1];
        if (escape === 'u') {
          out += readUnicodeEscape();
          continue;
        }
        // Inside '…' a \" is not an escape, and inside "…" a \' is not (RFC 9535 §2.3.1.1).
        if (
          escape === undefined ||
          !(escape in ESCAPES) ||
          (escape === "'" && quote === '"') ||
          (escape === '"' && quote === "'")
        )
          fail(i, 'invalid escape');
        out += ESCAPES[escape!]!;
        i += 2;
        continue;
      }
      if (code < 0x20 || (code >= 0xd800 && code <= 0xdfff))
        fail(i, code < 0x20 ? 'a control character must be escaped' : 'a lone surrogate');
      out += String.fromCodePoint(code);
      i += code > 0xffff ? 2 : 1;
    }
  }

  function readUnicodeEscape(): string {
    const hex = (at: number) =>
      /^[0-9A-Fa-f]{4}$/.test(text.slice(at, at + 4))
        ? parseInt(text.slice(at, at + 4), 16)
        : fail(at, 'expected four hex digits after "\\u"');
    const start = i;
    const unit = hex(i + 2);
    i += 6;
    if (unit >= 0xdc00 && unit <= 0xdfff) fail(start, 'a low surrogate without a high one');
    if (unit < 0xd800 || unit > 0xdbff) return String.fromCharCode(unit);
    if (text[i] !== '\\' || text[i + 1] !== 'u')
      fail(i, 'a high surrogate must be followed by a low one');
    const low = hex(i + 2);
    if (low < 0xdc00 || low > 0xdfff) fail(i, 'a high surrogate must be followed by a low one');
    i += 6;
    return String.fromCharCode(unit, low);
  }
}

// name-first = ALPHA / "_" / %x80-D7FF / %xE000-10FFFF
function isNameFirst(code: number): boolean {
  return (
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x61 && code <= 0x7a) ||
    code === 0x5f ||
    (code >= 0x80 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0x10ffff)
  );
}
