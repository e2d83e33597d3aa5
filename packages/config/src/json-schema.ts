/**
 * JSON Schema export of the configuration, for editor autocompletion of `sluice.yaml` and for
 * generated reference docs. With a plugin registry, each kind's own options are included
 * (selected by `kind` with if/then), so an editor completes `table:` under `kind: database`.
 *
 * @packageDocumentation
 */
import type * as v from 'valibot';
import {
  toJsonSchema as convert,
  type ConversionConfig,
  type JsonSchema,
} from '@valibot/to-json-schema';
import type { PluginRegistry } from '@sluice/core';
import { SluiceConfigSchema } from './config-schema.js';
import { ConnectionSchema, DestinationSchema } from './destination-schema.js';
import { SourceSchema } from './pipeline-schema.js';
import { TransformSchema } from './route-schema.js';
import {
  SECRET_REFERENCE_DEFINITION,
  acceptReferences,
  secretReferenceDefinition,
} from './json-schema-references.js';

/**
 * Options of {@link toJsonSchema}.
 *
 * @example
 * ```ts
 * toJsonSchema({ registry, target: 'draft-2020-12' });
 * ```
 */
export interface JsonSchemaOptions {
  /** Include the option schemas of every registered connector, destination and transform kind. */
  registry?: PluginRegistry;
  /** JSON Schema draft. Default `draft-07` (the one editors support best). */
  target?: 'draft-07' | 'draft-2020-12';
}

type PluginType = 'connector' | 'destination' | 'transform';
type JsonObject = Record<string, unknown>;

// `check` actions (cron syntax, time zones, one-of rules) have no JSON Schema form; the
// loader enforces them.
const BASE: ConversionConfig = { typeMode: 'input', ignoreActions: ['check'] };

/** The object schema inside a `v.pipe(object, description)`. */
function innerObject(schema: v.GenericSchema): v.GenericSchema {
  return ('pipe' in schema ? (schema.pipe as v.GenericSchema[])[0] : schema) as v.GenericSchema;
}

/** Moves a plugin schema's `$defs` to the root under a unique prefix, rewriting its `$ref`s. */
function hoistDefinitions(schema: JsonObject, prefix: string, rootDefs: JsonObject): JsonObject {
  const defs = (schema.$defs ?? {}) as JsonObject;
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value === null || typeof value !== 'object') return value;
    const out: JsonObject = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] =
        key === '$ref' && typeof item === 'string' && item.startsWith('#/$defs/')
          ? `#/$defs/${prefix}${item.slice('#/$defs/'.length)}`
          : rewrite(item);
    }
    return out;
  };
  for (const [name, def] of Object.entries(defs)) rootDefs[`${prefix}${name}`] = rewrite(def);
  const { $defs: _defs, $schema: _schema, ...rest } = schema;
  return rewrite(rest) as JsonObject;
}

/**
 * The plugin's options plus the engine's keys of the section (`kind`, `batch`, `retry`,
 * `concurrency`, `connection`), in every object the section may be: a plugin schema that is a
 * union (the database destination's `dialect` branches) gets them in each branch, since each
 * branch forbids keys it does not list.
 */
function withEngineKeys(
  schema: JsonObject,
  baseProperties: JsonObject,
  rootDefs: JsonObject,
  dropRequired: boolean,
  depth = 0,
): JsonObject {
  if (typeof schema.$ref === 'string' && schema.$ref.startsWith('#/$defs/') && depth < 8) {
    const target = rootDefs[schema.$ref.slice('#/$defs/'.length)];
    if (target !== null && typeof target === 'object') {
      const { $ref: _ref, ...siblings } = schema;
      return withEngineKeys(
        { ...(target as JsonObject), ...siblings },
        baseProperties,
        rootDefs,
        dropRequired,
        depth + 1,
      );
    }
  }
  if (schema.properties !== undefined) {
    const { required, ...rest } = schema;
    return {
      ...rest,
      properties: { ...baseProperties, ...(schema.properties as JsonObject) },
      ...(dropRequired || required === undefined ? {} : { required }),
    };
  }
  for (const keyword of ['anyOf', 'oneOf'] as const) {
    const branches = schema[keyword];
    if (!Array.isArray(branches)) continue;
    const { [keyword]: _branches, ...rest } = schema;
    const merged = branches.map((branch: unknown) =>
      branch !== null && typeof branch === 'object'
        ? withEngineKeys(branch as JsonObject, baseProperties, rootDefs, dropRequired, depth + 1)
        : branch,
    );
    // Without their required keys, branches of a connection may overlap: "exactly one" would
    // then reject a valid connection, "at least one" does not.
    return { ...rest, [dropRequired ? 'anyOf' : keyword]: merged };
  }
  return schema;
}

