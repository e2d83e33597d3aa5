/**
 * kysely query builders that only compile, one per dialect: the destination builds its
 * statements with them (identifiers quoted and escaped by kysely's compilers, values bound as
 * parameters) and runs the compiled queries on whichever connection the write holds — a kysely
 * transaction, a schema-lock connection, or the raw `pg` client of a COPY. This is kysely's
 * "split build, compile and execute" pattern: the builders never connect (`DummyDriver`).
 */
import {
  DummyDriver,
  Kysely,
  MysqlAdapter,
  MysqlIntrospector,
  MysqlQueryCompiler,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import type { DialectName } from './identifiers.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const builders = new Map<DialectName, Kysely<any>>();

/**
 * The compile-only kysely instance of a dialect (created once, shared).
 *
 * @example
 * ```ts
 * queryBuilder('mysql').insertInto('t').values({ id: 1 }).compile().sql; // 'insert into `t` (`id`) values (?)'
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function queryBuilder(dialect: DialectName): Kysely<any> {
  let db = builders.get(dialect);
  if (db === undefined) {
    const [Adapter, Introspector, Compiler] =
      dialect === 'postgres'
        ? ([PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler] as const)
        : dialect === 'mysql'
          ? ([MysqlAdapter, MysqlIntrospector, MysqlQueryCompiler] as const)
          : ([SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler] as const);
    db = new Kysely({
      dialect: {
        createAdapter: () => new Adapter(),
        createDriver: () => new DummyDriver(),
        createIntrospector: (kysely) => new Introspector(kysely),
        createQueryCompiler: () => new Compiler(),
      },
    });
    builders.set(dialect, db);
  }
  return db;
}
