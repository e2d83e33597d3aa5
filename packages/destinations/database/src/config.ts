/**
 * The database destination's config schema. Everything that would otherwise surface as a SQL
 * error at write time (bad identifiers, key columns that do not exist, field paths that may
 * select several values) is refused here, with the path of the offending field.
 */
import * as v from 'valibot';
import { fieldPathSchema } from '@sluice/core';
import { COLUMN_TYPES } from './column-types.js';
import { IDENTIFIER_PATTERN } from './identifiers.js';
import { DEFAULT_LEDGER_TABLE } from './ledger.js';
import { SCHEMA_ACTIONS } from './schema-policy.js';

const identifier = v.pipe(
  v.string(),
  v.regex(
    IDENTIFIER_PATTERN,
    'must be letters, digits and _, not starting with a digit, at most 63 characters',
  ),
);

const tableName = v.pipe(
  v.string(),
  v.regex(
    /^[A-Za-z_][A-Za-z0-9_]{0,62}(?:\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/,
    'must be "table" or "schema.table" (letters, digits and _ only)',
  ),
);

const positiveInt = (max: number) =>
  v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(max));

/**
 * Where a column's value comes from: core's field path — a field name (`channel`) or a singular
 * JSONPath (`$.geo.country`); `$` alone is the whole record (for a `json` column).
 */
const fieldSource = fieldPathSchema({ root: true });

const columnSchema = v.strictObject({
  /** Column name in the table. */
  name: v.pipe(
    identifier,
    v.description('Column name in the table (letters, digits and _, at most 63 characters).'),
  ),
  /** Portable type; see COLUMN_TYPES. */
  type: v.pipe(
    v.picklist(COLUMN_TYPES, `must be one of ${COLUMN_TYPES.join(', ')}`),
    v.description(
      "Portable column type, mapped to each dialect's own; values are converted to it before writing.",
    ),
  ),
  /** Field name or singular JSONPath; defaults to the column name. */
  from: v.optional(
    v.pipe(
      fieldSource,
      v.description(
        'Where the value comes from: a field name or a singular JSONPath (`$.geo.country`; `$` is the whole record). Absent: the field named like the column.',
      ),
      v.metadata({ examples: ['$.metrics.sessions'] }),
    ),
  ),
  /** Whether a record may leave this column empty (missing or null). Default true. */
  nullable: v.optional(
    v.pipe(
      v.boolean(),
      v.description(
        'Whether a record may leave this column empty (missing or null); `false` fails such records.',
      ),
    ),
    true,
  ),
  /** Part of the primary key when the destination creates the table. */
  primaryKey: v.optional(
    v.pipe(
      v.boolean(),
      v.description('Part of the primary key when the destination creates the table.'),
    ),
    false,
  ),
});

