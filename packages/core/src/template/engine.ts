/**
 * The one sandboxed liquidjs engine every Sluice template runs on: no file system, own
 * properties only, partial names never taken from data, unknown filters rejected, and parse /
 * render / memory limits that bound the work one template can cause.
 *
 * @packageDocumentation
 */
import type { Liquid } from 'liquidjs';
import { loadLiquid } from './liquidjs.js';

// liquidjs is an optional peer (./liquidjs.ts): awaited here, at the top of the subpath, so the
// engine stays synchronous to use and a missing package fails when the subpath is imported,
// naming the package, never in the middle of a render. The main `@sluice/core` entry never gets here.
const liquidjs = await loadLiquid();

/** How much work one template may cause (liquidjs' own limits). */
export interface TemplateLimits {
  /** Longest template source, in characters. */
  parseLimit: number;
  /** Longest render, in milliseconds (stops `{% for %}` bombs). */
  renderLimit: number;
  /** Most memory one render may allocate for strings and arrays, roughly in bytes. */
  memoryLimit: number;
}

/**
 * The limits {@link createSandboxedLiquid} uses unless told otherwise.
 *
 * @example
 * ```ts
 * createSandboxedLiquid({ limits: { renderLimit: DEFAULT_TEMPLATE_LIMITS.renderLimit / 2 } });
 * ```
 */
export const DEFAULT_TEMPLATE_LIMITS: Readonly<TemplateLimits> = Object.freeze({
  parseLimit: 100_000,
  renderLimit: 2_000,
  memoryLimit: 10_000_000,
});

/** How rendered values are escaped before they are inserted (HTML, Slack mrkdwn, JSON, ...). */
export type OutputEscape = (value: unknown) => string;

/** Options of {@link createSandboxedLiquid}; every one has a safe default. */
export interface SandboxOptions {
  /**
   * A template that reads a missing variable throws (`undefined variable: record.x`) instead of
   * rendering an empty string. Default `true`.
   */
  strictVariables?: boolean;
  /**
   * With `strictVariables`, `{% if record.x %}` on a missing `record.x` is false instead of an
   * error, so optional fields stay expressible. Default `true`.
   */
  lenientIf?: boolean;
  /** Escapes every `{{ output }}` (not literal template text). Default: none. */
  escape?: OutputEscape;
  /**
   * IANA zone of the `date` filter (`Europe/Berlin`), `UTC` (the default), or `local` for the
   * host's zone — which makes output depend on the server, so only for backwards compatibility.
   */
  timeZone?: string;
  /** Overrides of {@link DEFAULT_TEMPLATE_LIMITS}. */
  limits?: Partial<TemplateLimits>;
}

/**
 * Creates a sandboxed liquidjs engine. `{% include %}`, `{% render %}` and `{% layout %}` resolve
 * against an empty in-memory set (never the file system) and their names are literal, never
 * read from data; only own properties are visible (`{{ a.constructor }}` and `__proto__` are
 * missing); unknown filters fail at parse time; parse length, render time and memory are capped.
 *
 * @example
 * ```ts
 * import { createSandboxedLiquid } from '@sluice/core/template';
 *
 * const liquid = createSandboxedLiquid({ strictVariables: false });
 * liquid.parseAndRenderSync('{{ a | upcase }}{{ a.constructor }}', { a: 'x' }); // "X"
 * ```
 */
export function createSandboxedLiquid(options: SandboxOptions = {}): Liquid {
  const { strictVariables = true, lenientIf = true, escape, timeZone = 'UTC', limits } = options;
  return new liquidjs.Liquid({
    // An empty in-memory template map: includes, renders and layouts can never read a file.
    templates: {},
    // `{% include name %}` looks up the literal "name", never the value of a variable.
    dynamicPartials: false,
    ownPropertyOnly: true,
    strictFilters: true,
    strictVariables,
    lenientIf,
    cache: false,
    ...(timeZone === 'local' ? {} : { timezoneOffset: timeZone === 'UTC' ? 0 : timeZone }),
    ...DEFAULT_TEMPLATE_LIMITS,
    ...limits,
    ...(escape ? { outputEscape: (value: unknown) => escape(value) } : {}),
  });
}
