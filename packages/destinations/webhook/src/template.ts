/**
 * URL and header templates of the webhook destination: core's one template engine
 * (`@sluice/core/template`, sandboxed Liquid) over `{{ record.<field> }}`, `{{ batch.<field> }}`
 * and `{{ index }}`, the syntax these fields always had, now with Liquid's filters and tags.
 * Values inserted into the URL are escaped as one URL component (`TEMPLATE_ESCAPES.url`), header
 * values as they are; either way each placeholder must give a text or a number.
 *
 * @packageDocumentation
 */
import type { Batch, SluiceRecord } from '@sluice/core';
import {
  TEMPLATE_ESCAPES,
  TemplateError,
  compileTemplate as compileLiquid,
  isStaticTemplate,
  scalarOutputProblem,
  type CompiledTemplate,
} from '@sluice/core/template';

/** Batch fields a template may reference as `{{ batch.<field> }}`. */
export const BATCH_FIELDS = ['id', 'pipeline', 'runId', 'source', 'route', 'attempt'] as const;

/** One of {@link BATCH_FIELDS}. */
export type BatchField = (typeof BATCH_FIELDS)[number];

const GLOBALS = ['record', 'batch', 'index'];

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
  /** `true` when the template has no placeholder or tag at all. */
  readonly isStatic: boolean;
  /** The literal text between placeholders and tags (used to redact secrets from errors). */
  readonly literals: readonly string[];
  /** Renders with the escape of the context the template was compiled for. */
  render(scope: TemplateScope): string;
}

// An output `{{ … }}` or a tag `{% … %}`, as Liquid delimits them.
const MARKUP = /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g;

/**
 * Compiles a template once for a context (`url`: values escaped as one URL component; `none`:
 * as they are); throws a `TypeError` describing the problem when the syntax or a reference is
 * invalid (the config schema turns that into a ConfigError with the path).
 *
 * @example
 * ```ts
 * const url = compileTemplate('https://api.example.com/tenants/{{ record.tenant }}/events', 'url');
 * url.render({ record: { tenant: 'acme/x' }, batch });
 * // "https://api.example.com/tenants/acme%2Fx/events"
 * ```
 */
export function compileTemplate(source: string, context: 'url' | 'none' = 'none'): Template {
  const literals = source.split(MARKUP).filter((text) => text.length > 0);
  if (literals.some((text) => /\{\{|\}\}|\{%|%\}/.test(text))) {
    throw new TypeError(`unbalanced "{{" / "}}" in template ${JSON.stringify(source)}`);
  }
  let compiled: CompiledTemplate;
  try {
    compiled = compileLiquid('template', source, {
      escape: TEMPLATE_ESCAPES[context],
      checkOutput: scalarOutputProblem,
      strictOutputSyntax: true,
    });
  } catch (err) {
    throw new TypeError(
      `invalid template ${JSON.stringify(source)}: ${(err as Error).message.replace(/^template template: /, '')}`,
      { cause: err },
    );
  }
  for (const name of compiled.globals) {
    if (!GLOBALS.includes(name)) {
      throw new TypeError(
        `invalid placeholder {{ ${name} }}: it must start with "record.", "batch." or be "index"`,
      );
    }
  }
  for (const variable of compiled.variables) {
    if (variable === 'record')
      throw new TypeError(
        'invalid placeholder {{ record }}: use {{ record.<field>[.<field>...] }}',
      );
    if (variable === 'batch' || variable.startsWith('batch.') || variable.startsWith('batch[')) {
      const field = /^batch(?:\.([A-Za-z]+)|\['([A-Za-z]+)'\])$/.exec(variable);
      if (!field || !BATCH_FIELDS.includes((field[1] ?? field[2]) as BatchField)) {
        throw new TypeError(
          `invalid placeholder {{ ${variable} }}: batch fields are ${BATCH_FIELDS.join(', ')}`,
        );
      }
    }
  }
  const isStatic = isStaticTemplate(source);
  return {
    source,
    perRecord: compiled.globals.includes('record') || compiled.globals.includes('index'),
    isStatic,
    literals,
    render(scope) {
      if (isStatic) return source;
      try {
        return compiled.render(liquidScope(scope));
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        const field = err.variable ?? 'template';
        throw new TemplateRenderError(
          field,
          err.variable
            ? `${field} ${err.problem ?? 'is missing'} (referenced by ${JSON.stringify(source)})`
            : err.message,
        );
      }
    },
  };
}

/** Only the documented batch fields, and only those that are set: reading another is an error. */
function liquidScope({ record, batch, index }: TemplateScope): object {
  const fields: Partial<Record<BatchField, unknown>> = {};
  for (const field of BATCH_FIELDS) if (batch[field] !== undefined) fields[field] = batch[field];
  return {
    ...(record === undefined ? {} : { record }),
    batch: fields,
    ...(index === undefined ? {} : { index }),
  };
}
