/**
 * A small arithmetic language for the `compute` transform, parsed once into closures (never
 * `eval`): numbers, `null`, field references (a bare key such as `sessions` or a singular
 * JSONPath such as `$.totals.sessions`), `+ - * / %`, parentheses, and the functions
 * `abs round floor ceil min max coalesce`.
 *
 * Missing fields and `null` propagate (`null + 1` is `null`), as does division by zero, so a
 * percent change over a missing previous value is `null` rather than an error; a field that holds
 * a non-number (e.g. the string `"12"`) is an error for that record — `cast` it first.
 *
 * @packageDocumentation
 */
import {
  FieldPathSyntaxError,
  formatFieldPath,
  readEmbeddedFieldPath,
  readField,
  type FieldPath,
  type JsonValue,
  type SluiceRecord,
} from '@sluice/core';

/** A compiled expression: computes a number (or `null`) from a record. */
export type CompiledExpression = (record: SluiceRecord) => number | null;

/** An expression that does not parse; `position` is the 0-based offset of the problem. */
export class ExpressionSyntaxError extends Error {
  override readonly name = 'ExpressionSyntaxError';
  readonly position: number;
  constructor(message: string, position: number) {
    super(`${message} at position ${position}`);
    this.position = position;
  }
}

type Value = number | null;
type Node = (record: SluiceRecord) => Value;

const MAX_LENGTH = 2000;
const MAX_DEPTH = 64;

const FUNCTIONS: Record<string, { min: number; max: number; fn: (args: Value[]) => Value }> = {
  abs: { min: 1, max: 1, fn: ([x]) => (x == null ? null : Math.abs(x)) },
  floor: { min: 1, max: 1, fn: ([x]) => (x == null ? null : Math.floor(x)) },
  ceil: { min: 1, max: 1, fn: ([x]) => (x == null ? null : Math.ceil(x)) },
  round: {
    min: 1,
    max: 2,
    fn: ([x, digits]) => {
      if (x == null) return null;
      const d = digits == null ? 0 : Math.trunc(digits);
      const factor = 10 ** Math.max(-15, Math.min(15, d));
      // Round half away from zero, the way spreadsheets do.
      return (Math.sign(x) * Math.round(Math.abs(x) * factor)) / factor;
    },
  },
  min: {
    min: 1,
    max: 64,
    fn: (args) => (args.some((a) => a == null) ? null : Math.min(...(args as number[]))),
  },
  max: {
    min: 1,
    max: 64,
    fn: (args) => (args.some((a) => a == null) ? null : Math.max(...(args as number[]))),
  },
  coalesce: { min: 1, max: 64, fn: (args) => args.find((a) => a != null) ?? null },
};

/** Names of the functions an expression may call. */
export const EXPRESSION_FUNCTIONS: readonly string[] = Object.keys(FUNCTIONS);

/**
 * Parses an expression; throws {@link ExpressionSyntaxError} with the position of the problem.
 *
 * @example
 * ```ts
 * const change = compileExpression('round((sessions - $.previous.sessions) / $.previous.sessions * 100, 1)');
 * change({ sessions: 80, previous: { sessions: 100 } }); // -20
 * ```
 */
export function compileExpression(source: string): CompiledExpression {
  if (source.length > MAX_LENGTH)
    throw new ExpressionSyntaxError(
      `expression is longer than ${MAX_LENGTH} characters`,
      MAX_LENGTH,
    );
  const parser = new Parser(source);
  const node = parser.parseExpression(0);
  parser.skipSpace();
  if (!parser.done()) parser.fail(`unexpected ${JSON.stringify(source[parser.pos])}`);
  return (record) => {
    const value = node(record);
    return value === null || Number.isFinite(value) ? value : null;
  };
}

class Parser {
  pos = 0;
  constructor(private readonly src: string) {}

  done(): boolean {
    return this.pos >= this.src.length;
  }

  fail(message: string, at: number = this.pos): never {
    throw new ExpressionSyntaxError(message, at);
  }

