/**
 * Sorts driver errors into what the engine should do: retry the batch (the database is down,
 * a deadlock, a serialization failure), give up (syntax, unknown table, no permission), or treat
 * it as a problem with the data of some rows, which the writer isolates row by row.
 */
import { FatalError, RetryableError, type SluiceError } from '@sluice/core';
import type { DialectName } from './identifiers.js';

/** What a driver error means for the batch. */
export type SqlErrorClass = 'retryable' | 'fatal' | 'data';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_NET_READ_ERROR',
  'ER_NET_WRITE_INTERRUPTED',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_QUERY_INTERRUPTED',
  'ER_TOO_MANY_USER_CONNECTIONS',
]);

const MYSQL_DATA_CODES = new Set([
  'ER_DUP_ENTRY',
  'ER_BAD_NULL_ERROR',
  'ER_NO_DEFAULT_FOR_FIELD',
  'ER_DATA_TOO_LONG',
  'ER_TRUNCATED_WRONG_VALUE',
  'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD',
  'ER_WARN_DATA_OUT_OF_RANGE',
  'ER_WARN_DATA_TRUNCATED',
  'ER_DATA_OUT_OF_RANGE',
  'ER_INVALID_JSON_TEXT',
  'ER_INVALID_JSON_TEXT_IN_PARAM',
  'ER_NO_REFERENCED_ROW',
  'ER_NO_REFERENCED_ROW_2',
  'ER_ROW_IS_REFERENCED_2',
  'ER_CHECK_CONSTRAINT_VIOLATED',
  'ER_CONSTRAINT_FAILED',
  'ER_DIVISION_BY_ZERO',
  'ER_INVALID_CHARACTER_STRING',
  'ER_CANT_CREATE_GEOMETRY_OBJECT',
]);

// SQLite primary result codes (the low byte of the extended code).
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
const SQLITE_NOMEM = 7;
const SQLITE_IOERR = 10;
const SQLITE_FULL = 13;
const SQLITE_CANTOPEN = 14;
const SQLITE_PROTOCOL = 15;
const SQLITE_TOOBIG = 18;
const SQLITE_CONSTRAINT = 19;
const SQLITE_MISMATCH = 20;
const SQLITE_RANGE = 25;

interface DriverError {
  code?: unknown;
  errno?: unknown;
  errcode?: unknown;
  sqlState?: unknown;
  message?: unknown;
}

function classifyPostgres(code: string): SqlErrorClass {
  if (code.startsWith('08')) return 'retryable'; // connection exception
  if (code === '40001' || code === '40P01') return 'retryable'; // serialization failure, deadlock
  if (code.startsWith('53')) return 'retryable'; // insufficient resources (too many connections, disk full)
  if (code === '57P01' || code === '57P02' || code === '57P03' || code === '57014')
    return 'retryable'; // shutdown, crash, starting, cancelled/timeout
  if (code === '55P03' || code === '55006') return 'retryable'; // lock not available, object in use
  if (code === 'XX000' || code === '58000' || code === '58030') return 'retryable'; // internal / system I/O
  if (code.startsWith('22') || code.startsWith('23')) return 'data'; // data exception, integrity violation
  return 'fatal'; // 42 syntax/undefined/permission, 28 auth, 3D no database, 0A unsupported, ...
}

function classifyMysql(error: DriverError): SqlErrorClass {
  const code = typeof error.code === 'string' ? error.code : '';
  if (NETWORK_CODES.has(code)) return 'retryable';
  if (MYSQL_DATA_CODES.has(code)) return 'data';
  const state = typeof error.sqlState === 'string' ? error.sqlState : '';
  if (state === '40001' || state.startsWith('08')) return 'retryable';
  if (state.startsWith('22') || state.startsWith('23')) return 'data';
  return 'fatal';
}

function classifySqlite(error: DriverError): SqlErrorClass {
  const extended = typeof error.errcode === 'number' ? error.errcode : -1;
  const primary = extended & 0xff;
  if (
    [
      SQLITE_BUSY,
      SQLITE_LOCKED,
      SQLITE_NOMEM,
      SQLITE_IOERR,
      SQLITE_FULL,
      SQLITE_CANTOPEN,
      SQLITE_PROTOCOL,
    ].includes(primary)
  ) {
    return 'retryable';
  }
  if ([SQLITE_CONSTRAINT, SQLITE_MISMATCH, SQLITE_TOOBIG, SQLITE_RANGE].includes(primary))
    return 'data';
  return 'fatal';
}

/**
 * Classifies an error thrown by a driver of `dialect`.
 *
 * @example
 * ```ts
 * classifySqlError('postgres', { code: '40P01' }); // "retryable"
 * classifySqlError('postgres', { code: '42P01' }); // "fatal"
 * classifySqlError('postgres', { code: '23505' }); // "data"
 * ```
 */
export function classifySqlError(dialect: DialectName, error: unknown): SqlErrorClass {
  const e = (error ?? {}) as DriverError;
  const code = typeof e.code === 'string' ? e.code : '';
  if (NETWORK_CODES.has(code)) return 'retryable';
  // A programming error (not from the driver or the network) never heals by retrying.
  if (code === '' && (error instanceof TypeError || error instanceof RangeError)) return 'fatal';
  const message = typeof e.message === 'string' ? e.message : '';
  // node-postgres reports a dropped socket without a code.
  if (
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|socket hang up|Connection lost/i.test(
      message,
    )
  ) {
    return 'retryable';
  }
  switch (dialect) {
    case 'postgres':
      return /^[0-9A-Z]{5}$/.test(code) ? classifyPostgres(code) : 'retryable';
    case 'mysql':
      return classifyMysql(e);
    case 'sqlite':
      return classifySqlite(e);
  }
}

/**
 * Wraps a driver error into the Sluice error that tells the engine what to do. `data` errors
 * become fatal here: the writer only calls this for them once it could not isolate the rows.
 *
 * @example
 * ```ts
 * throw toSluiceError('postgres', err, 'writing to "sessions"');
 * ```
 */
export function toSluiceError(dialect: DialectName, error: unknown, doing: string): SluiceError {
  const kind = classifySqlError(dialect, error);
  const e = (error ?? {}) as DriverError;
  const message = `${doing}: ${typeof e.message === 'string' && e.message !== '' ? e.message : String(error)}`;
  const details = typeof e.code === 'string' ? { sqlCode: e.code } : undefined;
  return kind === 'retryable'
    ? new RetryableError(message, { cause: error, ...(details ? { details } : {}) })
    : new FatalError(message, { cause: error, ...(details ? { details } : {}) });
}
