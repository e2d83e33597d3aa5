/**
 * A deliberately tiny placeholder syntax for URLs and header values: `{{ record.customer.id }}`,
 * `{{ batch.id }}`, `{{ index }}`. It only looks values up — no expressions, no filters, no
 * code — so a template from config can never execute anything.
 *
 * @packageDocumentation
 */
import { FieldPathSyntaxError, parseDotPath, readField, type Batch, type FieldPath, type SluiceRecord } from '@sluice/core';

/** Batch fields a template may reference as `{{ batch.<field> }}`. */
export const BATCH_FIELDS = ['id', 'pipeline', 'runId', 'source', 'route', 'attempt'] as const;

/** One of {@link BATCH_FIELDS}. */
export type BatchField = (typeof BATCH_FIELDS)[number];

type Part =
  | { kind: 'text'; text: string }
  | { kind: 'record'; path: FieldPath; field: string; source: string }
  | { kind: 'batch'; field: BatchField; source: string }
  | { kind: 'index'; source: string };

/**
 * A template that cannot be rendered for one record (a missing or non-scalar field). The
 * record fails alone; `field` names what was missing, e.g. `record.tenant`.
 *
 * @example
 * ```ts
 * try { template.render({ record: {}, batch, index: 0 }); }
 * catch (err) { if (err instanceof TemplateRenderError) console.log(err.field); } // "record.tenant"
 * ```
 */
export class TemplateRenderError extends Error {
  override readonly name = 'TemplateRenderError';

  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** What a template is rendered against. */
export interface TemplateScope {
  record?: SluiceRecord;
  batch: Batch;
  /** Index of the record in the batch. */
  index?: number;
}

/** A compiled template. */
export interface Template {
  /** The template text as written in config. */
  readonly source: string;
  /** `true` when the template references `record.*` or `index` (so it differs per record). */
  readonly perRecord: boolean;
  /** `true` when the template has no placeholder at all. */
  readonly isStatic: boolean;
  /** The literal text between placeholders (used to redact secrets from errors). */
  readonly literals: readonly string[];
  /** Renders; `encode` is applied to every substituted value (e.g. `encodeURIComponent`). */
  render(scope: TemplateScope, encode?: (value: string) => string): string;
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/**
 * Compiles a template once; throws a `TypeError` describing the problem when the syntax or a
 * reference is invalid (the config schema turns that into a ConfigError with the path).
 *
 * @example
 * ```ts
 * const url = compileTemplate('https://api.example.com/tenants/{{ record.tenant }}/events');
 * url.render({ record: { tenant: 'acme' }, batch }, encodeURIComponent);
 * // "https://api.example.com/tenants/acme/events"
 * ```
 */
export function compileTemplate(source: string): Template {
  const parts: Part[] = [];
  let last = 0;
  for (const match of source.matchAll(PLACEHOLDER)) {
    if (match.index > last) parts.push({ kind: 'text', text: source.slice(last, match.index) });
    parts.push(parsePlaceholder(match[1]!, match[0]));
    last = match.index + match[0].length;
  }
  if (last < source.length) parts.push({ kind: 'text', text: source.slice(last) });
  for (const part of parts) {
    if (part.kind === 'text' && (part.text.includes('{{') || part.text.includes('}}'))) {
      throw new TypeError(`unbalanced "{{" / "}}" in template ${JSON.stringify(source)}`);
    }
  }
  const literals = parts.flatMap((p) => (p.kind === 'text' ? [p.text] : []));
  const perRecord = parts.some((p) => p.kind === 'record' || p.kind === 'index');
  const isStatic = parts.every((p) => p.kind === 'text');
  return {
    source,
    perRecord,
    isStatic,
    literals,
    render(scope, encode = identity) {
      if (isStatic) return source;
      let out = '';
      for (const part of parts)
        out += part.kind === 'text' ? part.text : encode(resolve(part, scope));
      return out;
    },
  };
}

function identity(value: string): string {
  return value;
}

function parsePlaceholder(expression: string, raw: string): Part {
  if (expression === 'index') return { kind: 'index', source: raw };
  const dot = expression.indexOf('.');
  const root = dot < 0 ? expression : expression.slice(0, dot);
  // What follows the root is a field path in core's dot form (`customer.id`, `tags.1`).
  let rest: FieldPath | undefined;
  try {
    rest = dot < 0 ? undefined : parseDotPath(expression.slice(dot + 1));
  } catch (error) {
    if (!(error instanceof FieldPathSyntaxError)) throw error;
  }
  if (rest === undefined) {
    throw new TypeError(
      `invalid placeholder ${raw}: use {{ record.<field>[.<field>...] }}, {{ batch.<field> }} or {{ index }}`,
    );
  }
  if (root === 'record') return { kind: 'record', path: rest, field: expression, source: raw };
  if (root === 'batch') {
    const field = String(rest[0]) as BatchField;
    if (rest.length !== 1 || !BATCH_FIELDS.includes(field)) {
      throw new TypeError(
        `invalid placeholder ${raw}: batch fields are ${BATCH_FIELDS.join(', ')}`,
      );
    }
    return { kind: 'batch', field, source: raw };
  }
  throw new TypeError(
    `invalid placeholder ${raw}: it must start with "record.", "batch." or be "index"`,
  );
}

function resolve(part: Exclude<Part, { kind: 'text' }>, scope: TemplateScope): string {
  if (part.kind === 'index') {
    if (scope.index === undefined)
      throw new TemplateRenderError('index', '{{ index }} is only available per record');
    return String(scope.index);
  }
  if (part.kind === 'batch') {
    const value = scope.batch[part.field];
    if (value === undefined) {
      throw new TemplateRenderError(
        `batch.${part.field}`,
        `batch.${part.field} is not set on this batch`,
      );
    }
    return String(value);
  }
  const field = part.field;
  if (scope.record === undefined) {
    throw new TemplateRenderError(
      field,
      `${field} is only available when sending one request per record`,
    );
  }
  const value = readField(scope.record, part.path);
  if (value === undefined || value === null) {
    throw new TemplateRenderError(field, `${field} is missing (referenced by ${part.source})`);
  }
  if (typeof value === 'object') {
    throw new TemplateRenderError(
      field,
      `${field} is an ${Array.isArray(value) ? 'array' : 'object'}, not a string or number`,
    );
  }
  return String(value);
}