const commonEntries = {
  /** Target table, `name` or `schema.name`. */
  table: v.pipe(
    tableName,
    v.description('Target table: `name` or `schema.name`.'),
    v.metadata({ examples: ['analytics.daily_sessions'] }),
  ),
  /** `insert` appends every record; `upsert` updates rows whose key exists; `dedupe` skips them. */
  mode: v.optional(
    v.pipe(
      v.picklist(['insert', 'upsert', 'dedupe'], 'must be insert, upsert or dedupe'),
      v.description(
        '`insert` appends every record; `upsert` updates the row whose `key` exists; `dedupe` skips such records.',
      ),
    ),
    'insert',
  ),
  /** Key columns for `upsert` and `dedupe` (must be covered by a primary key or unique index). */
  key: v.optional(
    v.pipe(
      v.array(identifier),
      v.description(
        'Columns identifying a row, for `upsert` and `dedupe`; the table needs a primary key or unique index on them.',
      ),
      v.metadata({ examples: [['day', 'channel']] }),
    ),
  ),
  /** Columns to write, in order. */
  columns: v.pipe(
    v.array(columnSchema),
    v.minLength(1, 'declare at least one column'),
    v.description('Columns to write, in order: `{ name, type, from?, nullable?, primaryKey? }`.'),
  ),
  /** Create the table (and its key) when it does not exist. Default false. */
  createTable: v.optional(
    v.pipe(
      v.boolean(),
      v.description(
        'Create the table (with its primary key) from `columns` when it does not exist.',
      ),
    ),
    false,
  ),
  /** What to do when records no longer fit the table; see docs (database destination, schema policy). */
  schema: v.optional(
    v.pipe(
      v.strictObject({
        newTable: v.optional(
          v.pipe(
            v.picklist(SCHEMA_ACTIONS, `must be one of ${SCHEMA_ACTIONS.join(', ')}`),
            v.description(
              'The table does not exist: `evolve` creates it from `columns`, `freeze` dead-letters the records, `discard_row` drops them. Default: `evolve` with `createTable`, else `freeze`.',
            ),
          ),
        ),
        newColumn: v.optional(
          v.pipe(
            v.picklist(SCHEMA_ACTIONS, `must be one of ${SCHEMA_ACTIONS.join(', ')}`),
            v.description(
              'A record has a top-level field no column reads: `evolve` adds a column (type from the value; also adds declared `columns` the existing table lacks), `freeze` dead-letters the record, `discard_row` drops it, `discard_value` leaves the field out. Default `discard_value`.',
            ),
          ),
        ),
        typeChange: v.optional(
          v.pipe(
            v.picklist(SCHEMA_ACTIONS, `must be one of ${SCHEMA_ACTIONS.join(', ')}`),
            v.description(
              'A value does not fit its column: `evolve` widens the column where safe (integer → bigint → numeric), `freeze` dead-letters the record, `discard_row` drops it, `discard_value` writes null instead. Default `freeze`.',
            ),
          ),
        ),
      }),
      v.description('Schema drift policy for new tables, new columns and type changes.'),
    ),
  ),
  /** How long a schema change waits for the lock of its table. Default 30 000 ms. */
  schemaLockTimeoutMs: v.optional(
    v.pipe(
      positiveInt(600_000),
      v.description(
        'How long a table change (schema policy `evolve`) waits for the lock other replicas hold on the same table before the batch is retried.',
      ),
    ),
    30_000,
  ),
  /** Largest batch the router sends. Default 1000. */
  maxBatch: v.optional(
    v.pipe(
      positiveInt(1_000_000),
      v.description('Largest batch the router sends to this destination (rows per transaction).'),
    ),
    1000,
  ),
  /** Batches written concurrently. Default 1. */
  maxInFlight: v.optional(
    v.pipe(
      positiveInt(64),
      v.description('Batches written at the same time, each on its own connection.'),
    ),
    1,
  ),
  /**
   * Insert mode: keep a delivery ledger (one row per written batch, in the same transaction), so
   * a repeated batch is skipped. Default: on in insert mode; `false` makes inserts at-least-once.
   */
  ledger: v.optional(
    v.pipe(
      v.boolean(),
      v.description(
        'Insert mode: record each written batch in a ledger table, in the same transaction as its rows, so a repeated batch (a take-over re-reading the source, a retry after a lost acknowledgement) is skipped: effectively once. Default true in insert mode; `false` makes inserts at-least-once. Upsert and dedupe need no ledger.',
      ),
    ),
  ),
  /** Name of the ledger table, in the schema (database) of `table`. Default `_sluice_batches`. */
  ledgerTable: v.optional(
    v.pipe(
      identifier,
      v.description(
        'Name of the ledger table, created when missing in the schema (MySQL: database) of `table`; one ledger serves every table of that schema.',
      ),
    ),
    DEFAULT_LEDGER_TABLE,
  ),
  /** Ledger rows older than this are deleted (at most once an hour). Default 7 days. */
  ledgerRetentionDays: v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.minValue(1),
      v.maxValue(3650),
      v.description(
        'Ledger rows older than this many days are deleted (checked on open and at most once an hour). Keep it longer than a run can be resumed after.',
      ),
    ),
    7,
  ),
  /** Gives up on a connection attempt after this long. Default 10 000 ms. */
  connectTimeoutMs: v.optional(
    v.pipe(
      positiveInt(600_000),
      v.description('Give up on a connection attempt after this many milliseconds.'),
    ),
    10_000,
  ),
};

