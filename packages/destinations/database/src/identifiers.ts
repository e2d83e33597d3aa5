/**
 * SQL identifiers (tables, schemas, columns). Every identifier the destination puts into SQL
 * comes from config, is checked against a strict pattern when the config is parsed, and is
 * quoted again when the SQL is built — so no record value and no config string can ever change
 * the shape of a statement. Values always travel as bound parameters or COPY data.
 */

/** The SQL engines the destination speaks. */
export type DialectName = 'postgres' | 'mysql' | 'sqlite';

/**
 * Letters, digits and `_`, not starting with a digit, at most 63 characters (PostgreSQL's limit;
 * MySQL allows 64, SQLite more).
 */
export const IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * Tells whether `name` is an identifier the destination accepts.
 *
 * @example
 * ```ts
 * isValidIdentifier('daily_sessions'); // true
 * isValidIdentifier('x; drop table');  // false
 * ```
 */
export function isValidIdentifier(name: string): boolean {
  return IDENTIFIER_PATTERN.test(name);
}

/**
 * Quotes one validated identifier for a dialect. Throws on anything that is not a valid
 * identifier, so a bug elsewhere can never produce injectable SQL.
 *
 * @example
 * ```ts
 * quoteIdentifier('postgres', 'sessions'); // "\"sessions\""
 * quoteIdentifier('mysql', 'sessions');    // "`sessions`"
 * ```
 */
export function quoteIdentifier(dialect: DialectName, name: string): string {
  const checked = checkedIdentifier(name);
  return dialect === 'mysql' ? `\`${checked}\`` : `"${checked}"`;
}

/**
 * Returns `name` when it is a valid identifier, and throws otherwise. Statements are built with
 * kysely, which would quote and escape anything: every name passes here first, so a bug elsewhere
 * fails loudly instead of reaching a statement.
 *
 * @example
 * ```ts
 * checkedIdentifier('sessions'); // 'sessions'
 * checkedIdentifier('x; drop');  // throws TypeError: invalid SQL identifier "x; drop"
 * ```
 */
export function checkedIdentifier(name: string): string {
  if (!isValidIdentifier(name))
    throw new TypeError(`invalid SQL identifier ${JSON.stringify(name)}`);
  return name;
}

/** A table name, optionally qualified by a schema (PostgreSQL) or database (MySQL). */
export interface TableName {
  schema?: string;
  name: string;
}

/**
 * Quotes a (possibly schema-qualified) table name.
 *
 * @example
 * ```ts
 * quoteTable('postgres', { schema: 'analytics', name: 'sessions' }); // "\"analytics\".\"sessions\""
 * ```
 */
export function quoteTable(dialect: DialectName, table: TableName): string {
  return table.schema === undefined
    ? quoteIdentifier(dialect, table.name)
    : `${quoteIdentifier(dialect, table.schema)}.${quoteIdentifier(dialect, table.name)}`;
}
