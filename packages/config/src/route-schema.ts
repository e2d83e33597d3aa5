/**
 * Schemas of a pipeline's routing part: the one validation of routes. Their output types are
 * exactly `@sluice/core`'s `RouteSpec`, `ConditionSpec` and `TransformSpec`, which
 * `@sluice/router` compiles (it takes validated routes; see its `isRouteSpec`). The schema checks
 * structure and values, `references.ts` the names routes refer to; compiling finds the rest:
 * JSONPath and field-path syntax (with positions) and each transform's own options.
 *
 * @packageDocumentation
 */
import * as v from 'valibot';
import {
  CONDITION_OPS,
  EXPECTATION_ACTIONS,
  EXPECTATION_CHECKS,
  EXPECTED_TYPES,
  ON_ERROR_POLICIES,
  ROUTE_MODES,
  type ConditionSpec,
  type ExpectationSpec,
  type JsonValue,
} from '@sluice/core';
import { DEFAULTS } from './defaults.js';
import {
  KindSchema,
  NameRefSchema,
  NameSchema,
  integer,
  looseObject,
  picklist,
  strictObject,
} from './schema-helpers.js';
import { describeValue } from './suggest.js';

/**
 * Any JSON value (the `value` of a structured condition, `set` transform values, ...).
 *
 * @example
 * ```ts
 * v.parse(JsonValueSchema, { a: [1, 'x', null] });
 * ```
 */
export const JsonValueSchema: v.GenericSchema<JsonValue> = v.lazy(() =>
  v.union(
    [
      v.string(),
      v.number(),
      v.boolean(),
      v.null(),
      v.array(JsonValueSchema),
      v.record(v.string(), JsonValueSchema),
    ],
    (issue) => `expected a JSON value, got ${describeValue(issue.input)}`,
  ),
);

const QuerySchema = v.pipe(
  v.string('expected a JSONPath query string'),
  v.minLength(1, 'a JSONPath query must not be empty'),
);

const JsonPathConditionSchema = strictObject(
  {
    jsonpath: v.pipe(
      QuerySchema,
      v.description('An RFC 9535 JSONPath query; matches when it selects at least one node.'),
    ),
  },
  'a { jsonpath } condition',
);

const FilterConditionSchema = strictObject(
  {
    filter: v.pipe(
      v.string('expected a filter expression string'),
      v.minLength(1, 'a filter expression must not be empty'),
      v.description(
        "An RFC 9535 filter expression tested once against the record (`@` and `$` are the record), e.g. `@.sessions > 100 && @.country == 'DE'`.",
      ),
    ),
  },
  'a { filter } condition',
);

const ComparisonConditionSchema = v.pipe(
  strictObject(
    {
      path: v.pipe(
        QuerySchema,
        v.description(
          'The field to compare: a name or a singular JSONPath (`$.change`, `$.items[0].qty`; `$` is the whole record).',
        ),
      ),
      op: v.pipe(picklist(CONDITION_OPS), v.description('Comparison operator.')),
      value: v.optional(
        v.pipe(
          JsonValueSchema,
          v.description(
            'The value to compare with (an array for `in`/`nin`; not needed for `exists`).',
          ),
        ),
      ),
    },
    'a { path, op, value } condition',
  ),
  v.check(
    (c) => c.op === 'exists' || c.value !== undefined,
    (issue) => `operator "${(issue.input as { op: string }).op}" needs a "value"`,
  ),
  v.check(
    (c) => (c.op !== 'in' && c.op !== 'nin') || Array.isArray(c.value),
    (issue) => `operator "${(issue.input as { op: string }).op}" needs an array "value"`,
  ),
  v.check(
    (c) => c.op !== 'matches' || typeof c.value === 'string',
    'operator "matches" needs a regular expression string as "value"',
  ),
);

