/**
 * Compiled, strict message templates: a template that reads a missing variable fails with an
 * error naming the template and the variable instead of silently producing an empty string.
 * Optional fields are written `{{ record.x | default: '-' }}` or guarded with `{% if record.x %}`.
 *
 * @packageDocumentation
 */
import type { Liquid, Template } from 'liquidjs';
import { createSandboxedLiquid, type OutputEscape } from './engine.js';

/**
 * A template could not be compiled or rendered. `template` names the config field it came from
 * (`subject`, `text`, `key`, `to[0]`), `variable` the missing variable when that is the cause.
 *
 * @example
 * ```ts
 * try { subject.render({ record: {} }); }
 * catch (err) { if (err instanceof TemplateError) console.log(err.template, err.variable); } // "subject" "record.name"
 * ```
 */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';

  constructor(
    readonly template: string,
    message: string,
    readonly variable?: string,
    /** What is wrong with `variable`: `is missing`, or what a `checkOutput` said (`is an array, not a text or number`). */
    readonly problem?: string,
  ) {
    super(message);
  }
}

/**
 * Finds what is wrong with one output value (for `checkOutput`), or `undefined` when it may be
 * inserted.
 */
export type OutputCheck = (value: unknown) => string | undefined;

/**
 * The {@link OutputCheck} of contexts that take one scalar per placeholder (a URL, a path, a
 * header): null, missing, arrays and objects are refused rather than rendered as `""`,
 * `null` or `[object Object]`.
 *
 * @example
 * ```ts
 * scalarOutputProblem([1]); // "is an array, not a text or number"
 * scalarOutputProblem(42);  // undefined
 * ```
 */
export function scalarOutputProblem(value: unknown): string | undefined {
  if (value === undefined) return 'is missing';
  if (value === null) return 'is null';
  if (typeof value === 'object')
    return `is ${Array.isArray(value) ? 'an array' : 'an object'}, not a text or number`;
  return undefined;
}

/** Thrown by an output whose value its {@link OutputCheck} refused; turned into a TemplateError. */
class RefusedOutput extends Error {
  constructor(readonly problem: string) {
    super(`an output ${problem}`);
  }
}

/** Options of {@link compileTemplate}. Templates compiled here are always strict. */
export interface TemplateOptions {
  /** Escapes every `{{ output }}` (HTML, Slack mrkdwn, ...). */
  escape?: OutputEscape;
  /** IANA zone of the `date` filter. Default `UTC`. */
  timeZone?: string;
  /**
   * Refuses some output values (see {@link scalarOutputProblem}); the render then fails with a
   * TemplateError naming the variable. Pass a function that lives as long as the module (engines
   * are cached by it).
   */
  checkOutput?: OutputCheck;
  /**
   * Refuses an output whose value is more than one expression (`{{ a b }}`, `{{ a, b }}`), which
   * Liquid itself reads as `{{ a }}`: for fields whose older syntax refused those. Default `false`.
   */
  strictOutputSyntax?: boolean;
}

