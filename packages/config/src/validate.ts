/**
 * The one validation pipeline of a Sluice configuration. `sluice validate`, `serve`, `run`, every
 * API route that writes configuration and the SIGHUP reload all run it, so nothing fails later
 * for a reason validation could have seen. It runs whole and collects every problem of every
 * stage at once, each with its path by name (`pipelines.daily.schedule.cron`) and, for text, its
 * line and column:
 *
 * 1. syntax (YAML/JSON, duplicate keys, alias bombs) — the only stage that stops the others;
 * 2. plugins: every `plugins:` entry resolved from the configuration's folder, imported and
 *    registered (async {@link validateConfig} only);
 * 3. secrets policy: the sections the store versions hold secrets as references only;
 * 4. references: `${env:..}` / `${file:..}` resolved (or, without the environment, only checked);
 * 5. structure, defaults, ranges, cron expressions and time zones, secret formats;
 * 6. cross-references (destinations, connections, unique names);
 * 7. plugin sections, each against its kind's schema;
 * 8. the caller's checks (the server compiles route tables and asks the scheduler whether it can
 *    apply each pipeline).
 *
 * @packageDocumentation
 */
import * as v from 'valibot';
import {
  ConfigError,
  createRedactor,
  findPlaintextSecrets,
  formatPath,
  type ConfigIssue,
  type PluginRegistry,
} from '@sluice/core';
import {
  SluiceConfigSchema,
  type DestinationConfig,
  type PipelineConfig,
  type SluiceConfig,
} from './config-schema.js';
import { DestinationSchema } from './destination-schema.js';
import { parsePath, problemsFromValibot, type PathSegments, type Problem } from './issues.js';
import { parseConfigText, type ConfigFormat, type SourcePosition } from './parse-text.js';
import { PipelineSchema } from './pipeline-schema.js';
import { checkPluginSections } from './plugin-sections.js';
import { loadPluginEntries } from './plugins.js';
import { rememberSecrets } from './redact.js';
import { checkReferences } from './references.js';
import { resolveReferences, type ResolvedString } from './secrets.js';
import { describeValue } from './suggest.js';

/** The sections whose entities the server's store versions: secrets in them must be references. */
const STORED_SECTIONS = ['connections', 'destinations', 'pipelines'] as const;

/**
 * What a check reports: problems with a path (segments, or text as `ConfigError`s write it).
 * A check may also throw a `ConfigError`; its issues are collected the same way.
 *
 * @example
 * ```ts
 * const found: CheckProblem[] = [{ path: ['pipelines', 'daily', 'routes', 0, 'when'], message: 'invalid JSONPath' }];
 * ```
 */
export interface CheckProblem {
  path: PathSegments | string;
  message: string;
}

/**
 * One pipeline as a check sees it.
 *
 * @example
 * ```ts
 * const check: ConfigCheck = { pipeline: ({ name, pipeline }) => (pipeline?.timeoutMs === 1 ? [{ path: ['pipelines', name, 'timeoutMs'], message: 'too short' }] : []) };
 * ```
 */
export interface PipelineCheckInput {
  name: string;
  /** The pipeline validated with its defaults; `undefined` when its own structure is invalid. */
  pipeline: PipelineConfig | undefined;
  /** The pipeline as written, references resolved (for parts that are valid on their own). */
  data: Record<string, unknown>;
  /** Names of every destination the configuration declares. */
  destinations: readonly string[];
  registry: PluginRegistry | undefined;
}

/**
 * What a per-destination check of {@link ConfigCheck} receives.
 *
 * @example
 * ```ts
 * const check: ConfigCheck = { destination: ({ name, destination }) => (destination?.expect?.length === 0 ? [{ path: ['destinations', name, 'expect'], message: 'empty' }] : []) };
 * ```
 */
export interface DestinationCheckInput {
  name: string;
  /** The destination validated; `undefined` when its own structure is invalid. */
  destination: DestinationConfig | undefined;
  /** The destination as written, references resolved (for parts that are valid on their own). */
  data: Record<string, unknown>;
  registry: PluginRegistry | undefined;
}

