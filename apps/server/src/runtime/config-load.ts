/**
 * Loading a configuration file: the one reader (`readConfigFile` from `@sluice/config`) followed
 * by the one validation pipeline ({@link validateServerConfig}), on the file's text so every
 * problem keeps its line and column. `startSluice` (start and SIGHUP reload) and every CLI
 * command that reads a configuration go through here, so they cannot disagree about a file.
 *
 * @packageDocumentation
 */
import {
  configOrThrow,
  validationError,
  type SluiceConfig,
  type ValidationResult,
} from '@sluice/config';
import type { PluginContext, PluginRegistry } from '@sluice/core';
import type { RawConfig } from './config-state.js';
import { readConfigFile, validateServerConfig } from './validation.js';

/** Options of {@link validateConfigFile} and {@link loadServerConfig}. */
export interface ConfigLoadOptions {
  /** Path of `sluice.yaml` (or `.json`). */
  configPath: string;
  /** Folder relative paths resolve against. Default: the file's folder. */
  baseDir?: string | undefined;
  /** Built-in kinds; the configuration's `plugins` are loaded into it. */
  registry: PluginRegistry;
  /** Environment for `${env:..}` references. */
  env: Readonly<Record<string, string | undefined>>;
  /** `false`: resolve no reference and read no secret file (`sluice validate --no-environment`). */
  environment?: boolean;
  /** Context route tables compile with (the server passes its own on reload). */
  ctx?: PluginContext;
}

/** A file read and validated: every problem in `result`, nothing thrown for bad configuration. */
export interface ValidatedConfigFile {
  result: ValidationResult;
  /** The folder the configuration's relative paths resolved against. */
  baseDir: string;
}

/** A configuration that passed validation. */
export interface LoadedConfig {
  config: SluiceConfig;
  /** The document as written (references unresolved), which the store is seeded from. */
  document: RawConfig;
  baseDir: string;
}

/**
 * Reads the file and validates it; a file that cannot be read is a `ConfigError` naming the path,
 * a file with problems is a result with `ok: false` (callers that need only some problems, like
 * `sluice schema`, filter them).
 *
 * @example
 * ```ts
 * const { result } = await validateConfigFile({ configPath: 'sluice.yaml', registry: createRegistry(), env: process.env, environment: false });
 * ```
 */
export async function validateConfigFile(options: ConfigLoadOptions): Promise<ValidatedConfigFile> {
  const file = await readConfigFile(options.configPath);
  const baseDir = options.baseDir ?? file.baseDir;
  const result = await validateServerConfig(file.text, {
    registry: options.registry,
    env: options.env,
    baseDir,
    format: file.format,
    ...(options.environment === undefined ? {} : { environment: options.environment }),
    ...(options.ctx === undefined ? {} : { ctx: options.ctx }),
  });
  return { result, baseDir };
}

/**
 * {@link validateConfigFile}, throwing the `ConfigError` of every problem (printing them with
 * their positions and choosing the exit code is the CLI's job).
 *
 * @example
 * ```ts
 * const { config, document, baseDir } = await loadServerConfig({ configPath: 'sluice.yaml', registry, env: process.env });
 * ```
 */
export async function loadServerConfig(options: ConfigLoadOptions): Promise<LoadedConfig> {
  const { result, baseDir } = await validateConfigFile(options);
  if (!result.ok) throw validationError(result);
  return { config: configOrThrow(result), document: result.document as RawConfig, baseDir };
}
