/**
 * The tiny, safe placeholder syntax of file paths: `out/{{date}}/{{channel}}.csv`.
 *
 * Placeholders are `{{name}}` where name is one of the built-ins (`date`, `batch.id`,
 * `batch.source`, `pipeline`, `route`, `runId`) or a record field (`channel`, `geo.country`, or
 * `record.date` to reach a field whose name is also a built-in). Nothing is evaluated. Every value
 * inserted is sanitised into one safe path segment, and a path that would still leave the root is
 * refused: at config time when the template itself does it, per record when a value does.
 */
import path from 'node:path';
import { parseDotPath, readField, type Batch, type ConfigIssue, type FieldPath, type SluiceRecord } from '@sluice/core';

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*$/;
const BUILTINS = new Set(['date', 'batch.id', 'batch.source', 'pipeline', 'route', 'runId']);

// `field`: core's field path in its dot form (`geo.country`), and the text as written for messages.
type Part = { literal: string } | { builtin: string } | { field: FieldPath; name: string };

/** A parsed path template. */
export interface PathTemplate {
  readonly source: string;
  readonly parts: readonly Part[];
  /** True when some placeholder reads a record field (records may then go to different files). */
  readonly usesRecord: boolean;
  /** True when the template contains `{{batch.id}}`. */
  readonly usesBatchId: boolean;
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
 * Turns any value into one safe path segment: letters, digits and `. _ - = + @ ,`; everything
 * else (slashes, backslashes, control characters, spaces) becomes `_`, a leading dot becomes `_`
 * (so `..` and hidden files are impossible), and it is cut at 120 characters.
 *
 * @example
 * ```ts
 * sanitizeSegment('../etc/passwd'); // "_._etc_passwd"
 * sanitizeSegment('Zürich 1');      // "Zürich_1"
 * ```
 */
export function sanitizeSegment(value: string): string {
  return value
    .normalize('NFC')
    .replace(/[^\p{L}\p{N}._=+@,-]/gu, '_')
    .replace(/^\./, '_')
    .slice(0, 120);
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
export function parsePathTemplate(source: string, at: string): PathTemplate | { issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const parts: Part[] = [];
  let last = 0;
  for (const match of source.matchAll(PLACEHOLDER)) {
    if (match.index > last) parts.push({ literal: source.slice(last, match.index) });
    const name = match[1]!;
    if (BUILTINS.has(name)) parts.push({ builtin: name });
    else if (NAME.test(name)) {
      const text = name.startsWith('record.') ? name.slice(7) : name;
      parts.push({ field: parseDotPath(text), name: text });
    }
    else issues.push({ path: at, message: `placeholder {{${name}}} is not a field name or one of ${[...BUILTINS].join(', ')}` });
    last = match.index + match[0].length;
  }
  if (last < source.length) parts.push({ literal: source.slice(last) });
  const literals = parts.flatMap((p) => ('literal' in p ? [p.literal] : []));
  if (literals.some((l) => l.includes('{{') || l.includes('}}'))) {
    issues.push({ path: at, message: 'unbalanced {{ or }}' });
  }
  if (literals.some((l) => /[\\\0]/.test(l))) issues.push({ path: at, message: 'must not contain backslashes or NUL; use / between folders' });
  if (source.startsWith('/')) issues.push({ path: at, message: 'must be relative to root (no leading /)' });
  // Render with a harmless value in every placeholder: what remains is the template's own shape.
  const probe = parts.map((p) => ('literal' in p ? p.literal : 'x')).join('');
  if (probe.split('/').some((segment) => segment === '..' || segment === '.')) {
    issues.push({ path: at, message: 'must not contain . or .. segments (files stay inside root)' });
  }
  if (probe.endsWith('/') || probe === '') issues.push({ path: at, message: 'must name a file, not a folder' });
  if (issues.length > 0) return { issues };
  return {
    source,
    parts,
    usesRecord: parts.some((p) => 'field' in p),
    usesBatchId: parts.some((p) => 'builtin' in p && p.builtin === 'batch.id'),
  };
}

function builtinValue(name: string, context: TemplateContext): string {
  switch (name) {
    case 'date':
      return context.date;
    case 'batch.id':
      return context.batch.id;
    case 'batch.source':
      return context.batch.source;
    case 'pipeline':
      return context.batch.pipeline;
    case 'runId':
      return context.batch.runId;
    default:
      return context.batch.route ?? 'default';
  }
}

/**
 * Renders a template for one record (or for the batch, when the template reads no record field).
 * Throws a `TemplateValueError` naming the field when a value cannot be used.
 *
 * @example
 * ```ts
 * renderPath(template, { batch, date: '2026-11-24' }, { channel: 'email' }); // "out/2026-11-24/email.ndjson"
 * ```
 */
export function renderPath(template: PathTemplate, context: TemplateContext, record?: SluiceRecord): string {
  let out = '';
  for (const part of template.parts) {
    if ('literal' in part) {
      out += part.literal;
      continue;
    }
    if ('builtin' in part) {
      out += sanitizeSegment(builtinValue(part.builtin, context)) || '_';
      continue;
    }
    const field = part.name;
    const value = record === undefined ? undefined : readField(record, part.field);
    if (value === undefined || value === null) {
      throw new TemplateValueError(`path placeholder {{${field}}}: field "${field}" is ${value === null ? 'null' : 'missing'}`, field);
    }
    if (typeof value === 'object') {
      throw new TemplateValueError(`path placeholder {{${field}}}: field "${field}" is an ${Array.isArray(value) ? 'array' : 'object'}, not a text or number`, field);
    }
    const segment = sanitizeSegment(String(value));
    if (segment === '') throw new TemplateValueError(`path placeholder {{${field}}}: field "${field}" is empty`, field);
    out += segment;
  }
  return out;
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

/**
 * Formats `now` as `YYYY-MM-DD` in a time zone.
 *
 * @example
 * ```ts
 * dateInZone(Date.UTC(2026, 10, 24, 23, 30), 'Europe/Berlin'); // "2026-11-25"
 * ```
 */
export function dateInZone(now: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}