/**
 * A check the caller adds to the pipeline: per pipeline and per destination (run for every
 * one, even when another part of the file is broken) and/or on the whole configuration (run
 * when the rest is valid). Problems at a place an earlier stage already reported are dropped: one problem per
 * place.
 *
 * @example
 * ```ts
 * validateConfig(text, { registry, checks: [{ pipeline: ({ name, pipeline }) => compileRoutes(name, pipeline) }] });
 * ```
 */
export interface ConfigCheck {
  pipeline?(input: PipelineCheckInput): readonly CheckProblem[] | void;
  destination?(input: DestinationCheckInput): readonly CheckProblem[] | void;
  config?(
    config: SluiceConfig,
    registry: PluginRegistry | undefined,
  ): readonly CheckProblem[] | void;
}

/**
 * Options of {@link validateConfig}.
 *
 * @example
 * ```ts
 * validateConfig(text, { env: process.env, baseDir: '/etc/sluice', registry, environment: false });
 * ```
 */
export interface ValidateOptions {
  /** Plugin kinds to validate plugin-owned sections with; the configuration's `plugins` are loaded into it. */
  registry?: PluginRegistry;
  /** Environment for `${env:NAME}` references. Default: empty. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Folder of the configuration: relative `${file:..}` references and plugin paths resolve against it. Default: the working directory. */
  baseDir?: string;
  /** Syntax of text input. Default `auto` (YAML, which also reads JSON). */
  format?: ConfigFormat;
  /**
   * `false`: validate without the environment — every check except resolving references (no
   * variable or file is read; a reference's syntax is still checked) and connecting anywhere.
   * Problems that depend on a referenced value (its format, an allowed value) cannot be known
   * and are not reported. Default `true`.
   */
  environment?: boolean;
  /**
   * `refuse` (default): a secret written inline in `connections`, `destinations` or `pipelines`
   * is a problem, as the server's store refuses to keep one. `allow`: for embedders that do not
   * store the configuration.
   */
  plaintextSecrets?: 'refuse' | 'allow';
  /** Load the `plugins` the configuration lists into `registry` (async pipeline only). Default `true`. */
  loadPlugins?: boolean;
  /** Further checks of the caller, run as the last stage. */
  checks?: readonly ConfigCheck[];
  /** Take every string literally: `${...}` is neither resolved nor checked (`parseSluiceConfig`). */
  literal?: boolean;
}

/**
 * The outcome of a validation.
 *
 * @example
 * ```ts
 * const result: ValidationResult = await validateConfig(text, { registry });
 * if (!result.ok) for (const i of result.issues) console.error(`${i.line}:${i.column} ${i.path}: ${i.message}`);
 * ```
 */
export interface ValidationResult {
  ok: boolean;
  /** Every problem, in reading order of the text; messages carry no position (see `line`/`column`). */
  issues: ConfigIssue[];
  /** The validated configuration with defaults (`undefined` unless `ok`). Without the environment, references are kept as written. */
  config: SluiceConfig | undefined;
  /** The document as written (parsed text or the given data, references unresolved). */
  document: Record<string, unknown> | undefined;
  /** Every value a reference resolved to (for redaction). */
  secrets: string[];
  /** Whether references were resolved. */
  environment: boolean;
}

interface Prepared {
  document: unknown;
  problems: Problem[];
  locate: ((path: PathSegments) => SourcePosition | undefined) | undefined;
}

const isDict = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

function prepare(input: string | object, format: ConfigFormat | undefined): Prepared {
  if (typeof input !== 'string') return { document: input, problems: [], locate: undefined };
  const parsed = parseConfigText(input, format ?? 'auto');
  if (parsed.problems.length > 0)
    return { document: undefined, problems: parsed.problems, locate: undefined };
  // An empty file is an empty configuration.
  return {
    document: parsed.value === null || parsed.value === undefined ? {} : parsed.value,
    problems: [],
    locate: parsed.locate,
  };
}

/**
 * Validates a configuration completely — see the stages above — and reports every problem at
 * once. Text input gives each issue its line and column. Never throws for bad configuration.
 *
 * @example
 * ```ts
 * const result = await validateConfig(readFileSync('sluice.yaml', 'utf8'), { env: process.env, baseDir: '.', registry });
 * result.ok;        // false
 * result.issues[0]; // { path: 'pipelines.daily.schedule.cron', message: 'invalid cron expression ...', line: 12, column: 13 }
 * ```
 */