  skipSpace(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos]!)) this.pos++;
  }

  peek(): string {
    this.skipSpace();
    return this.src[this.pos] ?? '';
  }

  parseExpression(depth: number): Node {
    if (depth > MAX_DEPTH) this.fail('expression is nested too deeply');
    let left = this.parseTerm(depth);
    for (;;) {
      const op = this.peek();
      if (op !== '+' && op !== '-') return left;
      this.pos++;
      const right = this.parseTerm(depth);
      left = arithmetic(op, left, right);
    }
  }

  parseTerm(depth: number): Node {
    let left = this.parseUnary(depth);
    for (;;) {
      const op = this.peek();
      if (op !== '*' && op !== '/' && op !== '%') return left;
      this.pos++;
      const right = this.parseUnary(depth);
      left = arithmetic(op, left, right);
    }
  }

  parseUnary(depth: number): Node {
    const c = this.peek();
    if (c === '-' || c === '+') {
      if (depth > MAX_DEPTH) this.fail('expression is nested too deeply');
      this.pos++;
      const operand = this.parseUnary(depth + 1);
      if (c === '+') return operand;
      return (r) => {
        const v = operand(r);
        return v === null ? null : -v;
      };
    }
    return this.parsePrimary(depth);
  }

  parsePrimary(depth: number): Node {
    const start = this.pos;
    const c = this.peek();
    if (c === '(') {
      this.pos++;
      const inner = this.parseExpression(depth + 1);
      if (this.peek() !== ')') this.fail('expected ")"');
      this.pos++;
      return inner;
    }
    if (/[0-9.]/.test(c)) {
      const m = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(this.src.slice(this.pos));
      if (!m) this.fail('invalid number');
      this.pos += m[0].length;
      const n = Number(m[0]);
      return () => n;
    }
    if (c === '$') return this.parseQuery();
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.src.slice(this.pos))!;
      const name = m[0];
      this.pos += name.length;
      if (this.peek() === '(') return this.parseCall(name, start, depth);
      if (name === 'null') return () => null;
      return fieldNode([name]);
    }
    return this.fail(c === '' ? 'unexpected end of expression' : `unexpected ${JSON.stringify(c)}`);
  }

  parseCall(name: string, start: number, depth: number): Node {
    const fn = Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
    if (!fn)
      this.fail(`unknown function "${name}" (known: ${EXPRESSION_FUNCTIONS.join(', ')})`, start);
    this.pos++; // (
    const args: Node[] = [];
    if (this.peek() !== ')') {
      for (;;) {
        args.push(this.parseExpression(depth + 1));
        const sep = this.peek();
        if (sep === ',') {
          this.pos++;
          continue;
        }
        if (sep === ')') break;
        this.fail('expected "," or ")"');
      }
    }
    this.pos++; // )
    if (args.length < fn.min || args.length > fn.max) {
      this.fail(
        `${name}() takes ${fn.min === fn.max ? fn.min : `${fn.min} to ${fn.max}`} argument(s), got ${args.length}`,
        start,
      );
    }
    const call = fn.fn;
    return (r) => call(args.map((a) => a(r)));
  }

  /** A field: a singular JSONPath (`$` then `.name`, `[index]` or `['name']` segments), read by core's field-path parser. */
  parseQuery(): Node {
    const start = this.pos;
    let read;
    try {
      read = readEmbeddedFieldPath(this.src, start);
    } catch (error) {
      if (!(error instanceof FieldPathSyntaxError)) throw error;
      this.fail(
        `invalid field reference ${JSON.stringify(error.text)}: ${error.reason}`,
        start + error.position,
      );
    }
    this.pos = read.end;
    return fieldNode(read.path);
  }
}

function fieldNode(path: FieldPath): Node {
  return (record) => toNumber(readField(record, path), path);
}

function toNumber(value: JsonValue | undefined, path: FieldPath): Value {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') return value;
  throw new TypeError(
    `field ${formatFieldPath(path)} is not a number (got ${JSON.stringify(value).slice(0, 60)}); cast it first`,
  );
}

function arithmetic(op: string, left: Node, right: Node): Node {
  switch (op) {
    case '+':
      return (r) => {
        const a = left(r);
        const b = right(r);
        return a === null || b === null ? null : a + b;
      };
    case '-':
      return (r) => {
        const a = left(r);
        const b = right(r);
        return a === null || b === null ? null : a - b;
      };
    case '*':
      return (r) => {
        const a = left(r);
        const b = right(r);
        return a === null || b === null ? null : a * b;
      };
    case '/':
      return (r) => {
        const a = left(r);
        const b = right(r);
        return a === null || b === null || b === 0 ? null : a / b;
      };
    default:
      return (r) => {
        const a = left(r);
        const b = right(r);
        return a === null || b === null || b === 0 ? null : a % b;
      };
  }
}
