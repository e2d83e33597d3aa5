// Type tests: the parsed config speaks @sluice/core's pipeline types. `tsc` fails when they drift.
import type * as v from 'valibot';
import { expectTypeOf } from 'vitest';
import type {
  BatchPolicy,
  ConditionSpec,
  DeliveryPolicy,
  RetryPolicy,
  RouteSpec,
  TransformSpec,
} from '@sluice/core';
import type {
  BatchPolicyConfig,
  DefaultRouteConfig,
  DestinationConfig,
  PipelineConfig,
  RetryPolicyConfig,
  RouteConfig,
  RouteSchema,
  SluiceConfig,
  TransformConfig,
} from './index.js';

expectTypeOf<RouteConfig>().toExtend<RouteSpec>();
expectTypeOf<v.InferOutput<typeof RouteSchema>>().toExtend<RouteSpec>();
expectTypeOf<PipelineConfig['routes']>().toExtend<RouteSpec[]>();
expectTypeOf<TransformConfig>().toExtend<TransformSpec>();
expectTypeOf<NonNullable<RouteConfig['when']>>().toEqualTypeOf<ConditionSpec>();
expectTypeOf<BatchPolicyConfig>().toExtend<BatchPolicy>();
expectTypeOf<RetryPolicyConfig>().toExtend<RetryPolicy>();
expectTypeOf<
  Pick<DestinationConfig, 'batch' | 'retry' | 'concurrency'>
>().toExtend<DeliveryPolicy>();
expectTypeOf<DefaultRouteConfig['onError']>().toEqualTypeOf<'dead-letter' | 'drop' | 'fail-run'>();

// Defaults make these keys always present after parsing.
expectTypeOf<RouteConfig['priority']>().toEqualTypeOf<number>();
expectTypeOf<RouteConfig['mode']>().toEqualTypeOf<'stop' | 'continue'>();
expectTypeOf<SluiceConfig['server']['port']>().toEqualTypeOf<number>();
expectTypeOf<SluiceConfig['server']['apiKeys'][number]['scopes']>().toEqualTypeOf<
  ('read' | 'run' | 'admin')[]
>();
expectTypeOf<NonNullable<PipelineConfig['schedule']>['timezone']>().toEqualTypeOf<string>();
expectTypeOf<NonNullable<PipelineConfig['schedule']>['missed']>().toEqualTypeOf<
  'skip' | { catchUp: number }
>();
expectTypeOf<PipelineConfig['api']['enabled']>().toEqualTypeOf<boolean>();
expectTypeOf<PipelineConfig['concurrency']['allowOverlap']>().toEqualTypeOf<boolean>();
expectTypeOf<DestinationConfig['kind']>().toEqualTypeOf<string>();
// Plugin options stay reachable (as unknown) on destinations and sources.
expectTypeOf<DestinationConfig['table']>().toEqualTypeOf<unknown>();
expectTypeOf<PipelineConfig['source']['query']>().toEqualTypeOf<unknown>();
