/**
 * Schema drift policy: what the destination does when records no longer fit the table — the
 * table is missing (`newTable`), a record carries a field no column holds (`newColumn`), or a
 * value does not fit its column's type (`typeChange`). Each is one of `evolve` (change the
 * table), `freeze` (the record becomes a dead letter saying why), `discard_row` (drop the record)
 * or `discard_value` (drop the field). Every table change runs under a lock per table
 * (PostgreSQL `pg_advisory_xact_lock`, MySQL/MariaDB `GET_LOCK`, SQLite `BEGIN IMMEDIATE`), reads
 * the table again inside it and changes only what is still missing, so replicas evolving the
 * same table at once do not race: one changes it, the others adopt the change.
 */
import { createHash } from 'node:crypto';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { RetryableError, type JsonValue } from '@sluice/core';
import { convertValue, ddlType, ValueError, type ColumnType } from './column-types.js';
import type { DialectName, TableName } from './identifiers.js';

/** One of the four answers to a schema change. */
export type SchemaAction = 'evolve' | 'freeze' | 'discard_row' | 'discard_value';

/** The policy of one destination, after defaults. */
export interface SchemaPolicy {
  newTable: Exclude<SchemaAction, 'discard_value'>;
  newColumn: SchemaAction;
  typeChange: SchemaAction;
}

/** The actions accepted for each kind of change. */
export const SCHEMA_ACTIONS = ['evolve', 'freeze', 'discard_row', 'discard_value'] as const;

/**
 * The policy in effect: the declared `schema` over the defaults. Defaults keep what the
 * destination did before the policy existed: a missing table is created only with `createTable`
 * (else `freeze`), fields no column reads are left out (`discard_value`, now counted), and a value
 * that does not fit its column fails its record (`freeze`).
 *
 * @example
 * ```ts
 * resolveSchemaPolicy({ createTable: true }); // { newTable: 'evolve', newColumn: 'discard_value', typeChange: 'freeze' }
 * ```
 */
export function resolveSchemaPolicy(config: {
  createTable: boolean;
  schema?: Partial<Record<keyof SchemaPolicy, SchemaAction>> | undefined;
}): SchemaPolicy {
  const newTable = config.schema?.newTable ?? (config.createTable ? 'evolve' : 'freeze');
  return {
    newTable: newTable === 'discard_value' ? 'freeze' : newTable,
    newColumn: config.schema?.newColumn ?? 'discard_value',
    typeChange: config.schema?.typeChange ?? 'freeze',
  };
}

/**
 * Longest column name the destination gives a new column: 63 characters on every dialect —
 * PostgreSQL's limit (63 bytes; names here are ASCII), below MySQL's 64, and the limit every
 * identifier the destination quotes is held to, so a name is never cut or refused later.
 */
export function maxIdentifierLength(_dialect: DialectName): number {
  return 63;
}

const NAME_CHARACTERS = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Why a record field cannot become a column, or `undefined` when it can. Reserved words are fine
 * (every identifier is quoted); other characters and over-long names are refused, never cut.
 *
 * @example
 * ```ts
 * columnNameProblem('postgres', 'order');     // undefined
 * columnNameProblem('postgres', 'utm-source'); // 'field name "utm-source" ...'
 * ```
 */
export function columnNameProblem(dialect: DialectName, name: string): string | undefined {
  if (!NAME_CHARACTERS.test(name))
    return `field name ${JSON.stringify(name.length > 70 ? `${name.slice(0, 67)}...` : name)} cannot be a column name (letters, digits and _ only, not starting with a digit)`;
  const limit = maxIdentifierLength(dialect);
  if (name.length > limit)
    return `field name "${name.slice(0, 20)}..." has ${name.length} characters, more than the ${limit} a column name may have`;
  return undefined;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * The column type a new field gets from its first value; `undefined` for null (nothing to infer
 * from: the field is written once it has a value).
 *
 * @example
 * ```ts
 * inferColumnType(42);        // 'bigint'
 * inferColumnType(4.2);       // 'double'
 * inferColumnType({ a: 1 });  // 'json'
 * ```
 */
export function inferColumnType(value: JsonValue): ColumnType | undefined {
  if (value === null) return undefined;
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'string') return 'text';
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return 'double';
    const big = BigInt(value);
    return big >= INT64_MIN && big <= INT64_MAX ? 'bigint' : 'numeric';
  }
  return 'json';
}

