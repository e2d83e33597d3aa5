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
  ) {
    super(message);
  }
}

/** Options of {@link compileTemplate}. Templates compiled here are always strict. */
export interface TemplateOptions {
  /** Escapes every `{{ output }}` (HTML, Slack mrkdwn, ...). */
  escape?: OutputEscape;
  /** IANA zone of the `date` filter. Default `UTC`. */
  timeZone?: string;
}

/** A compiled template. */
export interface CompiledTemplate {
  /** The config field this template came from. */
  readonly name: string;
  readonly source: string;
  /** Top-level variables the template reads (`record`, `records`, `batch`, ...). */
  readonly globals: readonly string[];
  /** Renders against `scope`; throws a {@link TemplateError} naming the template and variable. */
  render(scope: object): string;
}

// One engine per (escape, zone): engines are stateless, and templates compile far more often
// than options change.
const engines = new Map<OutputEscape | undefined, Map<string, Liquid>>();

function engine({ escape, timeZone = 'UTC' }: TemplateOptions): Liquid {
  let byZone = engines.get(escape);
  if (!byZone) engines.set(escape, (byZone = new Map()));
  let found = byZone.get(timeZone);
  if (!found) byZone.set(timeZone, (found = createSandboxedLiquid({ escape, timeZone })));
  return found;
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
export function compileTemplate(name: string, source: string, options?: TemplateOptions | OutputEscape): CompiledTemplate {
  const liquid = engine(asOptions(options));
  let parsed: Template[];
  let globals: string[];
  try {
    parsed = liquid.parse(source);
    globals = liquid.globalVariablesSync(parsed);
  } catch (err) {
    throw new TemplateError(name, `template ${name}: ${describe(err).message}`);
  }
  return {
    name,
    source,
    globals,
    render(scope) {
      try {
        return liquid.renderSync(parsed, scope) as string;
      } catch (err) {
        const { message, variable } = describe(err);
        throw new TemplateError(name, variable ? `template ${name}: variable ${variable} is missing` : `template ${name}: ${message}`, variable);
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
export function templateProblem(source: string, options?: TemplateOptions | OutputEscape): string | undefined {
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
export function templateReads(source: string, variable: string, options?: TemplateOptions | OutputEscape): boolean {
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
