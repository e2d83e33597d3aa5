// Reads a JSON Schema (a config schema from @valibot/to-json-schema, or an OpenAPI 3.1 schema,
// which is JSON Schema 2020-12) into documentation rows: one row per key, with a readable type,
// its constraints, default and description. Both generated pages use it.
import { code, yamlInline } from './markdown.mjs';

/** Integers valibot emits for `v.safeInteger()` bounds: not worth showing. */
const SAFE = Number.MAX_SAFE_INTEGER;

/**
 * @typedef {Record<string, any>} Schema
 * @typedef {{ key: string, schema: Schema, required: boolean, variant?: string[], group?: { id: string, size: number } }} Row
 *   `variant`: the oneOf/anyOf branches (`type: service-account`) a key exists in
 * @typedef {{ name: string, test: (schema: Schema) => boolean, expand?: boolean }} NamedShape
 */

/**
 * A reader bound to one root document (for `$ref` resolution).
 *
 * @param {Schema} root the document holding `$defs` (JSON Schema) or `components.schemas` (OpenAPI)
 * @param {{ shapes?: NamedShape[] }} [options] named shapes are shown by name and not expanded
 */
export function createSchemaReader(root, options = {}) {
  const shapes = options.shapes ?? [];

  /**
   * Follows `$ref`s; keywords next to a `$ref` (a description) win over the target's.
   *
   * @param {Schema | boolean | undefined} node
   * @returns {Schema}
   */
  function resolve(node) {
    /** @type {Schema} */
    let current = typeof node === 'object' && node !== null ? node : {};
    const seen = new Set();
    while (typeof current.$ref === 'string' && !seen.has(current.$ref)) {
      seen.add(current.$ref);
      const { $ref, ...siblings } = current;
      const target = lookup($ref);
      current = { ...target, ...siblings };
    }
    return current;
  }

  /** @param {string} ref */
  function lookup(ref) {
    if (!ref.startsWith('#/')) throw new Error(`cannot document external $ref ${ref}`);
    /** @type {any} */
    let node = root;
    for (const part of ref.slice(2).split('/')) {
      node = node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    if (node === undefined) throw new Error(`dangling $ref ${ref}`);
    return node;
  }

  /** @param {Schema} schema */
  function shapeOf(schema) {
    return shapes.find((shape) => shape.test(schema));
  }

  /**
   * A short, readable type: `integer`, `string[]`, `"csv" | "ndjson"`, `map of string`.
   *
   * @param {Schema | boolean | undefined} node
   * @param {number} [depth]
   * @returns {string}
   */
  function typeOf(node, depth = 0) {
    const schema = resolve(node);
    const shape = shapeOf(schema);
    if (shape) return shape.name;
    if (depth > 4) return 'object';
    if ('const' in schema) return code(yamlInline(schema.const));
    if (Array.isArray(schema.enum))
      return schema.enum.map((value) => code(yamlInline(value))).join(' | ');
    const variants = schema.anyOf ?? schema.oneOf;
    if (Array.isArray(variants)) {
      // Every string option also takes a `${env:..}`/`${file:..}` reference: the configuration
      // guide says so once, the table need not repeat it on every row.
      const isReference = (variant) =>
        typeof variant?.$ref === 'string' && variant.$ref.endsWith('/secretReference');
      const real = variants.filter((variant) => !isReference(variant));
      return [...new Set(real.map((variant) => typeOf(variant, depth + 1)))].join(' | ');
    }
    const type = schema.type;
    if (Array.isArray(type)) return type.join(' | ');
    if (type === 'array') {
      const item = typeOf(schema.items, depth + 1);
      return item.includes(' | ') ? `(${item})[]` : `${item}[]`;
    }
    if (type === 'object' || schema.properties || schema.additionalProperties) {
      const values = schema.additionalProperties;
      if (!schema.properties && values && typeof values === 'object')
        return `map of ${typeOf(values, depth + 1)}`;
      return 'object';
    }
    if (type === 'string' && typeof schema.format === 'string') return `string (${schema.format})`;
    if (typeof type === 'string') return type;
    if (schema.allOf || schema.if) return 'object';
    return 'any';
  }

  /**
   * Constraints worth telling a reader: ranges, non-empty, item counts, formats.
   *
   * @param {Schema} schema
   * @returns {string[]}
   */
  function constraintsOf(schema) {
    const out = [];
    const min =
      schema.minimum ??
      (schema.exclusiveMinimum === undefined ? undefined : `>${schema.exclusiveMinimum}`);
    const max = schema.maximum;
    const realMin =
      typeof min === 'number' && Math.abs(min) < SAFE
        ? min
        : typeof min === 'string'
          ? min
          : undefined;
    const realMax = typeof max === 'number' && Math.abs(max) < SAFE ? max : undefined;
    if (realMin !== undefined && realMax !== undefined) out.push(`${realMin}–${realMax}`);
    else if (realMin !== undefined)
      out.push(typeof realMin === 'string' ? `> ${realMin.slice(1)}` : `≥ ${realMin}`);
    else if (realMax !== undefined) out.push(`≤ ${realMax}`);
    const { minLength, maxLength } = schema;
    if (minLength === 1 && maxLength === undefined) out.push('non-empty');
    else if (minLength !== undefined && minLength === maxLength)
      out.push(`exactly ${minLength} character${minLength === 1 ? '' : 's'}`);
    else if (minLength !== undefined && maxLength !== undefined)
      out.push(`${minLength}–${maxLength} characters`);
    else if (minLength !== undefined && minLength > 0) out.push(`≥ ${minLength} characters`);
    else if (maxLength !== undefined) out.push(`≤ ${maxLength} characters`);
    if (schema.minItems !== undefined || schema.maxItems !== undefined) {
      if (schema.minItems !== undefined && schema.maxItems === undefined)
        out.push(`at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}`);
      else out.push(`${schema.minItems ?? 0}–${schema.maxItems ?? '∞'} items`);
    }
    return out;
  }

  /**
   * How to recognise one branch of a `oneOf`/`anyOf` at `path`, as markdown: the first property
   * fixed by `const` (`` `credentials.type: service-account` ``), else the branch's keys
   * (`` `orderBys[]` as `{ dimension, desc }` ``).
   *
   * @param {Schema} variant
   * @param {string} path
   * @returns {string}
   */
  function variantLabel(variant, path) {
    const prefix = path === '' ? '' : `${path}.`;
    for (const [key, child] of Object.entries(variant.properties ?? {})) {
      const resolved = resolve(child);
      if ('const' in resolved) return code(`${prefix}${key}: ${yamlInline(resolved.const)}`);
    }
    const shape = code(`{ ${Object.keys(variant.properties ?? {}).join(', ')} }`);
    return path === '' ? `the form ${shape}` : `${code(path)} as ${shape}`;
  }

  /**
   * Every key below `node`, depth first, with dotted keys relative to `prefix`: `a.b`, `list[].c`,
   * `map.<name>.d`. Named shapes are listed but not expanded.
   *
   * @param {Schema | boolean | undefined} node
   * @param {{ prefix?: string, skip?: (key: string, schema: Schema) => boolean }} [options]
   * @returns {Row[]}
   */
  function rows(node, options = {}) {
    /** @type {Row[]} */
    const out = [];
    const stack = new Set();

    let groupCounter = 0;
    /**
     * @param {Schema | boolean | undefined} raw
     * @param {string} path
     * @param {string[] | undefined} variant the variant labels that lead here
     */
    const descend = (raw, path, variant) => {
      const ref = typeof raw === 'object' && raw !== null ? raw.$ref : undefined;
      if (ref !== undefined && stack.has(ref)) return;
      if (ref !== undefined) stack.add(ref);
      const schema = resolve(raw);
      if (!shapeOf(schema) || shapeOf(schema)?.expand) {
        if (schema.properties) collect(schema, path, variant);
        if (schema.type === 'array' && schema.items) descend(schema.items, `${path}[]`, variant);
        const values = schema.additionalProperties;
        if (values && typeof values === 'object' && !schema.properties)
          descend(values, `${path}.<name>`, variant);
        const branches = (schema.oneOf ?? schema.anyOf ?? [])
          .map(resolve)
          .filter((b) => b.properties && !shapeOf(b));
        const group = { id: `${path}#${groupCounter++}`, size: branches.length };
        for (const branch of branches) {
          collect(branch, path, [...(variant ?? []), variantLabel(branch, path)], group);
        }
      }
      if (ref !== undefined) stack.delete(ref);
    };

    /**
     * @param {Schema} schema
     * @param {string} path
     * @param {string[] | undefined} variant
     * @param {{ id: string, size: number }} [group] the oneOf/anyOf this schema is a branch of
     */
    const collect = (schema, path, variant, group) => {
      const required = new Set(Array.isArray(schema.required) ? schema.required : []);
      for (const [key, child] of Object.entries(schema.properties ?? {})) {
        const full = path === '' ? key : `${path}.${key}`;
        const resolved = resolve(child);
        if (options.skip?.(full, resolved)) continue;
        out.push({
          key: full,
          schema: resolved,
          required: required.has(key),
          ...(variant ? { variant } : {}),
          ...(group ? { group } : {}),
        });
        descend(child, full, variant);
      }
    };

    descend(node, options.prefix ?? '', undefined);
    return mergeVariants(out);
  }

  /**
   * Rows of the same key from several variants become one row when they say the same thing;
   * a key fixed by `const` in each variant (the discriminator) becomes one enum row.
   *
   * @param {Row[]} list
   * @returns {Row[]}
   */
  function mergeVariants(list) {
    /** @type {Map<string, Row[]>} */
    const byKey = new Map();
    for (const row of list) byKey.set(row.key, [...(byKey.get(row.key) ?? []), row]);
    /** @type {Row[]} */
    const out = [];
    const done = new Set();
    for (const row of list) {
      if (done.has(row.key)) continue;
      const same = byKey.get(row.key) ?? [row];
      if (same.length === 1) {
        out.push(row);
        done.add(row.key);
        continue;
      }
      if (same.every((r) => 'const' in r.schema)) {
        const { const: _c, ...rest } = same[0].schema;
        const parents = same[0].variant?.slice(0, -1) ?? [];
        out.push({
          key: row.key,
          required: same.every((r) => r.required),
          schema: { ...rest, enum: [...new Set(same.map((r) => r.schema.const))] },
          ...(parents.length > 0 ? { variant: parents } : {}),
        });
        done.add(row.key);
        continue;
      }
      const signature = (/** @type {Row} */ r) =>
        JSON.stringify([typeOf(r.schema), r.schema.default, r.schema.description, r.required]);
      done.add(row.key);
      if (same.every((r) => signature(r) === signature(same[0]))) {
        const { variant: _v, group: _g, ...merged } = same[0];
        const group = same[0].group;
        // A key present in every branch of its oneOf needs no "only with".
        const everywhere =
          group !== undefined &&
          same.every((r) => r.group?.id === group.id) &&
          same.length === group.size;
        const labels = [...new Set(same.flatMap((r) => r.variant?.slice(-1) ?? []))];
        const parents = same[0].variant?.slice(0, -1) ?? [];
        const variant = everywhere
          ? parents
          : same.every((r) => r.variant)
            ? [...parents, labels.join(' or ')]
            : [];
        out.push(variant.length > 0 ? { ...merged, variant } : merged);
      } else {
        // Different meanings per variant: one row per variant, in order.
        out.push(...same);
      }
    }
    return out;
  }

  return { resolve, typeOf, constraintsOf, rows, variantLabel };
}

/**
 * "Only with `type: a` or `type: b`." for a row that exists in some oneOf/anyOf branches only.
 *
 * @param {Row} row
 * @returns {string}
 */
export function variantNote(row) {
  if (!row.variant || row.variant.length === 0) return '';
  return `Only with ${row.variant.join(' and ')}.`;
}

/**
 * True for the recursive "any JSON value" schema valibot emits (`string | number | boolean |
 * null | array | object`).
 *
 * @param {Record<string, any>} schema
 * @returns {boolean}
 */
export function isJsonValueSchema(schema) {
  const variants = schema.anyOf;
  if (!Array.isArray(variants)) return false;
  const types = new Set(variants.map((variant) => variant.type));
  return ['string', 'number', 'boolean', 'null', 'array', 'object'].every((type) =>
    types.has(type),
  );
}