const DIALECT = 'SQL dialect: `postgres`, `mysql` (MySQL or MariaDB) or `sqlite`.';
const POOL_SIZE = 'Connections in the pool.';

const postgresConfig = v.strictObject({
  dialect: v.pipe(v.literal('postgres'), v.description(DIALECT)),
  /** `postgres://user:password@host:5432/database` (use a `${env:...}` secret reference). */
  url: v.pipe(
    v.string(),
    v.regex(/^postgres(?:ql)?:\/\//, 'must start with postgres:// or postgresql://'),
    v.description(
      'Connection URL `postgres://user:password@host:5432/database`; use a secret reference such as `${env:WAREHOUSE_URL}`.',
    ),
    v.metadata({ examples: ['${env:WAREHOUSE_URL}'] }),
  ),
  /** Connections in the pool. Default 4. */
  poolSize: v.optional(v.pipe(positiveInt(100), v.description(POOL_SIZE)), 4),
  /** How large batches are loaded: `copy` (COPY FROM STDIN), `unnest` (arrays per column) or `values`. Default copy. */
  bulk: v.optional(
    v.pipe(
      v.picklist(['copy', 'unnest', 'values'], 'must be copy, unnest or values'),
      v.description(
        'How large batches are loaded: `copy` (COPY FROM STDIN), `unnest` (one array per column) or `values`.',
      ),
    ),
    'copy',
  ),
  /** Batches with at least this many rows use the bulk method; smaller ones use multi-row VALUES. Default 500. */
  bulkThreshold: v.optional(
    v.pipe(
      positiveInt(10_000_000),
      v.description(
        'Batches with at least this many rows use `bulk`; smaller ones use a multi-row INSERT.',
      ),
    ),
    500,
  ),
  /** Fail (retryably) instead of waiting longer than this for a lock. Default: the server's setting. */
  lockTimeoutMs: v.optional(
    v.pipe(
      positiveInt(3_600_000),
      v.description(
        "Fail the batch (to be retried) instead of waiting longer than this for a lock. Absent: the server's setting.",
      ),
    ),
  ),
  ...commonEntries,
});

const mysqlConfig = v.strictObject({
  dialect: v.pipe(v.literal('mysql'), v.description(DIALECT)),
  /** `mysql://user:password@host:3306/database` (MySQL or MariaDB). */
  url: v.pipe(
    v.string(),
    v.regex(/^(?:mysql|mariadb):\/\//, 'must start with mysql:// or mariadb://'),
    v.description(
      'Connection URL `mysql://user:password@host:3306/database` (MySQL or MariaDB); use a secret reference.',
    ),
    v.metadata({ examples: ['${env:WAREHOUSE_URL}'] }),
  ),
  poolSize: v.optional(v.pipe(positiveInt(100), v.description(POOL_SIZE)), 4),
  ...commonEntries,
});

const sqliteConfig = v.strictObject({
  dialect: v.pipe(v.literal('sqlite'), v.description(DIALECT)),
  /** Database file (created when missing), or `:memory:`. */
  file: v.pipe(
    v.string(),
    v.minLength(1, 'must not be empty'),
    v.description('Database file (created when missing), or `:memory:`.'),
    v.metadata({ examples: ['./data/warehouse.db'] }),
  ),
  /** How long to wait for another process's lock before failing retryably. Default 5000 ms. */
  busyTimeoutMs: v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.minValue(0),
      v.description(
        "How long to wait for another process's lock before failing the batch (to be retried).",
      ),
    ),
    5000,
  ),
  ...commonEntries,
});

