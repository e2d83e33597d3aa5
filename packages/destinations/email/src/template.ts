/**
 * Message templates: liquidjs, sandboxed (no file system, own properties only, bounded time and
 * memory) and strict, so a template that reads a missing variable fails with an error naming the
 * template and the variable instead of silently posting an empty string. Optional fields are
 * written `{{ record.x | default: '-' }}` or guarded with `{% if record.x %}`.
 *
 * @packageDocumentation
 */
import { Liquid, type Template } from 'liquidjs';

/**
 * A template could not be compiled or rendered. `template` names the config field
 * (`subject`, `text`, `html`, `to[0]`), `variable` the missing variable when that is the cause.
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

/** How rendered values are escaped before they are inserted. */
export type OutputEscape = (value: unknown) => string;

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

const LIMITS = { parseLimit: 100_000, renderLimit: 2_000, memoryLimit: 10_000_000 };

function engineFor(escape: OutputEscape | undefined): Liquid {
  return new Liquid({
    strictVariables: true,
    // Optional fields stay expressible: `{% if record.x %}` and `{{ record.x | default: '-' }}`.
    lenientIf: true,
    strictFilters: true,
    ownPropertyOnly: true,
    // An empty in-memory template map: `{% include %}` / `{% render %}` can never read a file.
    templates: {},
    cache: false,
    timezoneOffset: 0,
    ...LIMITS,
    ...(escape ? { outputEscape: (value: unknown) => escape(value) } : {}),
  });
}

const plainEngine = engineFor(undefined);
const engines = new Map<OutputEscape, Liquid>();

function engine(escape: OutputEscape | undefined): Liquid {
  if (!escape) return plainEngine;
  let found = engines.get(escape);
  if (!found) engines.set(escape, (found = engineFor(escape)));
  return found;
}

function describe(err: unknown): { message: string; variable?: string } {
  const message = err instanceof Error ? err.message : String(err);
  const undefinedVariable = /undefined variable: ([^,]+)/.exec(message);
  return undefinedVariable
    ? { message, variable: undefinedVariable[1]!.trim() }
    : { message };
}

/**
 * Compiles a liquidjs template once. Throws a {@link TemplateError} when the syntax is invalid
 * or it uses an unknown filter.
 *
 * @example
 * ```ts
 * const subject = compileTemplate('subject', 'Order {{ record.id }} shipped');
 * subject.render({ record: { id: 42 } }); // "Order 42 shipped"
 * ```
 */
export function compileTemplate(name: string, source: string, escape?: OutputEscape): CompiledTemplate {
  const liquid = engine(escape);
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
        throw new TemplateError(
          name,
          variable
            ? `template ${name}: variable ${variable} is missing`
            : `template ${name}: ${message}`,
          variable,
        );
      }
    },
  };
}

/**
 * The problem with a template source, or `undefined` when it compiles (for config validation).
 *
 * @example
 * ```ts
 * templateProblem('{{ record.x | nope }}'); // "template : undefined filter: nope, ..."
 * ```
 */
export function templateProblem(source: string, escape?: OutputEscape): string | undefined {
  try {
    compileTemplate('', source, escape);
    return undefined;
  } catch (err) {
    return (err as Error).message.replace(/^template : /, '');
  }
}
