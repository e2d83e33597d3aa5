/**
 * The server's configuration validation: `@sluice/config`'s one pipeline, with the server's
 * registry (every built-in plugin plus the file's plugins) and the two checks only the server can
 * make — every pipeline's route table compiles, and the scheduler can apply every pipeline's
 * triggers. `sluice validate`, `serve`, `run`, the API routes that write configuration and the
 * SIGHUP reload all call {@link validateServerConfig}, and nothing else.
 *
 * @packageDocumentation
 */
import * as v from 'valibot';
import {
  DefaultRouteSchema,
  DestinationExpectListSchema,
  RouteSchema,
  TransformSchema,
  validateConfig,
  type ConfigCheck,
  type ConfigFormat,
  type CheckProblem,
  type PipelineConfig,
  type SluiceConfig,
  type ValidationResult,
} from '@sluice/config';
import {
  ConfigError,
  createPluginContext,
  formatPath,
  type ConfigIssue,
  type PluginContext,
  type PluginRegistry,
} from '@sluice/core';
import { compileExpectations } from '@sluice/router';
import { parsePipelineScheduling } from '@sluice/scheduler';
import { compileRoutesOf } from './executor.js';
import { schedulingOf } from './scheduling.js';

/**
 * Options of {@link validateServerConfig}.
 *
 * @example
 * ```ts
 * await validateServerConfig(text, { registry: createRegistry(), env: process.env, baseDir: '/etc/sluice' });
 * ```
 */
export interface ServerValidationOptions {
  /** Built-in kinds; the configuration's `plugins` are loaded into it. */
  registry: PluginRegistry;
  env?: Readonly<Record<string, string | undefined>>;
  /** The configuration file's folder. */
  baseDir: string;
  format?: ConfigFormat;
  /** `false`: `sluice validate --no-environment` (no reference resolved, nothing read). Default true. */
  environment?: boolean;
  /** Context route tables compile with (transforms get its logger). Default: a quiet one. */
  ctx?: PluginContext;
}

/** What the scheduler calls a setting, and where it is written in a pipeline. */
const SCHEDULER_KEYS: Record<string, readonly (string | number)[]> = {
  'cron.expression': ['schedule', 'cron'],
  'cron.timezone': ['schedule', 'timezone'],
  'cron.jitterMs': ['schedule', 'jitterMs'],
  'cron.missed': ['schedule', 'missed'],
  'cron.catchUpMax': ['schedule', 'missed', 'catchUp'],
  cron: ['schedule'],
  'webhook.scheme': ['webhook', 'verify'],
  'webhook.secret': ['webhook', 'secret'],
  'webhook.toleranceSeconds': ['webhook', 'toleranceSeconds'],
  'webhook.maxBodyBytes': ['webhook', 'maxBytes'],
  'webhook.payload': ['webhook', 'payload'],
  webhook: ['webhook'],
  timeoutMs: ['timeoutMs'],
  'retry.limit': ['retry', 'maxAttempts'],
  'retry.delayMs': ['retry', 'initialDelayMs'],
  'retry.maxDelayMs': ['retry', 'maxDelayMs'],
  retry: ['retry'],
};

/** A scheduler issue path (`pipelines.daily.cron.expression`) as the configuration's (`pipelines.daily.schedule.cron`). */
function configPathOf(name: string, schedulerPath: string): (string | number)[] {
  const prefix = formatPath(['pipelines', name]);
  const rest = schedulerPath.startsWith(`${prefix}.`) ? schedulerPath.slice(prefix.length + 1) : '';
  for (
    let key = rest;
    key !== '';
    key = key.includes('.') ? key.slice(0, key.lastIndexOf('.')) : ''
  ) {
    const mapped = SCHEDULER_KEYS[key];
    if (mapped) return ['pipelines', name, ...mapped];
  }
  return ['pipelines', name];
}

/**
 * Asks the scheduler whether it can apply a pipeline's triggers (cron expressions and zones,
 * webhook limits, timeouts, retries) exactly as the running server will hand them over.
 */
export function schedulerCheck(name: string, pipeline: PipelineConfig): CheckProblem[] {
  const problems: CheckProblem[] = [];
  for (const input of schedulingOf({
    pipelines: { [name]: pipeline },
  } as unknown as SluiceConfig)) {
    try {
      parsePipelineScheduling(input, ['pipelines', name]);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const issue of error.issues) {
        problems.push({
          path: configPathOf(name, issue.path),
          message: `the scheduler cannot apply it: ${issue.message}`,
        });
      }
    }
  }
  return problems;
}