type PathKey = string | number;

function issuePath(
  input: unknown,
  keys: readonly PathKey[],
): [v.IssuePathItem, ...v.IssuePathItem[]] {
  let current: unknown = input;
  const items = keys.map((key) => {
    const container = current as Record<PathKey, unknown>;
    const value = container?.[key];
    current = value;
    return typeof key === 'number'
      ? ({
          type: 'array',
          origin: 'value',
          input: container as unknown as unknown[],
          key,
          value,
        } as v.ArrayPathItem)
      : ({
          type: 'object',
          origin: 'value',
          input: container as Record<string, unknown>,
          key,
          value,
        } as v.ObjectPathItem);
  });
  return items as [v.IssuePathItem, ...v.IssuePathItem[]];
}

interface CrossFieldInput {
  mode: 'insert' | 'upsert' | 'dedupe';
  table: string;
  ledger?: boolean | undefined;
  ledgerTable: string;
  key?: string[] | undefined;
  columns: { name: string; primaryKey: boolean }[];
  createTable: boolean;
  schema?: { newTable?: string | undefined } | undefined;
}

function checkCrossFields(
  input: CrossFieldInput,
  addIssue: (message: string, keys: PathKey[]) => void,
): void {
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
    if (!names.has(key.toLowerCase()))
      addIssue(`"${key}" is not one of the declared columns`, ['key', i]);
  });
  if (
    input.mode === 'insert' &&
    input.key !== undefined &&
    input.key.length > 0 &&
    !input.createTable
  ) {
    // Harmless but misleading: the key is used only for upsert/dedupe, or to create a unique index.
    addIssue('key is only used with mode upsert or dedupe, or with createTable', ['key']);
  }
  const newTable = input.schema?.newTable;
  if (newTable === 'discard_value') {
    addIssue(
      'discard_value does not apply to a new table (a missing table has no value to drop): use evolve, freeze or discard_row',
      ['schema', 'newTable'],
    );
  } else if (input.createTable && newTable !== undefined && newTable !== 'evolve') {
    addIssue(
      `createTable: true creates a missing table, which contradicts schema.newTable "${newTable}"; drop createTable or use evolve`,
      ['schema', 'newTable'],
    );
  }
  if (input.mode !== 'insert' && input.ledger === true) {
    addIssue(
      `the ledger is for mode insert; mode "${input.mode}" is idempotent by its key already`,
      ['ledger'],
    );
  }
  if (
    input.ledgerTable.toLowerCase() ===
    input.table.slice(input.table.indexOf('.') + 1).toLowerCase()
  ) {
    addIssue('the ledger table must not be the target table', ['ledgerTable']);
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
  v.variant(
    'dialect',
    [postgresConfig, mysqlConfig, sqliteConfig],
    'must be postgres, mysql or sqlite',
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    checkCrossFields(dataset.value, (message, keys) =>
      addIssue({ message, path: issuePath(dataset.value, keys) }),
    );
  }),
);

/** The parsed config of the database destination. */
export type DatabaseConfig = v.InferOutput<typeof databaseConfigSchema>;

/**
 * Whether the destination keeps a delivery ledger: insert mode, unless `ledger: false`.
 *
 * @example
 * ```ts
 * usesLedger(parseConfig(databaseConfigSchema, { dialect: 'sqlite', file: ':memory:', table: 't', columns: [{ name: 'a', type: 'text' }] })); // true
 * ```
 */
export function usesLedger(config: Pick<DatabaseConfig, 'mode' | 'ledger'>): boolean {
  return config.mode === 'insert' && config.ledger !== false;
}

/** One declared column, after defaults. */
export type ColumnConfig = DatabaseConfig['columns'][number];
