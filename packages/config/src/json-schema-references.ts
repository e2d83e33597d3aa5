/**
 * Secret references in the exported JSON Schema. A configuration file may write
 * `${env:NAME}` or `${file:path}` in any string value (alone or inside a longer string): the
 * loader resolves them before validation. The JSON Schema sees the file as written, so every
 * string whose schema a reference could fail (a `pattern`, `format`, `enum` or length bound)
 * also accepts a string holding a reference.
 *
 * Not widened, on purpose (the loader rejects or mishandles these, so the schema must too):
 * numbers, booleans and objects (a reference always produces a string); `const` values (they
 * select a union branch, e.g. `dialect: postgres`, like `kind` selects a plugin); and `kind`.
 *
 * @packageDocumentation
 */

type JsonObject = Record<string, unknown>;

/**
 * Name of the definition (under `$defs`) that matches a string holding a secret reference.
 *
 * @example
 * ```ts
 * toJsonSchema().$defs?.[SECRET_REFERENCE_DEFINITION]; // { type: 'string', pattern: ..., description: ... }
 * ```
 */
export const SECRET_REFERENCE_DEFINITION = 'secretReference';

/**
 * A string holding at least one `${env:NAME}` or `${file:path}` reference (not the `$${`
 * escape). Unanchored on the right, so `postgres://app:${env:PG_PASSWORD}@db/app` matches.
 *
 * @example
 * ```ts
 * new RegExp(SECRET_REFERENCE_PATTERN).test('Bearer ${env:TOKEN}'); // true
 * ```
 */
export const SECRET_REFERENCE_PATTERN = '(^|[^$])\\$\\{(env:[A-Za-z_][A-Za-z0-9_]*|file:[^}]+)\\}';

const REFERENCE: JsonObject = { $ref: `#/$defs/${SECRET_REFERENCE_DEFINITION}` };

/** The shortest reference (`${env:A}`): length bounds up to it never reject one. */
const SHORTEST_REFERENCE = '${env:A}'.length;

/** Keywords that describe a value rather than constrain it: they stay on the outer schema. */
const ANNOTATIONS = [
  'title',
  'description',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
];

/** Keywords whose subschemas are values of the document (not `if`, `not`, `propertyNames`). */
const MAP_KEYWORDS = ['properties', 'patternProperties', '$defs', 'definitions'];
const SCHEMA_KEYWORDS = [
  'additionalProperties',
  'items',
  'additionalItems',
  'then',
  'else',
  'contains',
];
const LIST_KEYWORDS = ['items', 'allOf', 'prefixItems'];
const UNION_KEYWORDS = ['anyOf', 'oneOf'];

const isObject = (value: unknown): value is JsonObject =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const isStringSchema = (node: JsonObject): boolean =>
  node.type === 'string' ||
  (node.type === undefined &&
    Array.isArray(node.enum) &&
    node.enum.length > 0 &&
    node.enum.every((item) => typeof item === 'string'));

/** A string schema that a reference could fail: what needs the reference alternative. */
function rejectsReferences(node: JsonObject): boolean {
  if (!isStringSchema(node) || 'const' in node || '$ref' in node) return false;
  return (
    node.pattern !== undefined ||
    node.format !== undefined ||
    node.enum !== undefined ||
    node.maxLength !== undefined ||
    (typeof node.minLength === 'number' && node.minLength > SHORTEST_REFERENCE)
  );
}

/** A string schema every reference satisfies: a union holding it needs no extra alternative. */
const acceptsAnyReference = (node: JsonObject): boolean =>
  node.type === 'string' && !('const' in node) && !('$ref' in node) && !rejectsReferences(node);

/**
 * `{ <annotations>, type: 'string', anyOf: [<the constraints>, <reference>] }`: descriptions,
 * defaults and examples stay where editors and the docs generator look for them.
 */
function widen(node: JsonObject): JsonObject {
  const outer: JsonObject = { type: 'string' };
  const inner: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (ANNOTATIONS.includes(key)) outer[key] = value;
    else if (key === 'minLength' && typeof value === 'number' && value <= SHORTEST_REFERENCE)
      outer[key] = value;
    else inner[key] = value;
  }
  return { ...outer, anyOf: [inner, REFERENCE] };
}

function mapValues(map: unknown, skipKind: boolean): unknown {
  if (!isObject(map)) return map;
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(map)) {
    // `kind` selects the plugin whose options apply: it must be written literally.
    out[key] = skipKind && key === 'kind' ? child : acceptReferences(child);
  }
  return out;
}

/**
 * A copy of `schema` in which every string value that a `${env:..}`/`${file:..}` reference
 * could fail also accepts a reference (see the module comment). A union gets the reference
 * once, as one more alternative, instead of once per branch.
 *
 * @example
 * ```ts
 * acceptReferences({ type: 'string', pattern: '^xox' });
 * // { type: 'string', anyOf: [{ type: 'string', pattern: '^xox' }, { $ref: '#/$defs/secretReference' }] }
 * ```
 */
export function acceptReferences(schema: unknown): unknown {
  if (!isObject(schema)) return schema;
  if (rejectsReferences(schema)) return widen(schema);
  const out: JsonObject = { ...schema };
  for (const keyword of MAP_KEYWORDS) {
    if (keyword in out) out[keyword] = mapValues(out[keyword], keyword === 'properties');
  }
  for (const keyword of SCHEMA_KEYWORDS) {
    if (isObject(out[keyword])) out[keyword] = acceptReferences(out[keyword]);
  }
  for (const keyword of LIST_KEYWORDS) {
    if (Array.isArray(out[keyword]))
      out[keyword] = (out[keyword] as unknown[]).map(acceptReferences);
  }
  for (const keyword of UNION_KEYWORDS) {
    const branches = out[keyword];
    if (!Array.isArray(branches)) continue;
    const objects = branches.filter(isObject);
    const needsReference = objects.some(rejectsReferences) && !objects.some(acceptsAnyReference);
    // Leaf branches keep their constraints: the one added alternative takes the references.
    const mapped = branches.map((branch) =>
      isObject(branch) && rejectsReferences(branch) ? branch : acceptReferences(branch),
    );
    out[keyword] = needsReference ? [...mapped, REFERENCE] : mapped;
  }
  return out;
}

/**
 * The definition {@link acceptReferences} points to.
 *
 * @example
 * ```ts
 * schema.$defs = { ...schema.$defs, [SECRET_REFERENCE_DEFINITION]: secretReferenceDefinition() };
 * ```
 */
export function secretReferenceDefinition(): JsonObject {
  return {
    type: 'string',
    pattern: SECRET_REFERENCE_PATTERN,
    description:
      'A secret reference, resolved before validation: `${env:NAME}` (an environment variable) or `${file:path}` (a file, relative to the configuration file), alone or inside a longer string.',
  };
}
