/**
 * Loading a configuration for embedding applications: the validation pipeline of `validate.ts`
 * (text or data -> references resolved -> validated with defaults -> cross-references and plugin
 * sections checked), every problem of every stage thrown once as a `ConfigError`. Inline secrets
 * are allowed here: only the server's store refuses them (see `validateConfig`).
 *
 * @packageDocumentation
 */
import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { ConfigError, type PluginRegistry } from '@sluice/core';
import type { SluiceConfig } from './config-schema.js';
import type { ConfigFormat } from './parse-text.js';
import { configOrThrow, validateConfigSync } from './validate.js';

/**
 * Options of {@link parseSluiceConfig}.
 *
 * @example
 * ```ts
 * parseSluiceConfig(data, { registry });
 * ```
 */
export interface ParseOptions {
  /**
   * Plugin kinds to validate plugin-owned sections with. Without it, only the engine's
   * structure is checked and plugin options are kept as written.
   */
  registry?: PluginRegistry;
}

/**
 * Options of {@link loadConfig}.
 *
 * @example
 * ```ts
 * loadConfig(text, { env: process.env, baseDir: '/etc/sluice', format: 'yaml', registry });
 * ```
 */
export interface LoadOptions extends ParseOptions {
  /** Environment for `${env:NAME}` references (the server passes `process.env`). Default: empty. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Folder for relative `${file:path}` references. Default: the working directory. */
  baseDir?: string;
  /** Syntax of text input. Default `auto` (YAML, which also reads JSON). */
  format?: ConfigFormat;
}

/**
 * Validates configuration data (already parsed, references already resolved): applies every
 * default, checks cross-references and, with a registry, each plugin section. Strings are
 * taken literally (`${env:...}` is not resolved here; use {@link loadConfig} for that).
 * Throws a `ConfigError` listing every problem with its path.
 *
 * @example
 * ```ts
 * const config = parseSluiceConfig({
 *   destinations: { out: { kind: 'file', path: './out.ndjson' } },
 *   pipelines: { demo: { source: { kind: 'ga4', property: '123' }, routes: [{ name: 'all', to: ['out'] }] } },
 * });
 * config.pipelines.demo?.routes[0]?.mode; // "continue"
 * ```
 */
export function parseSluiceConfig(input: unknown, options: ParseOptions = {}): SluiceConfig {
  return configOrThrow(
    validateConfigSync(input as object, {
      ...options,
      plaintextSecrets: 'allow',
      literal: true,
      loadPlugins: false,
    }),
  );
}

/**
 * Loads a configuration from YAML/JSON text or from data: resolves `${env:NAME}` and
 * `${file:path}` references, validates, fills defaults and checks cross-references (and
 * plugin sections when `registry` is given). Throws a `ConfigError` listing every problem
 * with its path, its line in the text, and no secret values. The returned config remembers
 * its secrets for {@link redactConfig}.
 *
 * @example
 * ```ts
 * const config = loadConfig(yamlText, { env: process.env, baseDir: '/etc/sluice', registry });
 * config.server.port; // 8080 unless set
 * ```
 */
export function loadConfig(input: string | object, options: LoadOptions = {}): SluiceConfig {
  return configOrThrow(
    validateConfigSync(input, { ...options, plaintextSecrets: 'allow', loadPlugins: false }),
  );
}

/**
 * Reads and loads a configuration file (`.yaml`, `.yml` or `.json`). Relative `${file:...}`
 * references resolve against the file's folder unless `baseDir` is given. An unreadable file
 * is a `ConfigError` too.
 *
 * @example
 * ```ts
 * const config = await loadConfigFile('./sluice.yaml', { env: process.env });
 * ```
 */
export async function loadConfigFile(
  path: string,
  options: LoadOptions = {},
): Promise<SluiceConfig> {
  const file = await readConfigFile(path);
  const format: ConfigFormat = options.format ?? file.format;
  return loadConfig(file.text, { ...options, format, baseDir: options.baseDir ?? file.baseDir });
}

/** A configuration file as read from disk, before parsing. */
export interface ConfigFileText {
  text: string;
  format: ConfigFormat;
  /** The file's folder: relative plugin and `${file:}` paths resolve from here. */
  baseDir: string;
  /** The absolute path. */
  path: string;
}

/**
 * Reads a configuration file (the one reader `loadConfigFile`, the server and the CLI share): a
 * missing file or a folder is a ConfigError naming the path; `.json` is JSON, anything else YAML.
 *
 * @example
 * ```ts
 * const { text, format, baseDir } = await readConfigFile('sluice.yaml');
 * ```
 */
export async function readConfigFile(path: string): Promise<ConfigFileText> {
  const full = resolve(path);
  let text: string;
  try {
    text = await readFile(full, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory'
          : (error as Error).message;
    throw new ConfigError([
      { path: '', message: `cannot read configuration file "${path}" (${full}): ${reason}` },
    ]);
  }
  return {
    text,
    format: extname(full).toLowerCase() === '.json' ? 'json' : 'yaml',
    baseDir: dirname(full),
    path: full,
  };
}
