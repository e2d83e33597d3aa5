/**
 * File path templates: core's one template engine (`@sluice/core/template`, sandboxed Liquid)
 * with the path-segment escape, over the names these paths always had: `out/{{date}}/{{channel}}.csv`.
 *
 * Names: the built-ins `date` (the date of the write, `YYYY-MM-DD` in the configured time zone),
 * `batch.id`, `batch.source`, `batch.pipeline`, `batch.runId`, `batch.route`, `pipeline`, `route`,
 * `runId`; any record field (`channel`, `geo.country`), or `record.<field>` to reach a field whose
 * name is also a built-in. Every value inserted is escaped into one safe path segment; a path
 * whose template itself would leave the root is refused at config time, and every rendered path
 * is checked again (no `.`/`..` segment, no absolute path, no backslash) before it is used.
 */
import path from 'node:path';
import type { Batch, ConfigIssue, SluiceRecord } from '@sluice/core';
import {
  TemplateError,
  compileTemplate,
  escapePathSegment,
  scalarOutputProblem,
  type CompiledTemplate,
} from '@sluice/core/template';

const BUILTINS = new Set(['date', 'batch', 'pipeline', 'route', 'runId']);
// An output `{{ … }}` or a tag `{% … %}`, as Liquid delimits them.
const MARKUP = /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g;

/** A parsed path template. */
export interface PathTemplate {
  readonly source: string;
  /** True when some placeholder reads a record field (records may then go to different files). */
  readonly usesRecord: boolean;
  /** True when the template contains `{{batch.id}}`. */
  readonly usesBatchId: boolean;
  /** The compiled template (core's engine, path-segment escape). */
  readonly compiled: CompiledTemplate;
}

/** What a template is rendered against. */
export interface TemplateContext {
  batch: Batch;
  /** `YYYY-MM-DD` of the write in the configured time zone. */
  date: string;
}

/**
 * A record whose values cannot form a path (missing field, not a scalar, empty).
 *
 * @example
 * ```ts
 * err.field; // "channel"
 * ```
 */
export class TemplateValueError extends Error {
  override readonly name = 'TemplateValueError';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

/**
 * Turns any value into one safe path segment: core's path-segment escape (`TEMPLATE_ESCAPES['path-segment']`).
 *
 * @example
 * ```ts
 * sanitizeSegment('../etc/passwd'); // "_._etc_passwd"
 * ```
 */
export const sanitizeSegment: (value: unknown) => string = escapePathSegment;

// A placeholder gives one non-empty scalar: an empty one would make `out/.csv` or `a//b`.
function segmentProblem(value: unknown): string | undefined {
  return scalarOutputProblem(value) ?? (escapePathSegment(value) === '' ? 'is empty' : undefined);
}

/** What is wrong with the shape of a path (its literal text, or a whole rendered path). */
function shapeProblem(shape: string): string | undefined {
  if (/[\\\0]/.test(shape)) return 'must not contain backslashes or NUL; use / between folders';
  if (shape.startsWith('/')) return 'must be relative to root (no leading /)';
  if (shape.split('/').some((segment) => segment === '..' || segment === '.')) {
    return 'must not contain . or .. segments (files stay inside root)';
  }
  if (shape.endsWith('/') || shape === '') return 'must name a file, not a folder';
  return undefined;
}

/**
 * Parses a template, returning it or the problems found (for a `ConfigError` at `at`).
 *
 * @example
 * ```ts
 * const result = parsePathTemplate('out/{{date}}/{{channel}}.ndjson', 'path');
 * if ('issues' in result) throw new ConfigError(result.issues);
 * ```
 */
export function parsePathTemplate(
  source: string,
  at: string,
): PathTemplate | { issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const literals = source.split(MARKUP);
  if (literals.some((l) => /\{\{|\}\}|\{%|%\}/.test(l)))
    issues.push({ path: at, message: 'unbalanced {{ or }}' });
  let compiled: CompiledTemplate | undefined;
  try {
    compiled = compileTemplate('path', source, {
      escape: escapePathSegment,
      checkOutput: segmentProblem,
      strictOutputSyntax: true,
    });
  } catch (err) {
    issues.push({ path: at, message: (err as Error).message.replace(/^template path: /, '') });
  }
  // Render with a harmless value in every placeholder and no tag: what remains is the template's own shape.
  const problem = shapeProblem(
    source.replace(/\{\{[\s\S]*?\}\}/g, 'x').replace(/\{%[\s\S]*?%\}/g, ''),
  );
  if (problem) issues.push({ path: at, message: problem });
  if (issues.length > 0 || !compiled) return { issues };
  return {
    source,
    compiled,
    usesRecord: compiled.globals.some((name) => !BUILTINS.has(name)),
    usesBatchId: compiled.variables.some((v) => v === 'batch.id' || v === "batch['id']"),
  };
}

/**
 * Renders a template for one record (or for the batch, when the template reads no record field).
 * Throws a `TemplateValueError` naming the field when a value cannot be used, or when the
 * rendered path would leave the root.
 *
 * @example
 * ```ts
 * renderPath(template, { batch, date: '2026-11-24' }, { channel: 'email' }); // "out/2026-11-24/email.ndjson"
 * ```
 */
export function renderPath(
  template: PathTemplate,
  context: TemplateContext,
  record?: SluiceRecord,
): string {
  const { batch, date } = context;
  const route = batch.route ?? 'default';
  // Record fields first, so the built-ins win over fields of the same name (`record.date` reaches those).
  const scope = {
    ...record,
    ...(record === undefined ? {} : { record }),
    date,
    batch: {
      id: batch.id,
      source: batch.source,
      pipeline: batch.pipeline,
      runId: batch.runId,
      route,
    },
    pipeline: batch.pipeline,
    route,
    runId: batch.runId,
  };
  let rendered: string;
  try {
    rendered = template.compiled.render(scope);
  } catch (err) {
    if (!(err instanceof TemplateError) || err.variable === undefined)
      throw new TemplateValueError(`path template: ${(err as Error).message}`, template.source);
    const field = err.variable.startsWith('record.')
      ? err.variable.slice('record.'.length)
      : err.variable;
    throw new TemplateValueError(
      `path placeholder for "${field}": field "${field}" ${err.problem ?? 'is missing'}`,
      field,
    );
  }
  const problem = shapeProblem(rendered);
  if (problem) throw new TemplateValueError(`path "${rendered}" ${problem}`, template.source);
  return rendered;
}

/**
 * Resolves a rendered relative path inside `root`, or returns `undefined` when it would leave it.
 *
 * @example
 * ```ts
 * resolveInside('/data', 'out/a.csv'); // "/data/out/a.csv"
 * resolveInside('/data', '../a.csv');  // undefined
 * ```
 */
export function resolveInside(root: string, relative: string): string | undefined {
  const base = path.resolve(root);
  const full = path.resolve(base, relative);
  return full.startsWith(base + path.sep) ? full : undefined;
}

// The date of a write in the configured zone: core's one cached formatter.
export { dateInZone } from '@sluice/core';
