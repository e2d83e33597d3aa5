/**
 * The database destination's config schema. Everything that would otherwise surface as a SQL
 * error at write time (bad identifiers, key columns that do not exist, JSONPath queries that may
 * select several values) is refused here, with the path of the offending field.
 */
import * as v from 'valibot';
import { jsonpath } from 'json-p3';
import { COLUMN_TYPES } from './column-types.js';
import { IDENTIFIER_PATTERN } from './identifiers.js';

const identifier = v.pipe(
  v.string(),
  v.regex(IDENTIFIER_PATTERN, 'must be letters, digits and _, not starting with a digit, at most 63 characters'),
);

const tableName = v.pipe(
  v.string(),
  v.regex(
    /^[A-Za-z_][A-Za-z0-9_]{0,62}(?:\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/,
    'must be "table" or "schema.table" (letters, digits and _ only)',
  ),
);

const positiveInt = (max: number) => v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(max));

/** Where a column's value comes from: a field name (`channel`) or a singular JSONPath (`$.geo.country`). */
const fieldSource = v.pipe(
  v.string(),
  v.minLength(1, 'must not be empty'),
  v.check((from) => {
    if (!from.startsWith('$')) return true;
    try {
      return jsonpath.compile(from).singularQuery();
    } catch {
      return false;
    }
  }, 'must be a field name or a singular JSONPath query (e.g. $.geo.country; no wildcards, slices, filters or ..)'),
);

const columnSchema = v.strictObject({
  /** Column name in the table. */
  name: identifier,
  /** Portable type; see COLUMN_TYPES. */
  type: v.picklist(COLUMN_TYPES, `must be one of ${COLUMN_TYPES.join(', ')}`),
  /** Field name or singular JSONPath; defaults to the column name. */
  from: v.optional(fieldSource),
  /** Whether a record may leave this column empty (missing or null). Default true. */
  nullable: v.optional(v.boolean(), true),
  /** Part of the primary key when the destination creates the table. */
  primaryKey: v.optional(v.boolean(), false),
});

const commonEntries = {
  /** Target table, `name` or `schema.name`. */
  table: tableName,
  /** `insert` appends every record; `upsert` updates rows whose key exists; `dedupe` skips them. */
  mode: v.optional(v.picklist(['insert', 'upsert', 'dedupe'], 'must be insert, upsert or dedupe'), 'insert'),
  /** Key columns for `upsert` and `dedupe` (must be covered by a primary key or unique index). */
  key: v.optional(v.array(identifier)),
  /** Columns to write, in order. */
  columns: v.pipe(v.array(columnSchema), v.minLength(1, 'declare at least one column')),
  /** Create the table (and its key) when it does not exist. Default false. */
  createTable: v.optional(v.boolean(), false),
  /** Largest batch the router sends. Default 1000. */
  maxBatch: v.optional(positiveInt(1_000_000), 1000),
  /** Batches written concurrently. Default 1. */
  maxInFlight: v.optional(positiveInt(64), 1),
  /** Gives up on a connection attempt after this long. Default 10 000 ms. */
  connectTimeoutMs: v.optional(positiveInt(600_000), 10_000),
};