const AllConditionSchema = strictObject(
  {
    all: v.pipe(
      v.array(v.lazy(() => ConditionSchema)),
      v.minLength(1),
      v.description('Matches when every condition matches.'),
    ),
  },
  'an { all } condition',
);
const AnyConditionSchema = strictObject(
  {
    any: v.pipe(
      v.array(v.lazy(() => ConditionSchema)),
      v.minLength(1),
      v.description('Matches when at least one condition matches.'),
    ),
  },
  'an { any } condition',
);
const NotConditionSchema = strictObject(
  {
    not: v.pipe(
      v.lazy(() => ConditionSchema),
      v.description('Matches when the condition does not match.'),
    ),
  },
  'a { not } condition',
);

const AnyConditionShape = v.union(
  [
    QuerySchema,
    JsonPathConditionSchema,
    FilterConditionSchema,
    ComparisonConditionSchema,
    AllConditionSchema,
    AnyConditionSchema,
    NotConditionSchema,
  ],
  (issue) =>
    `expected a JSONPath string or an object with "jsonpath", "filter", "path"+"op", "all", "any" or "not", got ${describeValue(issue.input)}`,
);

const NoConditionShape = v.custom<never>(
  () => false,
  (issue) =>
    `expected a JSONPath string or an object with "jsonpath", "filter", "path"+"op", "all", "any" or "not", got ${describeValue(issue.input)}`,
);

/** Picks the schema by the condition's shape, so errors point inside the right variant. */
function conditionSchemaFor(input: unknown): v.GenericSchema<ConditionSpec> {
  if (input === undefined) return AnyConditionShape as v.GenericSchema<ConditionSpec>;
  if (typeof input === 'string') return QuerySchema;
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return NoConditionShape;
  const has = (key: string) => Object.hasOwn(input, key);
  if (has('jsonpath')) return JsonPathConditionSchema;
  if (has('filter')) return FilterConditionSchema;
  if (has('path') || has('op')) return ComparisonConditionSchema as v.GenericSchema<ConditionSpec>;
  if (has('all')) return AllConditionSchema;
  if (has('any')) return AnyConditionSchema;
  if (has('not')) return NotConditionSchema;
  return NoConditionShape;
}

/**
 * A route condition (`ConditionSpec`): a JSONPath string, `{ jsonpath }`, `{ filter }`, `{ path, op, value }`,
 * or `{ all }` / `{ any }` / `{ not }` combinations.
 *
 * @example
 * ```ts
 * v.parse(ConditionSchema, { all: ['$[?@.sessions > 100]', { path: '$.change', op: 'lt', value: -0.2 }] });
 * ```
 */
export const ConditionSchema: v.GenericSchema<ConditionSpec> = v.pipe(
  v.lazy(conditionSchemaFor),
  v.description(
    'When the route applies: an RFC 9535 JSONPath query string (matches when it selects a node), `{ jsonpath }`, `{ filter }` (an RFC 9535 filter expression tested once against the record), `{ path, op, value }` with op one of ' +
      CONDITION_OPS.join(', ') +
      ', or `{ all: [...] }`, `{ any: [...] }`, `{ not: ... }`. Absent: every record matches.',
  ),
);

/**
 * One transform step (`TransformSpec`): `kind` plus the step's own options, which the
 * transform's schema validates when a plugin registry is given.
 *
 * @example
 * ```ts
 * v.parse(TransformSchema, { kind: 'pick', fields: ['date', 'sessions'] });
 * ```
 */
export const TransformSchema = v.pipe(
  looseObject({ kind: KindSchema }, 'a transform step { kind, ...options }'),
  v.description(
    'A transform step: `kind` names a built-in or plugin transform; the other keys are its options.',
  ),
);

const TransformListSchema = v.pipe(
  v.array(TransformSchema),
  v.description('Transform steps applied in order to each matching record before delivery.'),
);

const ToSchema = v.pipe(
  v.array(NameRefSchema),
  v.minLength(1, 'a route needs at least one destination'),
  v.description('Names of the destinations (keys of `destinations`) that receive the records.'),
);

const OnErrorSchema = v.pipe(
  picklist(ON_ERROR_POLICIES),
  v.description(
    'What happens to a record still failing after every retry: keep it as a dead letter for replay, drop it, or fail the run.',
  ),
);