export async function validateConfig(
  input: string | object,
  options: ValidateOptions = {},
): Promise<ValidationResult> {
  const prepared = prepare(input, options.format);
  const pluginProblems: Problem[] = [];
  const plugins = isDict(prepared.document) ? prepared.document.plugins : undefined;
  if (
    options.registry &&
    options.loadPlugins !== false &&
    Array.isArray(plugins) &&
    prepared.problems.length === 0
  ) {
    pluginProblems.push(
      ...(await loadPluginEntries(options.registry, plugins, options.baseDir ?? process.cwd())),
    );
  }
  return finish(prepared, options, pluginProblems);
}

/**
 * {@link validateConfig} without loading plugins (the registry is used as it is): for callers
 * that cannot wait, such as the library's `loadConfig`.
 *
 * @example
 * ```ts
 * validateConfigSync({ pipelines: {} }).ok; // true
 * ```
 */
export function validateConfigSync(
  input: string | object,
  options: ValidateOptions = {},
): ValidationResult {
  return finish(prepare(input, options.format), options, []);
}

/**
 * The `ConfigError` of a failed validation: every issue, its message ending with its position
 * (`(line 12, column 13)`) when known.
 *
 * @example
 * ```ts
 * if (!result.ok) throw validationError(result);
 * ```
 */
export function validationError(result: Pick<ValidationResult, 'issues'>): ConfigError {
  return new ConfigError(
    result.issues.map((issue) => ({
      ...issue,
      message:
        issue.line === undefined
          ? issue.message
          : `${issue.message} (line ${issue.line}, column ${issue.column})`,
    })),
  );
}

/**
 * The configuration of a successful validation, or its `ConfigError`.
 *
 * @example
 * ```ts
 * const config = configOrThrow(await validateConfig(text, { registry }));
 * ```
 */
