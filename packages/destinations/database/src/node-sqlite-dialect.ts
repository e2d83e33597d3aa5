/**
 * A kysely dialect over Node's built-in `node:sqlite` (`DatabaseSync`), so SQLite works without
 * native addons. SQLite allows one writer at a time and `DatabaseSync` is one connection, so the
 * driver hands that connection to one user at a time (a transaction never interleaves with
 * another query).
 */
import {
  CompiledQuery,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
} from 'kysely';
import type { DatabaseSync, SQLInputValue } from 'node:sqlite';

/** Options of {@link NodeSqliteDialect}. */
export interface NodeSqliteDialectConfig {
  /** An open database, or a function that opens it when kysely first needs it. */
  database: DatabaseSync | (() => DatabaseSync | Promise<DatabaseSync>);
}

class NodeSqliteConnection implements DatabaseConnection {
  constructor(private readonly db: DatabaseSync) {}

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const statement = this.db.prepare(compiledQuery.sql);
    const parameters = compiledQuery.parameters as SQLInputValue[];
    // A statement that returns columns is a reader (SELECT, or INSERT ... RETURNING).
    if (statement.columns().length > 0) {
      return { rows: statement.all(...parameters) as R[] };
    }
    const { changes, lastInsertRowid } = statement.run(...parameters);
    return {
      rows: [],
      numAffectedRows: BigInt(changes),
      insertId: BigInt(lastInsertRowid),
    };
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    const statement = this.db.prepare(compiledQuery.sql);
    for (const row of statement.iterate(...(compiledQuery.parameters as SQLInputValue[]))) {
      yield { rows: [row as R] };
    }
  }
}

/** Hands the single connection to one user at a time, in arrival order. */
class ConnectionLock {
  private tail: Promise<void> = Promise.resolve();

  acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const ready = this.tail.then(() => release);
    this.tail = this.tail.then(() => next);
    return ready;
  }
}

class NodeSqliteDriver implements Driver {
  private db: DatabaseSync | undefined;
  private connection: NodeSqliteConnection | undefined;
  private readonly lock = new ConnectionLock();
  private releaseCurrent: (() => void) | undefined;

  constructor(private readonly config: NodeSqliteDialectConfig) {}

  async init(): Promise<void> {
    this.db =
      typeof this.config.database === 'function'
        ? await this.config.database()
        : this.config.database;
    this.connection = new NodeSqliteConnection(this.db);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    this.releaseCurrent = await this.lock.acquire();
    return this.connection!;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    // IMMEDIATE takes the write lock up front, so a busy database fails at BEGIN (retryably)
    // instead of half-way through the batch.
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async releaseConnection(): Promise<void> {
    const release = this.releaseCurrent;
    this.releaseCurrent = undefined;
    release?.();
  }

  async destroy(): Promise<void> {
    if (this.db?.isOpen) this.db.close();
  }
}

/**
 * The kysely dialect for `node:sqlite`.
 *
 * @example
 * ```ts
 * import { Kysely } from 'kysely';
 * import { DatabaseSync } from 'node:sqlite';
 * const db = new Kysely<any>({ dialect: new NodeSqliteDialect({ database: new DatabaseSync('data.db') }) });
 * ```
 */
export class NodeSqliteDialect implements Dialect {
  constructor(private readonly config: NodeSqliteDialectConfig) {}

  createDriver(): Driver {
    return new NodeSqliteDriver(this.config);
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}