const BoundSchema = v.union(
  [
    v.pipe(
      v.number(),
      v.check((n: number) => Number.isFinite(n), 'expected a finite number'),
    ),
    v.string(),
  ],
  (issue) => `expected a number or a string (e.g. an ISO date), got ${describeValue(issue.input)}`,
);
const RatioSchema = v.pipe(
  v.number('expected a number'),
  v.check((n: number) => Number.isFinite(n), 'expected a finite number'),
  v.minValue(0),
);

/**
 * One expectation of a route or a destination (`ExpectationSpec`): a record check (`required`, `type`, `range`,
 * `pattern`, `one-of`, `predicate`, `unique`) or a run check (`row-count`, `freshness`), and the
 * action on a violation. The router's compile step checks the rest (the options each check
 * takes, patterns, `min` <= `max`), with the same paths.
 *
 * @example
 * ```ts
 * v.parse(ExpectationSchema, { check: 'range', field: 'amount', min: 0, action: 'drop' });
 * ```
 */
// Typed by its spec (as ConditionSchema is): the inferred valibot type of this object, nested in
// the route and pipeline schemas, is too deep for a consumer compiling with skipLibCheck: false (TS2589).
export const ExpectationSchema: v.GenericSchema<ExpectationSpec> = v.pipe(
  strictObject(
    {
      check: v.pipe(
        picklist(EXPECTATION_CHECKS),
        v.description(
          'What to check: per record `required`, `type`, `range`, `pattern`, `one-of`, `predicate`, `unique` (within the run); per run `row-count` (vs records read), `freshness`.',
        ),
      ),
      name: v.optional(
        v.pipe(
          NameSchema,
          v.description(
            'Names the check in metrics, the run summary and dead letters. Default `<check>:<field>`.',
          ),
        ),
      ),
      field: v.optional(
        v.pipe(
          QuerySchema,
          v.description('The field the check reads: a name or a singular JSONPath (`$.a.b`).'),
        ),
      ),
      action: v.optional(
        v.pipe(
          picklist(EXPECTATION_ACTIONS),
          v.description(
            'On a violation: `dead-letter` (default for record checks), `drop`, `warn` (deliver and count), `fail-run` (default for run checks, the only other choice there besides `warn`).',
          ),
        ),
      ),
      type: v.optional(
        v.pipe(picklist(EXPECTED_TYPES), v.description('`type`: the JSON type of the value.')),
      ),
      min: v.optional(v.pipe(BoundSchema, v.description('`range`: lowest allowed value.'))),
      max: v.optional(v.pipe(BoundSchema, v.description('`range`: highest allowed value.'))),
      pattern: v.optional(
        v.pipe(
          v.string('expected a regular expression string'),
          v.description(
            '`pattern`: a regular expression the value must match (no backreferences, lookaround or nested quantifiers).',
          ),
        ),
      ),
      flags: v.optional(v.pipe(v.string(), v.description('`pattern`: flags among i, m, s, u.'))),
      values: v.optional(
        v.pipe(
          v.array(JsonValueSchema),
          v.minLength(1, 'list at least one value'),
          v.description('`one-of`: the allowed values.'),
        ),
      ),
      when: v.optional(
        v.pipe(ConditionSchema, v.description('`predicate`: a condition every record must match.')),
      ),
      minRatio: v.optional(
        v.pipe(
          RatioSchema,
          v.description(
            '`row-count`: least (records of the route, or received by the destination) ÷ (records read).',
          ),
        ),
      ),
      maxRatio: v.optional(
        v.pipe(
          RatioSchema,
          v.description(
            '`row-count`: most (records of the route, or received by the destination) ÷ (records read).',
          ),
        ),
      ),
      maxAgeMs: v.optional(
        v.pipe(
          integer(1),
          v.description('`freshness`: how old the newest value of `field` may be, in ms.'),
        ),
      ),
    },
    'an expectation object { check, field?, action?, ... }',
  ),
  v.check(
    (e) =>
      typeof e.min !== typeof e.max || e.min === undefined || e.max === undefined || e.min <= e.max,
    (issue) => {
      const { min, max } = issue.input as { min: unknown; max: unknown };
      return `"min" (${JSON.stringify(min)}) is greater than "max" (${JSON.stringify(max)})`;
    },
  ),
  v.description(
    'A declarative expectation on the records of a route or of a destination, with its action.',
  ),
);

