/**
 * The schema of a whole `sluice.yaml`, and the types inferred from it.
 *
 * @packageDocumentation
 */
import * as v from 'valibot';
import { DEFAULTS, defaultOf } from './defaults.js';
import { ConnectionSchema, DestinationSchema } from './destination-schema.js';
import { PipelineSchema } from './pipeline-schema.js';
import { LoggingSchema, SchedulerSchema, ServerSchema, StoreSchema } from './server-schema.js';
import { namedRecord, strictObject } from './schema-helpers.js';
import { describeValue } from './suggest.js';

const NPM_NAME = /^(?:@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;
const MODULE_PATH = /^(?:\.{1,2}\/|\/|file:)/;

/**
 * A plugin to load: an npm package name (`@acme/sluice-plugin-x`) or a module path
 * (`./plugins/mine.js`, resolved by the server against the config file's folder).
 *
 * @example
 * ```ts
 * v.parse(PluginRefSchema, 'sluice-plugin-http-json');
 * ```
 */
export const PluginRefSchema = v.pipe(
  v.string(),
  v.check(
    (ref) => NPM_NAME.test(ref) || MODULE_PATH.test(ref),
    (issue) =>
      `expected an npm package name or a ./relative or /absolute module path, got ${describeValue(issue.input)}`,
  ),
);

/**
 * A whole Sluice configuration. Parsing fills in every default (see `DEFAULTS`).
 *
 * @example
 * ```ts
 * const config = v.parse(SluiceConfigSchema, { pipelines: {} });
 * config.server.port; // 8080
 * ```
 */
export const SluiceConfigSchema = v.pipe(
  strictObject(
    {
      $schema: v.optional(
        v.pipe(
          v.string(),
          v.description('URL or path of the JSON Schema, for editors; ignored by Sluice.'),
        ),
      ),
      version: v.optional(
        v.pipe(
          v.literal(1, 'expected version 1 (the only configuration format so far)'),
          v.description('Configuration format version.'),
        ),
        DEFAULTS.version,
      ),
      store: v.optional(StoreSchema, defaultOf(DEFAULTS.store)),
      server: v.optional(ServerSchema, defaultOf(DEFAULTS.server)),
      logging: v.optional(LoggingSchema, defaultOf(DEFAULTS.logging)),
      scheduler: v.optional(SchedulerSchema, defaultOf(DEFAULTS.scheduler)),
      plugins: v.optional(
        v.pipe(
          v.array(PluginRefSchema),
          v.description(
            'Plugin packages the server loads before validating the rest of the configuration.',
          ),
        ),
        defaultOf(DEFAULTS.plugins),
      ),
      connections: v.optional(
        v.pipe(
          namedRecord(ConnectionSchema, 'a map of connection names to connections'),
          v.description(
            'Named connector settings (credentials, project, account) shared by pipelines.',
          ),
        ),
        () => ({}),
      ),
      destinations: v.optional(
        v.pipe(
          namedRecord(DestinationSchema, 'a map of destination names to destinations'),
          v.description('Named destinations that routes send records to.'),
        ),
        () => ({}),
      ),
      pipelines: v.optional(
        v.pipe(
          namedRecord(PipelineSchema, 'a map of pipeline names to pipelines'),
          v.description('Named pipelines.'),
        ),
        () => ({}),
      ),
    },
    'a configuration object',
  ),
  v.title('Sluice configuration'),
  v.description(
    'Configuration of a Sluice server (`sluice.yaml`). Strings may contain `${env:NAME}` and `${file:path}` references; `$${` writes a literal `${`.',
  ),
);

/**
 * A validated configuration with every default filled in.
 *
 * @example
 * ```ts
 * const config: SluiceConfig = loadConfig(text, { env: process.env });
 * ```
 */
export type SluiceConfig = v.InferOutput<typeof SluiceConfigSchema>;
/**
 * A configuration as written (defaults optional).
 *
 * @example
 * ```ts
 * const input: SluiceConfigInput = { server: { port: 9000 } };
 * ```
 */
export type SluiceConfigInput = v.InferInput<typeof SluiceConfigSchema>;
/**
 * One validated pipeline.
 *
 * @example
 * ```ts
 * const daily: PipelineConfig | undefined = config.pipelines['daily'];
 * ```
 */
export type PipelineConfig = v.InferOutput<typeof PipelineSchema>;
/**
 * One validated destination section (`kind`, delivery policy, plugin options).
 *
 * @example
 * ```ts
 * const warehouse: DestinationConfig | undefined = config.destinations['warehouse'];
 * ```
 */
export type DestinationConfig = v.InferOutput<typeof DestinationSchema>;
/**
 * One validated connection section.
 *
 * @example
 * ```ts
 * const ga4: ConnectionConfig | undefined = config.connections['ga4-main'];
 * ```
 */
export type ConnectionConfig = v.InferOutput<typeof ConnectionSchema>;
/**
 * The validated `server` section.
 *
 * @example
 * ```ts
 * const { host, port }: ServerConfig = config.server;
 * ```
 */
export type ServerConfig = v.InferOutput<typeof ServerSchema>;
/**
 * The validated `store` section.
 *
 * @example
 * ```ts
 * const store: StoreConfig = config.store; // { url?, dataDir }
 * ```
 */
export type StoreConfig = v.InferOutput<typeof StoreSchema>;
/**
 * The validated `scheduler` section.
 *
 * @example
 * ```ts
 * const { unclaimedRunTimeoutSeconds }: SchedulerConfig = config.scheduler;
 * ```
 */
export type SchedulerConfig = v.InferOutput<typeof SchedulerSchema>;
/**
 * The validated `logging` section.
 *
 * @example
 * ```ts
 * const { level }: LoggingConfig = config.logging;
 * ```
 */
export type LoggingConfig = v.InferOutput<typeof LoggingSchema>;