const NUMERIC_RANK: Partial<Record<ColumnType, number>> = { integer: 0, bigint: 1, numeric: 2 };

/**
 * The type a column widens to so that `value` fits without losing anything, or `undefined` when
 * no safe widening exists (then the record is handled as under `freeze`). Only the integer
 * ladder widens: integer → bigint → numeric.
 *
 * @example
 * ```ts
 * wideningFor('postgres', 'integer', 3_000_000_000); // 'bigint'
 * wideningFor('postgres', 'bigint', 1.5);            // 'numeric'
 * wideningFor('postgres', 'integer', 'abc');         // undefined
 * ```
 */
export function wideningFor(
  dialect: DialectName,
  type: ColumnType,
  value: JsonValue,
): ColumnType | undefined {
  const rank = NUMERIC_RANK[type];
  if (rank === undefined) return undefined;
  for (const wider of ['bigint', 'numeric'] as const) {
    if (NUMERIC_RANK[wider]! <= rank) continue;
    // SQLite stores numeric as text: an INTEGER column cannot change its affinity in place.
    if (dialect === 'sqlite' && wider === 'numeric') return undefined;
    try {
      convertValue(dialect, wider, value);
      return wider;
    } catch (err) {
      if (!(err instanceof ValueError)) throw err;
    }
  }
  return undefined;
}

/**
 * Whether `a` and `b` are both on the integer ladder and `a` holds less than `b`.
 *
 * @example
 * ```ts
 * isNarrowerInteger('integer', 'bigint'); // true
 * isNarrowerInteger('text', 'bigint');    // false
 * ```
 */
export function isNarrowerInteger(a: ColumnType, b: ColumnType): boolean {
  const ra = NUMERIC_RANK[a];
  const rb = NUMERIC_RANK[b];
  return ra !== undefined && rb !== undefined && ra < rb;
}

/** The wider of two types on the integer ladder (both must be on it). */
export function widerType(a: ColumnType, b: ColumnType): ColumnType {
  return (NUMERIC_RANK[a] ?? 0) >= (NUMERIC_RANK[b] ?? 0) ? a : b;
}

/** A column as the table holds it. */
export interface TableColumn {
  name: string;
  /** The portable type it maps back to. */
  type: ColumnType;
  /** The database's own type name. */
  databaseType: string;
}

