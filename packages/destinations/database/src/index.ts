/**
 * Sluice destination that writes records to SQL databases (PostgreSQL, MySQL/MariaDB, SQLite).
 *
 * @packageDocumentation
 */
export {};