export function configOrThrow(result: ValidationResult): SluiceConfig {
  if (!result.ok || !result.config) throw validationError(result);
  return result.config;
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

/** `inner` is `outer` or lies under it. */
const within = (inner: PathSegments, outer: PathSegments) =>
  outer.length <= inner.length && outer.every((s, i) => String(s) === String(inner[i]));

function checkProblems(found: readonly CheckProblem[] | void): Problem[] {
  return (found ?? []).map((p) => ({
    path: typeof p.path === 'string' ? parsePath(p.path) : p.path,
    message: p.message,
  }));
}

/** Runs one check, turning a thrown `ConfigError` into problems (anything else is a bug of the check, reported at `at`). */
function runCheck(run: () => readonly CheckProblem[] | void, at: PathSegments): Problem[] {
  try {
    return checkProblems(run());
  } catch (error) {
    if (error instanceof ConfigError) return checkProblems(error.issues);
    return [{ path: at, message: `check failed: ${(error as Error)?.message ?? String(error)}` }];
  }
}

function finish(
  prepared: Prepared,
  options: ValidateOptions,
  pluginProblems: Problem[],
): ValidationResult {
  const environment = options.environment !== false;
  if (prepared.problems.length > 0) {
    return {
      ok: false,
      issues: prepared.problems.map((p) => ({ path: formatPath(p.path), message: p.message })),
      config: undefined,
      document: undefined,
      secrets: [],
      environment,
    };
  }
  const document = prepared.document;
  const problems: Problem[] = [...pluginProblems];

  const references = resolveReferences(document, {
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.baseDir === undefined ? {} : { baseDir: options.baseDir }),
    ...(options.literal ? { literal: true } : {}),
    environment,
  });
  const data = references.value;
  problems.push(...references.problems);
  const failedPaths = references.problems.map((p) => p.path);

  // Secrets policy, on the document as written (nothing resolved): a string whose reference is
  // malformed is reported as that, not a second time as a plaintext secret.
  if (options.plaintextSecrets !== 'allow' && isDict(document)) {
    for (const section of STORED_SECTIONS) {
      const entities = document[section];
      if (!isDict(entities)) continue;
      for (const [name, entity] of Object.entries(entities)) {
        if (!isDict(entity)) continue;
        for (const issue of findPlaintextSecrets(entity as never)) {
          const path = [section, name, ...parsePath(issue.path)];
          if (failedPaths.some((f) => within(path, f))) continue;
          problems.push({
            path,
            message: `${issue.message} (the server stores ${section} and refuses inline secrets)`,
          });
        }
      }
    }
  }
  const unresolved = references.unresolved;
  const unknownValue = (problem: Problem) =>
    problem.valueDependent === true && unresolved.some((u) => within(u, problem.path));

  const structure = v.safeParse(SluiceConfigSchema, data);
  if (!structure.success)
    problems.push(...problemsFromValibot(structure.issues).filter((p) => !unknownValue(p)));
  problems.push(...checkReferences(data));
  if (options.registry) {
    // A value whose reference could not be resolved is still the literal `${...}` text: its
    // plugin check would only add a second, confusing problem at the same place.
    problems.push(
      ...checkPluginSections(data, options.registry).filter(
        (p) => !unknownValue(p) && !failedPaths.some((f) => f.length > 0 && within(p.path, f)),
      ),
    );
  }

  // The caller's checks, last: a problem at a place already reported (or under it) is dropped.
  const reported = problems.map((p) => p.path);
  const fresh = (p: Problem) =>
    !reported.some((r) => r.length > 0 && within(p.path, r)) &&
    !unresolved.some((u) => within(p.path, u));
  const checks = options.checks ?? [];
  const destinations =
    isDict(data) && isDict(data.destinations) ? Object.keys(data.destinations) : [];
  if (checks.length > 0 && isDict(data) && isDict(data.pipelines)) {
    for (const [name, raw] of Object.entries(data.pipelines)) {
      if (!isDict(raw)) continue;
      const own = v.safeParse(PipelineSchema, raw);
      const input: PipelineCheckInput = {
        name,
        pipeline: own.success ? own.output : undefined,
        data: raw,
        destinations,
        registry: options.registry,
      };
      for (const check of checks) {
        if (check.pipeline)
          problems.push(
            ...runCheck(() => check.pipeline!(input), ['pipelines', name]).filter(fresh),
          );
      }
    }
  }
  if (checks.some((c) => c.destination) && isDict(data) && isDict(data.destinations)) {
    for (const [name, raw] of Object.entries(data.destinations)) {
      if (!isDict(raw)) continue;
      const own = v.safeParse(DestinationSchema, raw);
      const input: DestinationCheckInput = {
        name,
        destination: own.success ? own.output : undefined,
        data: raw,
        registry: options.registry,
      };
      for (const check of checks) {
        if (check.destination)
          problems.push(
            ...runCheck(() => check.destination!(input), ['destinations', name]).filter(fresh),
          );
      }
    }
  }
  // Without the environment, the only structural problems may have been about referenced values
  // (dropped above): the configuration is then valid as far as can be known, references kept.
  const output =
    structure.success || problems.length === 0 ? (structure.output as SluiceConfig) : undefined;
  if (problems.length === 0 && output) {
    for (const check of checks) {
      if (check.config)
        problems.push(...runCheck(() => check.config!(output, options.registry), []).filter(fresh));
    }
  }

  const secrets = references.secrets;
  if (problems.length > 0 || !output) {
    const redact = createRedactor(secrets);
    const located = problems.map((problem) => ({
      problem,
      at: problem.path.length > 0 ? prepared.locate?.(problem.path) : undefined,
    }));
    // Reading order of the file; problems without a position keep their order first.
    located.sort(
      (a, b) => (a.at?.line ?? 0) - (b.at?.line ?? 0) || (a.at?.column ?? 0) - (b.at?.column ?? 0),
    );
    const seen = new Set<string>();
    const issues: ConfigIssue[] = [];
    for (const { problem, at } of located) {
      const issue: ConfigIssue = {
        path: formatPath(problem.path),
        message: redact(describeAsWritten(problem.message, references.resolved)),
        ...(at ? { line: at.line, column: at.column } : {}),
      };
      // A shared connection can be reported by several pipelines: once is enough.
      const key = `${issue.path}\u0000${issue.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      issues.push(issue);
    }
    return {
      ok: false,
      issues,
      config: undefined,
      document: isDict(document) ? document : undefined,
      secrets,
      environment,
    };
  }
  return {
    ok: true,
    issues: [],
    config: rememberSecrets(output, secrets),
    document: isDict(document) ? document : undefined,
    secrets,
    environment,
  };
}
