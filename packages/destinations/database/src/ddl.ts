/**
 * `CREATE TABLE IF NOT EXISTS` from the declared column list, for the optional automatic table
 * creation, built with kysely's schema builder. Only identifiers from validated config reach the
 * statement, and each is checked again here.
 */
import { sql, type CompiledQuery, type CreateTableBuilder } from 'kysely';
import { ddlType, type ColumnType } from './column-types.js';
import { checkedIdentifier, type DialectName, type TableName } from './identifiers.js';
import { queryBuilder } from './query-builder.js';

/** A column as the DDL needs it. */
export interface DdlColumn {
  name: string;
  type: ColumnType;
  nullable: boolean;
  primaryKey: boolean;
}

/**
 * The statements that create the table (and, on PostgreSQL, its schema) when missing, compiled
 * for the dialect; run them with `executeQuery` on any connection. The primary key is the columns
 * flagged `primaryKey`; an upsert/dedupe `key` that differs from it gets its own UNIQUE
 * constraint, which ON CONFLICT / ON DUPLICATE KEY need.
 *
 * @example
 * ```ts
 * createTableQueries('postgres', { name: 't' }, [{ name: 'id', type: 'bigint', nullable: false, primaryKey: true }], [])
 *   .map((q) => q.sql);
 * // ['create table if not exists "t" ("id" bigint not null, primary key ("id"))']
 * ```
 */
export function createTableQueries(
  dialect: DialectName,
  table: TableName,
  columns: readonly DdlColumn[],
  key: readonly string[],
): CompiledQuery[] {
  const db = queryBuilder(dialect);
  const keyLower = new Set(key.map((k) => k.toLowerCase()));
  const primary = columns.filter((c) => c.primaryKey).map((c) => checkedIdentifier(c.name));
  const primaryLower = new Set(primary.map((k) => k.toLowerCase()));
  const schema =
    table.schema === undefined ? db.schema : db.schema.withSchema(checkedIdentifier(table.schema));
  let create: CreateTableBuilder<string, string> = schema
    .createTable(checkedIdentifier(table.name))
    .ifNotExists();
  for (const c of columns) {
    const keyed = c.primaryKey || keyLower.has(c.name.toLowerCase());
    const notNull = !c.nullable || keyed;
    // The type is one of ddlType's fixed spellings (never config text); kysely's typed data-type
    // names do not cover them all (e.g. MySQL's DECIMAL(38,10), DATETIME(3)).
    create = create.addColumn(
      checkedIdentifier(c.name),
      sql.raw(ddlType(dialect, c.type, keyed)),
      (col) => (notNull ? col.notNull() : col),
    );
  }
  // An empty constraint name leaves the constraint unnamed, so the database names it as it did
  // before the builder (e.g. PostgreSQL's "<table>_pkey").
  if (primary.length > 0) create = create.addPrimaryKeyConstraint('', primary);
  const sameAsPrimary =
    key.length === primary.length && key.every((k) => primaryLower.has(k.toLowerCase()));
  if (key.length > 0 && !sameAsPrimary)
    create = create.addUniqueConstraint('', key.map(checkedIdentifier));
  const queries: CompiledQuery[] = [];
  if (dialect === 'postgres' && table.schema !== undefined) {
    queries.push(db.schema.createSchema(checkedIdentifier(table.schema)).ifNotExists().compile());
  }
  queries.push(create.compile());
  return queries;
}
