/**
 * Parses configuration text (YAML or JSON) into data, reporting syntax errors with line and
 * column, and keeps a way to find where a path is in the text so validation problems can
 * point at their line too.
 *
 * @packageDocumentation
 */
import { LineCounter, isNode, parseDocument } from 'yaml';
import type { PathSegments, Problem } from './issues.js';

/**
 * The syntax of configuration text. `auto` reads YAML, which also accepts JSON.
 *
 * @example
 * ```ts
 * parseConfigText(text, 'json');
 * ```
 */
export type ConfigFormat = 'yaml' | 'json' | 'auto';

/**
 * A 1-based position in configuration text.
 *
 * @example
 * ```ts
 * const at: SourcePosition | undefined = parseConfigText(text).locate(['server', 'port']);
 * ```
 */
export interface SourcePosition {
  line: number;
  column: number;
}

/**
 * Parsed text.
 *
 * @example
 * ```ts
 * const { value, problems }: ParsedText = parseConfigText(text);
 * ```
 */
export interface ParsedText {
  value: unknown;
  problems: Problem[];
  /** Where the value at `path` (or its nearest parent) is in the text, when known (1-based). */
  locate(path: PathSegments): SourcePosition | undefined;
}

/** Largest alias expansion accepted, against "billion laughs" documents. */
const MAX_ALIAS_COUNT = 100;

const noLocation = (): undefined => undefined;

/**
 * Parses YAML or JSON text. Never throws: syntax errors are returned as problems at the root,
 * with `line L, column C` in the message.
 *
 * @example
 * ```ts
 * const parsed = parseConfigText('server:\n  port: 8080\n', 'yaml');
 * parsed.value;                       // { server: { port: 8080 } }
 * parsed.locate(['server', 'port']);  // { line: 2, column: 9 }
 * ```
 */
export function parseConfigText(text: string, format: ConfigFormat = 'auto'): ParsedText {
  return format === 'json' ? parseJson(text) : parseYaml(text);
}

function parseJson(text: string): ParsedText {
  try {
    return { value: JSON.parse(text) as unknown, problems: [], locate: noLocation };
  } catch (error) {
    const message = (error as Error).message;
    const position = /at position (\d+)/.exec(message);
    // Some V8 messages carry no position; the YAML parser (a JSON superset) finds one.
    const offset = position
      ? Number(position[1])
      : parseDocument(text, { schema: 'json', logLevel: 'error' }).errors[0]?.pos[0];
    const where = offset === undefined ? '' : `${lineColumn(text, offset)}: `;
    const reason = message
      .replace(/\s*(in JSON )?at position \d+.*$/s, '')
      .replace(/, (\.\.\.)?".*" is not valid JSON$/s, '');
    return {
      value: undefined,
      problems: [{ path: [], message: `invalid JSON: ${where}${reason}` }],
      locate: noLocation,
    };
  }
}

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

/** Syntax errors reported at most, before a summary line. */
const MAX_SYNTAX_ERRORS = 3;

function parseYaml(text: string): ParsedText {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    merge: true,
    // Warnings would go to process.emitWarning; the library reports through errors only.
    logLevel: 'error',
  });
  const where = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `line ${line}, column ${col}`;
  };
  // One mistake (an unquoted `{`, a bad indent) makes the parser report every token after it;
  // the first few errors are the useful ones.
  const problems: Problem[] = doc.errors.slice(0, MAX_SYNTAX_ERRORS).map((error) => ({
    path: [],
    message: `invalid YAML at ${where(error.pos[0])}: ${error.message}`,
  }));
  if (doc.errors.length > MAX_SYNTAX_ERRORS) {
    problems.push({
      path: [],
      message: `${doc.errors.length - MAX_SYNTAX_ERRORS} more YAML error(s) after these; fix the first one and try again`,
    });
  }
  if (problems.length > 0) return { value: undefined, problems, locate: noLocation };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    return {
      value: undefined,
      problems: [{ path: [], message: `invalid YAML: ${(error as Error).message}` }],
      locate: noLocation,
    };
  }
  const locate = (path: PathSegments): SourcePosition | undefined => {
    for (let length = path.length; length > 0; length--) {
      let node: unknown;
      try {
        node = doc.getIn(path.slice(0, length), true);
      } catch {
        node = undefined;
      }
      if (isNode(node) && node.range) {
        const { line, col } = lineCounter.linePos(node.range[0]);
        return { line, column: col };
      }
    }
    return undefined;
  };
  return { value, problems: [], locate };
}