/** `routes[0]` of a one-route table compiled for route `index` is `routes[index]` of the pipeline. */
function reindex(error: unknown, name: string, index: number): CheckProblem[] {
  if (!(error instanceof ConfigError)) throw error;
  const from = formatPath(['pipelines', name, 'routes', 0]);
  const to = formatPath(['pipelines', name, 'routes', index]);
  return error.issues.map((issue) => ({
    path: issue.path.startsWith(from) ? to + issue.path.slice(from.length) : issue.path,
    message: issue.message,
  }));
}

function routeTableCheck(registry: PluginRegistry, ctx: PluginContext): ConfigCheck {
  return {
    pipeline: ({ name, pipeline, data }) => {
      if (pipeline) {
        compileRoutesOf(pipeline, name, registry, ctx);
        return [];
      }
      // The pipeline is broken elsewhere: compile each route that is valid on its own, so its
      // conditions and transforms are checked too (problems at places already reported are dropped).
      const problems: CheckProblem[] = [];
      const routes = Array.isArray(data.routes) ? data.routes : [];
      routes.forEach((raw, index) => {
        const route = v.safeParse(RouteSchema, raw);
        if (!route.success) return;
        try {
          compileRoutesOf(
            { routes: [route.output] } as Pick<PipelineConfig, 'routes' | 'defaultRoute'>,
            name,
            registry,
            ctx,
          );
        } catch (error) {
          problems.push(...reindex(error, name, index));
        }
      });
      const transform = v.safeParse(v.array(TransformSchema), data.transform);
      if (data.transform !== undefined && transform.success) {
        try {
          compileRoutesOf({ routes: [], transform: transform.output }, name, registry, ctx);
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
          problems.push(...error.issues);
        }
      }
      const defaultRoute = v.safeParse(DefaultRouteSchema, data.defaultRoute);
      if (data.defaultRoute !== undefined && defaultRoute.success) {
        try {
          compileRoutesOf(
            { routes: [], defaultRoute: defaultRoute.output } as Pick<
              PipelineConfig,
              'routes' | 'defaultRoute'
            >,
            name,
            registry,
            ctx,
          );
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
          problems.push(...error.issues);
        }
      }
      return problems;
    },
  };
}

/**
 * A destination's `expect` list compiles as a run will compile it (the options each check
 * takes, patterns, bounds, run checks' actions, names unique per destination), with problems at
 * `destinations.<name>.expect[i]...`. Checked once per destination, whichever pipelines use it.
 */
function destinationExpectationsCheck(): ConfigCheck {
  return {
    destination: ({ name, destination, data }) => {
      let expect = destination?.expect;
      if (!destination) {
        // The destination is broken elsewhere: its list is still checked when valid on its own.
        const own = v.safeParse(DestinationExpectListSchema, data.expect);
        if (data.expect === undefined || !own.success) return [];
        expect = own.output;
      }
      const issues: ConfigIssue[] = [];
      compileExpectations(expect, formatPath(['destinations', name, 'expect']), issues);
      return issues;
    },
  };
}

/**
 * The checks the server adds to the configuration's pipeline: route tables, destinations'
 * expectations and scheduling.
 *
 * @example
 * ```ts
 * validateConfig(text, { registry, checks: serverChecks(registry) });
 * ```
 */
export function serverChecks(
  registry: PluginRegistry,
  ctx: PluginContext = createPluginContext(),
): ConfigCheck[] {
  return [
    routeTableCheck(registry, ctx),
    destinationExpectationsCheck(),
    { pipeline: ({ name, pipeline }) => (pipeline ? schedulerCheck(name, pipeline) : []) },
  ];
}

/**
 * Validates a configuration (text of a file, or a document) completely, as the server will run
 * it: structure, plugins, secrets policy, references, plugin sections, route tables, scheduling.
 * Every problem at once; never throws for bad configuration.
 *
 * @example
 * ```ts
 * const result = await validateServerConfig(text, { registry, env: process.env, baseDir });
 * if (!result.ok) throw validationError(result);
 * ```
 */
export function validateServerConfig(
  input: string | object,
  options: ServerValidationOptions,
): Promise<ValidationResult> {
  return validateConfig(input, {
    registry: options.registry,
    baseDir: options.baseDir,
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.format === undefined ? {} : { format: options.format }),
    environment: options.environment !== false,
    checks: serverChecks(options.registry, options.ctx),
  });
}

/** The one config-file reader, from `@sluice/config` (re-exported for the CLI and the server). */
export { readConfigFile } from '@sluice/config';