// One value (a variable path, a quoted string, a number or a range), then optional filters.
const OUTPUT = /\{\{-?([\s\S]*?)-?\}\}/g;
const SINGLE_VALUE =
  /^\s*(?:[A-Za-z_][\w-]*(?:\.[\w-]+|\[\s*(?:\d+|'[^']*'|"[^"]*"|[A-Za-z_][\w.-]*)\s*\])*|'[^']*'|"[^"]*"|-?\d+(?:\.\d+)?|\(\s*\S+\s*\.\.\s*\S+\s*\))\s*(?:\|[\s\S]*)?$/;

function outputSyntaxProblem(source: string): string | undefined {
  for (const [raw, expression] of source.matchAll(OUTPUT)) {
    if (!SINGLE_VALUE.test(expression!))
      return `${raw} is not one value (a field, a quoted text or a number) followed by filters`;
  }
  return undefined;
}

/** A compiled template. */
export interface CompiledTemplate {
  /** The config field this template came from. */
  readonly name: string;
  readonly source: string;
  /** Top-level variables the template reads (`record`, `records`, `batch`, ...). */
  readonly globals: readonly string[];
  /** Every variable path the template reads, as Liquid spells it (`record.id`, `batch.id`, `record.tags['1']`). */
  readonly variables: readonly string[];
  /** Renders against `scope`; throws a {@link TemplateError} naming the template and variable. */
  render(scope: object): string;
}

// One engine per (escape, check, zone): engines are stateless, and templates compile far more
// often than options change.
const engines = new Map<
  OutputEscape | undefined,
  Map<OutputCheck | undefined, Map<string, Liquid>>
>();

function checked(escape: OutputEscape | undefined, check: OutputCheck): OutputEscape {
  return (value) => {
    const problem = check(value);
    if (problem !== undefined) throw new RefusedOutput(problem);
    return escape ? escape(value) : (value as string);
  };
}

function engine({ escape, checkOutput, timeZone = 'UTC' }: TemplateOptions): Liquid {
  let byCheck = engines.get(escape);
  if (!byCheck) engines.set(escape, (byCheck = new Map()));
  let byZone = byCheck.get(checkOutput);
  if (!byZone) byCheck.set(checkOutput, (byZone = new Map()));
  let found = byZone.get(timeZone);
  if (!found) {
    const outputEscape = checkOutput ? checked(escape, checkOutput) : escape;
    byZone.set(
      timeZone,
      (found = createSandboxedLiquid({
        ...(outputEscape ? { escape: outputEscape } : {}),
        timeZone,
      })),
    );
  }
  return found;
}

function refusedOutput(err: unknown): RefusedOutput | undefined {
  for (
    let cause = err;
    cause instanceof Error;
    cause = (cause as { originalError?: unknown }).originalError ?? cause.cause
  ) {
    if (cause instanceof RefusedOutput) return cause;
  }
  return undefined;
}

/** The first variable the template reads whose value `check` refuses: the one an output refused. */
function refusedVariable(
  liquid: Liquid,
  variables: readonly string[],
  scope: object,
  check: OutputCheck,
): string | undefined {
  for (const variable of variables) {
    let value: unknown;
    try {
      value = liquid.evalValueSync(variable, scope);
    } catch {
      continue; // not readable at the top level (a loop variable, say)
    }
    if (check(value) !== undefined) return variable;
  }
  return undefined;
}

const asOptions = (options: TemplateOptions | OutputEscape | undefined): TemplateOptions =>
  typeof options === 'function' ? { escape: options } : (options ?? {});

function describe(err: unknown): { message: string; variable?: string } {
  const message = err instanceof Error ? err.message : String(err);
  const undefinedVariable = /undefined variable: ([^,]+)/.exec(message);
  return undefinedVariable ? { message, variable: undefinedVariable[1]!.trim() } : { message };
}

/**
 * Compiles a sandboxed, strict liquidjs template once. Throws a {@link TemplateError} when the
 * syntax is invalid, it uses an unknown filter or it names a partial (there are none). The third
 * argument is the options, or just the output escape.
 *
 * @example
 * ```ts
 * import { compileTemplate } from '@sluice/core/template';
 *
 * const subject = compileTemplate('subject', 'Order {{ record.id }} shipped');
 * subject.render({ record: { id: 42 } }); // "Order 42 shipped"
 * subject.render({ record: {} });         // throws TemplateError "template subject: variable record.id is missing"
 * const key = compileTemplate('key', '{{ record.at | date: "%Y/%m/%d" }}', { timeZone: 'Europe/Berlin' });
 * ```
 */
export function compileTemplate(
  name: string,
  source: string,
  options?: TemplateOptions | OutputEscape,
): CompiledTemplate {
  const resolved = asOptions(options);
  const liquid = engine(resolved);
  let parsed: Template[];
  let globals: string[];
  let variables: string[];
  const syntax = resolved.strictOutputSyntax ? outputSyntaxProblem(source) : undefined;
  if (syntax) throw new TemplateError(name, `template ${name}: ${syntax}`);
  try {
    parsed = liquid.parse(source);
    globals = liquid.globalVariablesSync(parsed);
    variables = liquid.fullVariablesSync(parsed);
  } catch (err) {
    throw new TemplateError(name, `template ${name}: ${describe(err).message}`);
  }
  return {
    name,
    source,
    globals,
    variables,
    render(scope) {
      try {
        return liquid.renderSync(parsed, scope) as string;
      } catch (err) {
        const refused = refusedOutput(err);
        if (refused && resolved.checkOutput) {
          const variable = refusedVariable(liquid, variables, scope, resolved.checkOutput);
          const what = variable === undefined ? 'an output' : `variable ${variable}`;
          throw new TemplateError(
            name,
            `template ${name}: ${what} ${refused.problem}`,
            variable,
            refused.problem,
          );
        }
        const { message, variable } = describe(err);
        throw variable
          ? new TemplateError(
              name,
              `template ${name}: variable ${variable} is missing`,
              variable,
              'is missing',
            )
          : new TemplateError(name, `template ${name}: ${message}`);
      }
    },
  };
}

/**
 * The problem with a template source, or `undefined` when it compiles (for config validation).
 *
 * @example
 * ```ts
 * import { templateProblem } from '@sluice/core/template';
 *
 * templateProblem('{{ record.x | nope }}'); // "undefined filter: nope, line:1, col:1"
 * templateProblem('{{ record.x }}');        // undefined
 * ```
 */
export function templateProblem(
  source: string,
  options?: TemplateOptions | OutputEscape,
): string | undefined {
  try {
    compileTemplate('', source, options);
    return undefined;
  } catch (err) {
    return (err as Error).message.replace(/^template : /, '');
  }
}

/**
 * Whether a template reads the top-level variable `variable` (`record`, `records`, `batch`);
 * `false` when it does not compile (that problem is reported on the field itself).
 *
 * @example
 * ```ts
 * import { templateReads } from '@sluice/core/template';
 *
 * templateReads('{{ record.id }} of {{ batch.id }}', 'record');  // true
 * templateReads('{% for r in records %}{{ r.id }}{% endfor %}', 'record'); // false
 * ```
 */
export function templateReads(
  source: string,
  variable: string,
  options?: TemplateOptions | OutputEscape,
): boolean {
  try {
    return compileTemplate('', source, options).globals.includes(variable);
  } catch {
    return false;
  }
}

/**
 * Whether `source` is plain text with no Liquid output or tag (so it can be checked as a literal
 * value at config time).
 *
 * @example
 * ```ts
 * import { isStaticTemplate } from '@sluice/core/template';
 *
 * isStaticTemplate('#alerts');              // true
 * isStaticTemplate('{{ record.channel }}'); // false
 * ```
 */
export function isStaticTemplate(source: string): boolean {
  return !source.includes('{{') && !source.includes('{%');
}