function kindBranches(
  registry: PluginRegistry,
  type: PluginType,
  base: JsonObject,
  rootDefs: JsonObject,
  { dropRequired }: { dropRequired: boolean },
): JsonObject {
  const kinds = registry.kinds(type);
  if (kinds.length === 0) return base;
  const baseProperties = (base.properties ?? {}) as JsonObject;
  const branches = kinds.map((kind) => {
    const definition = registry.get(type, kind)!;
    const converted = hoistDefinitions(
      convert(definition.configSchema, { ...BASE, errorMode: 'ignore' }) as JsonObject,
      `${type}.${kind}.`,
      rootDefs,
    );
    let then = withEngineKeys(converted, baseProperties, rootDefs, dropRequired);
    if (definition.description !== undefined && then.description === undefined) {
      then = { ...then, description: definition.description };
    }
    return { if: { properties: { kind: { const: kind } }, required: ['kind'] }, then };
  });
  const kindProperty = { ...((baseProperties.kind ?? {}) as JsonObject), enum: kinds };
  return { ...base, properties: { ...baseProperties, kind: kindProperty }, allOf: branches };
}

/**
 * The JSON Schema of `sluice.yaml`: every key with its description and default. With a
 * registry, plugin kinds' options are included, each next to the engine's keys of its section.
 * A string value may also be a `${env:NAME}`/`${file:path}` reference wherever the loader
 * accepts one (`$defs.secretReference`). Reference it from the file with
 * `# yaml-language-server: $schema=./sluice.schema.json` (or a `$schema` key in JSON).
 *
 * @example
 * ```ts
 * import { writeFile } from 'node:fs/promises';
 * await writeFile('sluice.schema.json', JSON.stringify(toJsonSchema({ registry }), null, 2));
 * ```
 */
export function toJsonSchema(options: JsonSchemaOptions = {}): JsonSchema {
  const { registry } = options;
  const rootDefs: JsonObject = {};
  const targets = new Map<unknown, { type: PluginType; dropRequired: boolean }>([
    [innerObject(DestinationSchema), { type: 'destination', dropRequired: false }],
    // A connection may leave options to the sources that use it.
    [innerObject(ConnectionSchema), { type: 'connector', dropRequired: true }],
    // A source with `connection` has no kind of its own; a branch applies only when `kind` is set.
    [innerObject(SourceSchema), { type: 'connector', dropRequired: false }],
    [innerObject(TransformSchema), { type: 'transform', dropRequired: false }],
  ]);
  const schema = convert(SluiceConfigSchema, {
    ...BASE,
    target: options.target ?? 'draft-07',
    errorMode: 'throw',
    ...(registry === undefined
      ? {}
      : {
          overrideSchema: (context) => {
            const target = targets.get(context.valibotSchema);
            if (!target) return undefined;
            return kindBranches(
              registry,
              target.type,
              context.jsonSchema as JsonObject,
              rootDefs,
              target,
            ) as JsonSchema;
          },
        }),
  });
  const withReferences = acceptReferences({
    ...schema,
    $defs: { ...(schema.$defs ?? {}), ...(rootDefs as Record<string, JsonSchema>) },
  }) as JsonSchema;
  withReferences.$defs = {
    ...withReferences.$defs,
    [SECRET_REFERENCE_DEFINITION]: secretReferenceDefinition() as JsonSchema,
  };
  return withReferences;
}
