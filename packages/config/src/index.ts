/**
 * `@sluice/config`: the Sluice configuration model as valibot schemas, its defaults, loading
 * from YAML or JSON with `${env:NAME}` / `${file:path}` secret references, validation of
 * plugin sections through a registry, cross-reference checks, redaction, and JSON Schema
 * export for editors.
 *
 * @example
 * ```ts
 * import { loadConfigFile, redactConfig } from '@sluice/config';
 * const config = await loadConfigFile('./sluice.yaml', { env: process.env, registry });
 * console.log(redactConfig(config));
 * ```
 *
 * @packageDocumentation
 */
export {
  API_KEY_SCOPES,
  DEFAULTS,
  DESTINATION_ENGINE_KEYS,
  LIMITS,
  LOG_FORMATS,
  LOG_LEVELS,
  MIB,
  SOURCE_ENGINE_KEYS,
  WASM_COMPILERS,
  WEBHOOK_VERIFIERS,
  defaultOf,
  type LogFormat,
  type LogLevel,
  type WasmCompiler,
} from './defaults.js';
export {
  SluiceConfigSchema,
  PluginRefSchema,
  type ConnectionConfig,
  type DestinationConfig,
  type LoggingConfig,
  type SchedulerConfig,
  type PipelineConfig,
  type ServerConfig,
  type SluiceConfig,
  type SluiceConfigInput,
  type StoreConfig,
} from './config-schema.js';
export {
  ApiTriggerSchema,
  PipelineSchema,
  RunRetrySchema,
  ScheduleSchema,
  SourceSchema,
  WebhookTriggerSchema,
  type ApiTriggerConfig,
  type RunRetryConfig,
  type ScheduleConfig,
  type SourceConfig,
  type WebhookTriggerConfig,
} from './pipeline-schema.js';
export {
  ConditionSchema,
  DefaultRouteSchema,
  DestinationExpectListSchema,
  ExpectationSchema,
  JsonValueSchema,
  RouteSchema,
  TransformSchema,
  type DefaultRouteConfig,
  type RouteConfig,
  type TransformConfig,
} from './route-schema.js';
export {
  BatchPolicySchema,
  ConnectionSchema,
  DestinationSchema,
  RetryPolicySchema,
  type BatchPolicyConfig,
  type RetryPolicyConfig,
} from './destination-schema.js';
export {
  ApiKeySchema,
  LoggingSchema,
  MIN_API_KEY_LENGTH,
  SchedulerSchema,
  ServerSchema,
  StoreSchema,
  type ApiKeyConfig,
} from './server-schema.js';
export { KIND_PATTERN, KindSchema, NAME_PATTERN, NameSchema } from './schema-helpers.js';
export { cronProblem, isValidTimeZone } from './cron.js';
export {
  MAX_CONFIG_DEPTH,
  MAX_SECRET_FILE_BYTES,
  findReferences,
  resolveSecrets,
  type ResolvedSecrets,
  type SecretReference,
  type SecretSources,
} from './secrets.js';
export {
  parseConfigText,
  type ConfigFormat,
  type ParsedText,
  type SourcePosition,
} from './parse-text.js';
export {
  loadConfig,
  loadConfigFile,
  parseSluiceConfig,
  readConfigFile,
  type ConfigFileText,
  type LoadOptions,
  type ParseOptions,
} from './load.js';
export {
  configOrThrow,
  validateConfig,
  validateConfigSync,
  validationError,
  type CheckProblem,
  type ConfigCheck,
  type DestinationCheckInput,
  type PipelineCheckInput,
  type ValidateOptions,
  type ValidationResult,
} from './validate.js';
export { loadPluginEntries, resolvePluginEntry } from './plugins.js';
export { parsePath } from './issues.js';
export { checkReferences } from './references.js';
export { checkPluginSections, mergeSourceOptions, withoutKeys } from './plugin-sections.js';
export {
  configSecrets,
  createConfigRedactor,
  describeConfig,
  printConfig,
  redactConfig,
} from './redact.js';
export { destinationOptions, pipelineSourceOptions, type KindAndOptions } from './accessors.js';
export { toJsonSchema, type JsonSchemaOptions } from './json-schema.js';
export { closestMatch, didYouMean } from './suggest.js';
