/**
 * `@sluice/router`: routes records by prioritised rules — RFC 9535 JSONPath and structured
 * conditions, ordered transforms — to destinations, with batching, back-pressure, retries,
 * dead letters and acknowledgements that make source checkpoints safe.
 *
 * @example
 * ```ts
 * import { compileRouteTable, createRouter, runPipeline } from '@sluice/router';
 * const table = compileRouteTable(routes, { ctx, destinations: Object.keys(destinations) });
 * const router = createRouter({ table, destinations, deadLetters, ctx, pipeline: 'daily', runId, source: 'ga4' });
 * const summary = await runPipeline({ connector, request: {}, router, checkpoints, pipeline: 'daily', signal });
 * ```
 *
 * @packageDocumentation
 */
export {
  compileRouteTable,
  evaluateRecord,
  PIPELINE_TRANSFORM_ROUTE,
  routeShapeProblem,
  RouteEvaluationError,
  type CompileRouteTableOptions,
  type CompiledRoute,
  type CompiledStep,
  type DefaultRouteSpec,
  type RecordEvaluation,
  type RouteFailure,
  type RouteMatch,
  type RouteTable,
} from './route-table.js';
export { dryRun, type DryRunRecord, type DryRunResult } from './dry-run.js';
export { compileCondition, compileJsonPathAt, type RecordPredicate } from './conditions.js';
export {
  compileJsonPath,
  JsonPathEvaluationError,
  JsonPathSyntaxError,
  JSONPATH_MAX_DEPTH,
  type CompiledJsonPath,
} from './jsonpath.js';
export {
  compileExpression,
  ExpressionSyntaxError,
  EXPRESSION_FUNCTIONS,
  type CompiledExpression,
} from './expression.js';
export {
  compileSafeRegex,
  DEFAULT_MAX_INPUT_LENGTH,
  MAX_PATTERN_LENGTH,
  type SafeRegex,
} from './safe-regex.js';
export {
  builtinTransforms,
  routerPlugin,
  castTransform,
  castValue,
  CAST_TYPES,
  computeTransform,
  createSandboxedLiquid,
  dropTransform,
  flattenTransform,
  omitTransform,
  pickTransform,
  renameTransform,
  setTransform,
  templateTransform,
  unnestTransform,
  type CastType,
} from './transforms/index.js';
export {
  INVALID_RECORD_DESTINATION,
  INVALID_RECORD_ROUTE,
  createRouter,
  type Checkpoint,
  type CreateRouterOptions,
  type Router,
  type RouterDestination,
} from './delivery/router.js';
export { RunAbortedError, RunFailedError } from './delivery/errors.js';
export { batchIdAt, recordKey } from './delivery/record-key.js';
export type { DestinationSummary, RouteSummary, RouterSummary } from './delivery/summary.js';
export {
  compileExpectations,
  RUN_CHECKS,
  type CompiledExpectation,
  type ExpectationProblem,
} from './expectations/compile.js';
export {
  ExpectationError,
  ExpectationRun,
  type ExpectationSummary,
  type ExpectationViolation,
  type RejectedOutput,
} from './expectations/run.js';
export { runPipeline, summaryOfFailure, type RunPipelineOptions } from './run-pipeline.js';
