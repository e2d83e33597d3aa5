/**
 * Object-key templates: liquidjs, sandboxed (no file system, own properties only, bounded time
 * and memory) and strict, so a key that reads a missing field fails with an error naming the
 * template and the variable. The `date` filter formats record dates in the configured time zone.
 *
 * @packageDocumentation
 */
import { Liquid, type Template } from 'liquidjs';

/**
 * A template could not be compiled or rendered. `template` names the config field (`key`,
 * `partitionBy[1].value`), `variable` the missing variable when that is the cause.
 *
 * @example
 * ```ts
 * try { key.render({ record: {} }); }
 * catch (err) { if (err instanceof TemplateError) console.log(err.template, err.variable); } // "key" "record.date"
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

/** A compiled template. */
export interface CompiledTemplate {
  readonly name: string;
  readonly source: string;
  /** Top-level variables the template reads (`record`, `batch`, ...). */
  readonly globals: readonly string[];
  /** Renders against `scope`; throws a {@link TemplateError} naming the template and variable. */
  render(scope: object): string;
}

const engines = new Map<string, Liquid>();

function engine(timeZone: string): Liquid {
  let found = engines.get(timeZone);
  if (!found) {
    found = new Liquid({
      strictVariables: true,
      // Optional fields stay expressible: `{% if record.x %}` and `{{ record.x | default: '-' }}`.
      lenientIf: true,
      strictFilters: true,
      ownPropertyOnly: true,
      // An empty in-memory template map: `{% include %}` / `{% render %}` can never read a file.
      templates: {},
      cache: false,
      timezoneOffset: timeZone === 'UTC' ? 0 : timeZone,
      parseLimit: 100_000,
      renderLimit: 2_000,
      memoryLimit: 10_000_000,
    });
    engines.set(timeZone, found);
  }
  return found;
}

function describe(err: unknown): { message: string; variable?: string } {
  const message = err instanceof Error ? err.message : String(err);
  const undefinedVariable = /undefined variable: ([^,]+)/.exec(message);
  return undefinedVariable ? { message, variable: undefinedVariable[1]!.trim() } : { message };
}

/**
 * Compiles a liquidjs template once. Throws a {@link TemplateError} when the syntax is invalid
 * or it uses an unknown filter.
 *
 * @example
 * ```ts
 * const key = compileTemplate('key', 'sessions/{{ record.date | date: "%Y/%m" }}/part-{{ batch.id }}.ndjson');
 * key.render({ record: { date: '2026-11-24' }, batch: { id: 'b1' } }); // "sessions/2026/11/part-b1.ndjson"
 * ```
 */
export function compileTemplate(name: string, source: string, timeZone = 'UTC'): CompiledTemplate {
  const liquid = engine(timeZone);
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
 * Keys must not depend on the time of the write (a retried batch must hit the same key), so
 * `"now"` and `"today"` are refused.
 *
 * @example
 * ```ts
 * templateProblem('{{ "now" | date: "%Y" }}'); // "must not use the time of the write (\"now\"/\"today\") ..."
 * ```
 */
export function templateProblem(source: string): string | undefined {
  if (/(["'])\s*(now|today)\s*\1/i.test(source)) {
    return 'must not use the time of the write ("now"/"today"): a retried batch must write the same key; take dates from record fields';
  }
  try {
    compileTemplate('', source);
    return undefined;
  } catch (err) {
    return (err as Error).message.replace(/^template : /, '');
  }
}