const ExpectListSchema = v.pipe(
  v.array(ExpectationSchema),
  v.description(
    'Expectations on the records this route produces (after its transforms), each with its action.',
  ),
);

/**
 * A destination's `expect`: the same expectations as a route's, checked on every record the
 * destination receives, from any route (after that route's transforms and expectations).
 *
 * @example
 * ```ts
 * v.parse(DestinationExpectListSchema, [{ check: 'unique', field: 'id' }, { check: 'row-count', minRatio: 0.9, action: 'warn' }]);
 * ```
 */
export const DestinationExpectListSchema = v.pipe(
  v.array(ExpectationSchema),
  v.description(
    'Expectations on every record this destination receives, from any route (after the route’s transforms and expectations), each with its action; names are unique per destination.',
  ),
);

/**
 * One route (`RouteSpec`), defaults applied.
 *
 * @example
 * ```ts
 * const route = v.parse(RouteSchema, { name: 'alerts', when: { path: '$.change', op: 'lt', value: -0.2 }, to: ['slack'] });
 * route.priority; // 0
 * route.mode;     // "continue"
 * ```
 */
export const RouteSchema = v.pipe(
  strictObject(
    {
      name: v.pipe(
        NameSchema,
        v.description(
          'Route name, unique within the pipeline (shown in dead letters and metrics).',
        ),
      ),
      priority: v.optional(
        v.pipe(
          integer(Number.MIN_SAFE_INTEGER),
          v.description('Higher runs first; ties keep config order.'),
        ),
        DEFAULTS.route.priority,
      ),
      when: v.optional(ConditionSchema),
      transform: v.optional(TransformListSchema),
      to: ToSchema,
      mode: v.optional(
        v.pipe(
          picklist(ROUTE_MODES),
          v.description(
            '`stop`: a match ends evaluation for the record (first match wins); `continue`: later routes may match too.',
          ),
        ),
        DEFAULTS.route.mode,
      ),
      onError: v.optional(OnErrorSchema, DEFAULTS.route.onError),
      expect: v.optional(ExpectListSchema),
    },
    'a route object',
  ),
  v.description(
    'A routing rule: records matching `when` are transformed and sent to every destination in `to`.',
  ),
);

/**
 * The route taken by records no other route matched.
 *
 * @example
 * ```ts
 * v.parse(DefaultRouteSchema, { to: ['archive'] }); // { to: ['archive'], onError: 'dead-letter' }
 * ```
 */
export const DefaultRouteSchema = v.pipe(
  strictObject(
    {
      transform: v.optional(TransformListSchema),
      to: ToSchema,
      onError: v.optional(OnErrorSchema, DEFAULTS.route.onError),
      expect: v.optional(ExpectListSchema),
    },
    'a default route object',
  ),
  v.description(
    'Where records go that matched no route. Absent: such records are counted and skipped.',
  ),
);

/**
 * A validated route (assignable to core's `RouteSpec`).
 *
 * @example
 * ```ts
 * const routes: RouteSpec[] = config.pipelines['daily']!.routes satisfies RouteConfig[];
 * ```
 */
export type RouteConfig = v.InferOutput<typeof RouteSchema>;
/**
 * A validated default route.
 *
 * @example
 * ```ts
 * const fallback: DefaultRouteConfig | undefined = config.pipelines['daily']!.defaultRoute;
 * ```
 */
export type DefaultRouteConfig = v.InferOutput<typeof DefaultRouteSchema>;
/**
 * A validated transform step (assignable to core's `TransformSpec`).
 *
 * @example
 * ```ts
 * const step: TransformConfig = { kind: 'pick', fields: ['date'] };
 * ```
 */
export type TransformConfig = v.InferOutput<typeof TransformSchema>;