const postgresConfig = v.strictObject({
  dialect: v.literal('postgres'),
  /** `postgres://user:password@host:5432/database` (use a `${env:...}` secret reference). */
  url: v.pipe(v.string(), v.regex(/^postgres(?:ql)?:\/\//, 'must start with postgres:// or postgresql://')),
  /** Connections in the pool. Default 4. */
  poolSize: v.optional(positiveInt(100), 4),
  /** How large batches are loaded: `copy` (COPY FROM STDIN), `unnest` (arrays per column) or `values`. Default copy. */
  bulk: v.optional(v.picklist(['copy', 'unnest', 'values'], 'must be copy, unnest or values'), 'copy'),
  /** Batches with at least this many rows use the bulk method; smaller ones use multi-row VALUES. Default 500. */
  bulkThreshold: v.optional(positiveInt(10_000_000), 500),
  /** Fail (retryably) instead of waiting longer than this for a lock. Default: the server's setting. */
  lockTimeoutMs: v.optional(positiveInt(3_600_000)),
  ...commonEntries,
});

const mysqlConfig = v.strictObject({
  dialect: v.literal('mysql'),
  /** `mysql://user:password@host:3306/database` (MySQL or MariaDB). */
  url: v.pipe(v.string(), v.regex(/^(?:mysql|mariadb):\/\//, 'must start with mysql:// or mariadb://')),
  poolSize: v.optional(positiveInt(100), 4),
  ...commonEntries,
});

const sqliteConfig = v.strictObject({
  dialect: v.literal('sqlite'),
  /** Database file (created when missing), or `:memory:`. */
  file: v.pipe(v.string(), v.minLength(1, 'must not be empty')),
  /** How long to wait for another process's lock before failing retryably. Default 5000 ms. */
  busyTimeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 5000),
  ...commonEntries,
});

type PathKey = string | number;

function issuePath(input: unknown, keys: readonly PathKey[]): [v.IssuePathItem, ...v.IssuePathItem[]] {
  let current: unknown = input;
  const items = keys.map((key) => {
    const container = current as Record<PathKey, unknown>;
    const value = container?.[key];
    current = value;
    return typeof key === 'number'
      ? ({ type: 'array', origin: 'value', input: container as unknown as unknown[], key, value } as v.ArrayPathItem)
      : ({ type: 'object', origin: 'value', input: container as Record<string, unknown>, key, value } as v.ObjectPathItem);
  });
  return items as [v.IssuePathItem, ...v.IssuePathItem[]];
}

interface CrossFieldInput {
  mode: 'insert' | 'upsert' | 'dedupe';
  key?: string[] | undefined;
  columns: { name: string; primaryKey: boolean }[];
  createTable: boolean;
}

function checkCrossFields(input: CrossFieldInput, addIssue: (message: string, keys: PathKey[]) => void): void {
  const names = new Set<string>();
  input.columns.forEach((column, i) => {
    const lower = column.name.toLowerCase();
    if (names.has(lower)) addIssue(`duplicate column "${column.name}"`, ['columns', i, 'name']);
    names.add(lower);
  });
  if (input.mode !== 'insert' && (input.key === undefined || input.key.length === 0)) {
    addIssue(`mode "${input.mode}" needs the key column(s) that identify a row`, ['key']);
  }
  input.key?.forEach((key, i) => {
    if (!names.has(key.toLowerCase())) addIssue(`"${key}" is not one of the declared columns`, ['key', i]);
  });
  if (input.mode === 'insert' && input.key !== undefined && input.key.length > 0 && !input.createTable) {
    // Harmless but misleading: the key is used only for upsert/dedupe, or to create a unique index.
    addIssue('key is only used with mode upsert or dedupe, or with createTable', ['key']);
  }
}

/**
 * The config of the database destination: one of PostgreSQL, MySQL/MariaDB or SQLite.
 *
 * @example
 * ```ts
 * const config = parseConfig(databaseConfigSchema, {
 *   dialect: 'postgres',
 *   url: 'postgres://postgres@127.0.0.1:5432/analytics',
 *   table: 'daily_sessions',
 *   mode: 'upsert',
 *   key: ['day', 'channel'],
 *   columns: [
 *     { name: 'day', type: 'date', from: 'date' },
 *     { name: 'channel', type: 'text' },
 *     { name: 'sessions', type: 'bigint' },
 *   ],
 * });
 * ```
 */
export const databaseConfigSchema = v.pipe(
  v.variant('dialect', [postgresConfig, mysqlConfig, sqliteConfig], 'must be postgres, mysql or sqlite'),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    checkCrossFields(dataset.value, (message, keys) =>
      addIssue({ message, path: issuePath(dataset.value, keys) }),
    );
  }),
);

/** The parsed config of the database destination. */
export type DatabaseConfig = v.InferOutput<typeof databaseConfigSchema>;

/** One declared column, after defaults. */
export type ColumnConfig = DatabaseConfig['columns'][number];
