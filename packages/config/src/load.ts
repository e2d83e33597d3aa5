/**
 * Loading a configuration: text (YAML/JSON) or data -> references resolved -> validated with
 * defaults -> cross-references and plugin sections checked. Every problem of every stage is
 * collected and thrown once as a `ConfigError`.
 *
 * @packageDocumentation
 */
import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import * as v from 'valibot';
import { ConfigError, createRedactor, type PluginRegistry } from '@sluice/core';
import { SluiceConfigSchema, type SluiceConfig } from './config-schema.js';
import { problemsFromValibot, toConfigIssues, type PathSegments, type Problem } from './issues.js';
import { parseConfigText, type ConfigFormat, type SourcePosition } from './parse-text.js';
import { checkPluginSections } from './plugin-sections.js';
import { rememberSecrets } from './redact.js';
import { checkReferences } from './references.js';
import { resolveReferences, type ResolvedString } from './secrets.js';
import { describeValue } from './suggest.js';

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

interface Stage {
  problems: Problem[];
  secrets: readonly string[];
  /** Strings whose references were resolved: messages describe them as written. */
  resolved?: readonly ResolvedString[];
  locate?: (path: PathSegments) => SourcePosition | undefined;
}

/**
 * A validation message quotes the value it rejects (`got "..."`, cut after 57 characters and
 * JSON-escaped): for a value that came from references, quote what was written instead, so no
 * part of a secret is shown — the redactor alone would miss a cut or escaped one.
 */
function describeAsWritten(message: string, resolved: readonly ResolvedString[]): string {
  let out = message;
  for (const { original, value } of resolved) {
    const shown = describeValue(value);
    if (out.includes(shown)) out = out.split(shown).join(describeValue(original));
  }
  return out;
}

function validateAll(input: unknown, options: ParseOptions, stage: Stage): SluiceConfig {
  const problems = [...stage.problems];
  const result = v.safeParse(SluiceConfigSchema, input);
  if (!result.success) problems.push(...problemsFromValibot(result.issues));
  problems.push(...checkReferences(input));
  if (options.registry) {
    // A value whose reference could not be resolved is still the literal `${...}` text: its
    // plugin check would only add a second, confusing problem at the same place.
    const unresolved = stage.problems.map((p) => p.path.map(String));
    const underUnresolved = (path: readonly (string | number)[]) =>
      unresolved.some((u) => u.length > 0 && u.length <= path.length && u.every((segment, i) => segment === String(path[i])));
    problems.push(...checkPluginSections(input, options.registry).filter((p) => !underUnresolved(p.path)));
  }
  if (problems.length > 0 || !result.success) {
    const redact = createRedactor(stage.secrets);
    const located = problems.map((problem) => ({
      problem,
      at: problem.path.length > 0 ? stage.locate?.(problem.path) : undefined,
    }));
    // Report in reading order of the file; problems without a position keep their order first.
    located.sort((a, b) => (a.at?.line ?? 0) - (b.at?.line ?? 0) || (a.at?.column ?? 0) - (b.at?.column ?? 0));
    const where = new Map(located.map(({ problem, at }) => [problem, at]));
    throw new ConfigError(
      toConfigIssues(
        located.map(({ problem }) => problem),
        (problem) => {
          const at = where.get(problem);
          const message = describeAsWritten(problem.message, stage.resolved ?? []);
          return redact(at === undefined ? message : `${message} (line ${at.line}, column ${at.column})`);
        },
      ),
    );
  }
  return rememberSecrets(result.output, stage.secrets);
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
  const { value, problems } = resolveReferences(input, { literal: true });
  return validateAll(value, options, { problems, secrets: [] });
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
  let data: unknown = input;
  let locate: Stage['locate'];
  if (typeof input === 'string') {
    const parsed = parseConfigText(input, options.format ?? 'auto');
    if (parsed.problems.length > 0) throw new ConfigError(toConfigIssues(parsed.problems));
    // An empty file is an empty configuration.
    data = parsed.value === null || parsed.value === undefined ? {} : parsed.value;
    locate = parsed.locate;
  }
  const resolved = resolveReferences(data, {
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.baseDir === undefined ? {} : { baseDir: options.baseDir }),
  });
  return validateAll(resolved.value, options, {
    problems: resolved.problems,
    secrets: resolved.secrets,
    resolved: resolved.resolved,
    ...(locate ? { locate } : {}),
  });
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
export async function loadConfigFile(path: string, options: LoadOptions = {}): Promise<SluiceConfig> {
  const full = resolve(path);
  let text: string;
  try {
    text = await readFile(full, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
    throw new ConfigError([{ path: '', message: `cannot read configuration file "${path}" (${full}): ${reason}` }]);
  }
  const extension = extname(full).toLowerCase();
  const format: ConfigFormat = options.format ?? (extension === '.json' ? 'json' : 'yaml');
  return loadConfig(text, { ...options, format, baseDir: options.baseDir ?? dirname(full) });
}