function portableType(dialect: DialectName, databaseType: string): ColumnType {
  const t = databaseType.toLowerCase();
  if (dialect === 'sqlite') {
    if (t.includes('int')) return 'bigint';
    if (t.includes('real') || t.includes('floa') || t.includes('doub')) return 'double';
    return 'text';
  }
  if (t === 'integer' || t === 'int' || t === 'smallint' || t === 'mediumint') return 'integer';
  if (t === 'bigint') return 'bigint';
  if (t === 'numeric' || t === 'decimal') return 'numeric';
  if (t === 'double precision' || t === 'double' || t === 'real' || t === 'float') return 'double';
  if (t === 'boolean' || t === 'tinyint') return 'boolean';
  if (t.startsWith('timestamp') || t === 'datetime') return 'timestamp';
  if (t === 'date') return 'date';
  if (t === 'json' || t === 'jsonb') return 'json';
  return 'text';
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = Kysely<any>;

/**
 * The columns the table has, by lower-cased name; empty when the table does not exist.
 *
 * @example
 * ```ts
 * const columns = await readTableColumns(db, 'postgres', { name: 'sessions' });
 * columns.get('day')?.type; // 'date'
 * ```
 */
export async function readTableColumns(
  db: Db,
  dialect: DialectName,
  table: TableName,
): Promise<Map<string, TableColumn>> {
  let rows: { name: string; type: string }[];
  if (dialect === 'sqlite') {
    const result = await sql<{ name: string; type: string }>`
      SELECT name, type FROM pragma_table_info(${table.name}, ${table.schema ?? 'main'})`.execute(
      db,
    );
    rows = result.rows;
  } else {
    const current = dialect === 'postgres' ? sql`current_schema()` : sql`database()`;
    const result = await sql<{ name: string; type: string }>`
      SELECT column_name AS name, data_type AS type FROM information_schema.columns
      WHERE table_schema = coalesce(${table.schema ?? null}, ${current}) AND table_name = ${table.name}`.execute(
      db,
    );
    rows = result.rows;
  }
  const columns = new Map<string, TableColumn>();
  for (const row of rows) {
    const name = String(row.name);
    const databaseType = String(row.type);
    columns.set(name.toLowerCase(), {
      name,
      databaseType,
      type: portableType(dialect, databaseType),
    });
  }
  return columns;
}

/** The name of the lock guarding one table's schema (MySQL limits lock names to 64 characters). */
export function schemaLockName(table: TableName): string {
  const qualified = table.schema === undefined ? table.name : `${table.schema}.${table.name}`;
  return `sluice_schema:${createHash('sha1').update(qualified).digest('hex').slice(0, 40)}`;
}

/**
 * Runs `change` holding the schema lock of `table`, on one connection: PostgreSQL in a
 * transaction holding `pg_advisory_xact_lock` (DDL is transactional there), MySQL/MariaDB
 * holding `GET_LOCK` (its DDL commits by itself, so the lock, not a transaction, orders the
 * replicas), SQLite inside `BEGIN IMMEDIATE`. A lock not granted in `timeoutMs` fails retryably.
 *
 * @example
 * ```ts
 * await withSchemaLock(db, 'postgres', { name: 't' }, 30_000, async (conn) => readTableColumns(conn, 'postgres', { name: 't' }));
 * ```
 */
export async function withSchemaLock<T>(
  db: Db,
  dialect: DialectName,
  table: TableName,
  timeoutMs: number,
  change: (conn: Db) => Promise<T>,
): Promise<T> {
  const lock = schemaLockName(table);
  switch (dialect) {
    case 'postgres':
      return db.transaction().execute(async (trx) => {
        await sql`SELECT set_config('lock_timeout', ${`${timeoutMs}ms`}, true)`.execute(trx);
        await sql`SELECT pg_advisory_xact_lock(hashtextextended(${lock}, 0))`.execute(trx);
        return change(trx);
      });
    case 'mysql':
      return db.connection().execute(async (conn) => {
        const got = await sql<{
          got: number | null;
        }>`SELECT GET_LOCK(${lock}, ${Math.ceil(timeoutMs / 1000)}) AS got`.execute(conn);
        if (Number(got.rows[0]?.got) !== 1)
          throw new RetryableError(
            `another writer held the schema lock of table "${table.name}" for more than ${timeoutMs} ms`,
          );
        try {
          return await change(conn);
        } finally {
          await sql`SELECT RELEASE_LOCK(${lock})`.execute(conn);
        }
      });
    case 'sqlite':
      return db.connection().execute(async (conn) => {
        await sql`BEGIN IMMEDIATE`.execute(conn);
        try {
          const result = await change(conn);
          await sql`COMMIT`.execute(conn);
          return result;
        } catch (err) {
          await sql`ROLLBACK`.execute(conn);
          throw err;
        }
      });
  }
}

/** A column to add or widen. */
export interface ColumnChange {
  column: string;
  type: ColumnType;
}

/** What one evolution did to the table. */
export interface SchemaChange {
  change: 'add_column' | 'widen_column';
  table: string;
  column: string;
  /** Portable type before (widen only). */
  from?: ColumnType;
  to: ColumnType;
  /** The DDL that ran. */
  statement: string;
}

/** A column as the destination now writes it: its name in the table and its portable type. */
export interface EvolvedColumn {
  name: string;
  type: ColumnType;
}

/**
 * Whether a column another writer made (or an earlier run) can take the values of `wanted`: the
 * same portable type, the same DDL type (SQLite's INTEGER holds booleans too), or JSON text into
 * a text column (MariaDB reports its JSON columns as longtext).
 */
function adoptable(dialect: DialectName, found: TableColumn, wanted: ColumnType): boolean {
  return (
    found.type === wanted ||
    found.databaseType.toLowerCase() === ddlType(dialect, wanted, false).toLowerCase() ||
    (wanted === 'json' && found.type === 'text')
  );
}

interface MysqlColumnDefinition {
  nullable: string;
  defaultValue: string | null;
  extra: string | null;
  comment: string | null;
}

/**
 * MySQL/MariaDB's `MODIFY COLUMN` replaces the whole definition: what the column had besides its
 * type (NOT NULL, DEFAULT, AUTO_INCREMENT, COMMENT) is read first and written again.
 */
async function mysqlColumnDefinition(
  conn: Db,
  table: TableName,
  column: string,
): Promise<MysqlColumnDefinition | undefined> {
  const result = await sql<MysqlColumnDefinition>`
    SELECT is_nullable AS nullable, column_default AS defaultValue, extra, column_comment AS comment
    FROM information_schema.columns
    WHERE table_schema = coalesce(${table.schema ?? null}, database()) AND table_name = ${table.name}
      AND column_name = ${column}`.execute(conn);
  return result.rows[0];
}

/** The DEFAULT clause value of a MySQL column default as information_schema reports it. */
function mysqlDefault(value: string | null): RawBuilder<unknown> | undefined {
  // MariaDB reports no default as the text NULL, MySQL as SQL NULL.
  if (value === null || value === 'NULL') return undefined;
  // Numbers as they are; MariaDB quotes text defaults already, MySQL does not.
  if (/^[+-]?\d+(?:\.\d+)?$/.test(value) || /^'.*'$/s.test(value)) return sql.raw(value);
  return sql.lit(value);
}

/**
 * Adds and widens columns under the schema lock, after reading the table again: a column another
 * replica added or widened meanwhile is adopted, not changed twice. Returns, for each requested
 * column (by the name asked for), its name in the table and its type as it now is, and the
 * changes this call made.
 *
 * @example
 * ```ts
 * const { changes } = await evolveColumns(db, 'postgres', { name: 't' }, 't', { add: [{ column: 'utm', type: 'text' }], widen: [] }, 30_000);
 * ```
 */
export async function evolveColumns(
  db: Db,
  dialect: DialectName,
  table: TableName,
  label: string,
  wanted: { add: readonly ColumnChange[]; widen: readonly ColumnChange[] },
  timeoutMs: number,
): Promise<{ columns: Map<string, EvolvedColumn>; changes: SchemaChange[] }> {
  return withSchemaLock(db, dialect, table, timeoutMs, async (conn) => {
    const existing = await readTableColumns(conn, dialect, table);
    const columns = new Map<string, EvolvedColumn>();
    const changes: SchemaChange[] = [];
    const builder = () =>
      table.schema === undefined ? conn.schema : conn.schema.withSchema(table.schema);
    for (const add of wanted.add) {
      const found = existing.get(add.column.toLowerCase());
      if (found) {
        columns.set(add.column, {
          name: found.name,
          type: adoptable(dialect, found, add.type) ? add.type : found.type,
        });
        continue;
      }
      const query = builder()
        .alterTable(table.name)
        .addColumn(add.column, sql.raw(ddlType(dialect, add.type, false)));
      const statement = query.compile().sql;
      await query.execute();
      columns.set(add.column, { name: add.column, type: add.type });
      changes.push({
        change: 'add_column',
        table: label,
        column: add.column,
        to: add.type,
        statement,
      });
    }
    for (const widen of wanted.widen) {
      const found = existing.get(widen.column.toLowerCase());
      // A column that is gone has nothing to widen: the write names it.
      if (!found) continue;
      if ((NUMERIC_RANK[found.type] ?? -1) >= (NUMERIC_RANK[widen.type] ?? 0)) {
        // Wide enough already (another replica widened it; SQLite's INTEGER is 64 bits).
        columns.set(widen.column, { name: found.name, type: found.type });
        continue;
      }
      const type = sql.raw(ddlType(dialect, widen.type, false));
      let statement: string;
      if (dialect === 'mysql') {
        const definition = await mysqlColumnDefinition(conn, table, found.name);
        const query = builder()
          .alterTable(table.name)
          .modifyColumn(found.name, type, (col) => {
            let c = col;
            if (definition?.nullable === 'NO') c = c.notNull();
            const fallback = mysqlDefault(definition?.defaultValue ?? null);
            if (fallback !== undefined) c = c.defaultTo(fallback);
            if (definition?.extra?.toLowerCase().includes('auto_increment')) c = c.autoIncrement();
            if (definition?.comment) c = c.modifyEnd(sql`comment ${sql.lit(definition.comment)}`);
            return c;
          });
        statement = query.compile().sql;
        await query.execute();
      } else {
        // PostgreSQL keeps NOT NULL, the default and constraints through ALTER COLUMN TYPE.
        const query = builder()
          .alterTable(table.name)
          .alterColumn(found.name, (col) => col.setDataType(type));
        statement = query.compile().sql;
        await query.execute();
      }
      columns.set(widen.column, { name: found.name, type: widen.type });
      changes.push({
        change: 'widen_column',
        table: label,
        column: found.name,
        from: found.type,
        to: widen.type,
        statement,
      });
    }
    return { columns, changes };
  });
}

/**
 * Whether the database refused a value because it does not fit the column as the table has it,
 * told by the driver's error code: PostgreSQL SQLSTATE 22001 (too long), 22003 (out of range),
 * 22007/22008 (bad date/time), 22P02 (invalid text representation); MySQL/MariaDB errno 1264
 * (out of range), 1265/1292/1366 (truncated or wrong value), 1406 (too long); SQLite 3091
 * (SQLITE_CONSTRAINT_DATATYPE, STRICT tables). Such rows count as `type_change` under the policy.
 *
 * @example
 * ```ts
 * isTypeRejection('postgres', { code: '22003' }); // true
 * isTypeRejection('mysql', { errno: 1264 });      // true
 * ```
 */
export function isTypeRejection(dialect: DialectName, error: unknown): boolean {
  const e = (error ?? {}) as { code?: unknown; errno?: unknown; errcode?: unknown };
  switch (dialect) {
    case 'postgres':
      return typeof e.code === 'string' && POSTGRES_TYPE_CODES.has(e.code);
    case 'mysql':
      return typeof e.errno === 'number' && MYSQL_TYPE_ERRNOS.has(e.errno);
    case 'sqlite':
      return e.errcode === 3091;
  }
}

/**
 * Whether the database refused a statement because a column it names does not exist, told by
 * the driver's error code: PostgreSQL SQLSTATE 42703, MySQL/MariaDB errno 1054. SQLite reports
 * it as a generic SQLITE_ERROR, so it is never recognised there.
 *
 * @example
 * ```ts
 * isUndefinedColumn('postgres', { code: '42703' }); // true
 * isUndefinedColumn('mysql', { errno: 1054 });      // true
 * ```
 */
export function isUndefinedColumn(dialect: DialectName, error: unknown): boolean {
  const e = (error ?? {}) as { code?: unknown; errno?: unknown };
  if (dialect === 'postgres') return e.code === '42703';
  if (dialect === 'mysql') return e.errno === 1054;
  return false;
}

const POSTGRES_TYPE_CODES = new Set(['22001', '22003', '22007', '22008', '22P02']);
const MYSQL_TYPE_ERRNOS = new Set([1264, 1265, 1292, 1366, 1406]);
