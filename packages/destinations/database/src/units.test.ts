import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ConfigError, parseConfig } from '@sluice/core';
import { convertValue, ValueError } from './column-types.js';
import { databaseConfigSchema } from './config.js';
import { createRowMapper, RecordRowError } from './row-mapper.js';
import { createTableQueries } from './ddl.js';
import { quoteIdentifier } from './identifiers.js';
import { classifySqlError } from './errors.js';
import {
  createInsertStatements,
  createTablePlan,
  insertValuesQuery,
  lastRowPerKey,
} from './statements.js';

describe('identifiers', () => {
  it('quotes valid identifiers and throws on anything else, whatever the input', () => {
    expect(quoteIdentifier('postgres', 'a_b1')).toBe('"a_b1"');
    expect(quoteIdentifier('mysql', 'a_b1')).toBe('`a_b1`');
    fc.assert(
      fc.property(fc.string(), (name) => {
        let quoted: string | undefined;
        try {
          quoted = quoteIdentifier('postgres', name);
        } catch {
          return;
        }
        expect(quoted).toMatch(/^"[A-Za-z_][A-Za-z0-9_]*"$/);
      }),
    );
  });
});

describe('convertValue', () => {
  // Regression (found by test/fuzz): a NUL in a text value reached PostgreSQL, whose encoding
  // error named neither column nor field.
  it('refuses U+0000 in PostgreSQL text and json values', () => {
    expect(() => convertValue('postgres', 'text', 'a\u0000b')).toThrow(ValueError);
    expect(() => convertValue('postgres', 'text', 'a\u0000b')).toThrow(
      'PostgreSQL text cannot contain the character U+0000 (NUL)',
    );
    expect(() => convertValue('postgres', 'json', { k: '\u0000' })).toThrow(
      'PostgreSQL json cannot contain the character U+0000 (NUL)',
    );
    expect(convertValue('sqlite', 'text', 'a\u0000b')).toBe('a\u0000b');
    expect(convertValue('postgres', 'text', 'plain')).toBe('plain');
  });

  it('converts per type and dialect', () => {
    expect(convertValue('postgres', 'integer', '42')).toBe(42);
    expect(convertValue('postgres', 'bigint', '9223372036854775807')).toBe('9223372036854775807');
    expect(convertValue('sqlite', 'bigint', '9223372036854775807')).toBe(9223372036854775807n);
    expect(convertValue('mysql', 'boolean', 'false')).toBe(0);
    expect(convertValue('postgres', 'timestamp', '2026-11-24T10:00:00+02:00')).toBe(
      '2026-11-24T08:00:00.000Z',
    );
    expect(convertValue('mysql', 'timestamp', '2026-11-24')).toBe('2026-11-24 00:00:00.000');
    expect(convertValue('postgres', 'numeric', 1.5)).toBe('1.5');
    expect(convertValue('postgres', 'json', [1, 'a'])).toBe('[1,"a"]');
    expect(convertValue('postgres', 'text', 7)).toBe('7');
  });

  it('refuses values that do not fit, saying what was expected', () => {
    expect(() => convertValue('postgres', 'integer', 1.5)).toThrow(ValueError);
    expect(() => convertValue('postgres', 'integer', 2 ** 31)).toThrow(/out of range/);
    expect(() => convertValue('postgres', 'bigint', '9223372036854775808')).toThrow(/out of range/);
    expect(() => convertValue('postgres', 'date', '2026-02-30')).toThrow(/expected a date/);
    expect(() => convertValue('postgres', 'timestamp', 'yesterday')).toThrow(
      /expected a timestamp/,
    );
    expect(() => convertValue('postgres', 'boolean', 'yes')).toThrow(/expected a boolean/);
    expect(() => convertValue('postgres', 'text', { a: 1 })).toThrow(/expected text, got object/);
    expect(() => convertValue('postgres', 'double', 'NaN')).toThrow(/expected a number/);
  });
});

describe('statements', () => {
  const columns = [
    { name: 'id', type: 'bigint' as const },
    { name: 'name', type: 'text' as const },
  ];

  it('builds multi-row inserts with placeholders only', () => {
    const plan = createTablePlan('postgres', { schema: 's', name: 't' }, columns, 'insert', []);
    const query = insertValuesQuery(plan, [
      [1, 'a'],
      [2, "b'; drop table t"],
    ]);
    expect(query.sql).toBe('insert into "s"."t" ("id", "name") values ($1, $2), ($3, $4)');
    expect(query.parameters).toEqual([1, 'a', 2, "b'; drop table t"]);
    const my = createTablePlan('mysql', { name: 't' }, columns, 'insert', []);
    expect(insertValuesQuery(my, [[1, null]]).sql).toBe(
      'insert into `t` (`id`, `name`) values (?, ?)',
    );
  });

  it('builds the conflict clause of each mode and dialect', () => {
    const sqlOf = (dialect: 'postgres' | 'mysql' | 'sqlite', mode: 'upsert' | 'dedupe') =>
      insertValuesQuery(createTablePlan(dialect, { name: 't' }, columns, mode, ['id']), [[1, 'a']])
        .sql;
    expect(sqlOf('postgres', 'upsert')).toBe(
      'insert into "t" ("id", "name") values ($1, $2) on conflict ("id") do update set "name" = "excluded"."name"',
    );
    expect(sqlOf('sqlite', 'dedupe')).toBe(
      'insert into "t" ("id", "name") values (?, ?) on conflict ("id") do nothing',
    );
    expect(sqlOf('mysql', 'upsert')).toBe(
      'insert into `t` (`id`, `name`) values (?, ?) on duplicate key update `name` = VALUES(`name`)',
    );
    expect(sqlOf('mysql', 'dedupe')).toBe(
      'insert into `t` (`id`, `name`) values (?, ?) on duplicate key update `id` = `id`',
    );
  });

  it('reuses the compiled text of a kept row count, binding each call its own rows', () => {
    const plan = createTablePlan('postgres', { name: 't' }, columns, 'upsert', ['id']);
    const insert = createInsertStatements(plan, [2]);
    const first = insert([
      [1, 'a'],
      [2, 'b'],
    ]);
    const second = insert([
      [3, 'c'],
      [4, null],
    ]);
    expect(second.sql).toBe(first.sql);
    expect(second.parameters).toEqual([3, 'c', 4, null]);
    expect(insert([[5, 'e']]).sql).toBe(insertValuesQuery(plan, [[5, 'e']]).sql);
  });

  it('refuses an invalid identifier in a plan, naming it', () => {
    expect(() =>
      createTablePlan('postgres', { name: 't' }, [{ name: 'a b', type: 'text' }], 'insert', []),
    ).toThrow('invalid SQL identifier "a b"');
  });

  it('keeps the last row of each key for upserts', () => {
    const plan = createTablePlan('postgres', { name: 't' }, columns, 'upsert', ['id']);
    expect(
      lastRowPerKey(plan, [
        [1, 'a'],
        [2, 'b'],
        [1, 'c'],
      ]),
    ).toEqual([1, 2]);
  });

  it('creates tables with the key as primary key or unique constraint', () => {
    const sqlOf = (queries: readonly { sql: string }[]) => queries.map((q) => q.sql);
    expect(
      sqlOf(
        createTableQueries(
          'mysql',
          { name: 't' },
          [
            { name: 'k', type: 'text', nullable: true, primaryKey: false },
            { name: 'v', type: 'json', nullable: true, primaryKey: false },
          ],
          ['k'],
        ),
      ),
    ).toEqual([
      'create table if not exists `t` (`k` VARCHAR(255) not null, `v` JSON, unique (`k`))',
    ]);
    expect(
      sqlOf(
        createTableQueries(
          'postgres',
          { schema: 'a', name: 't' },
          [{ name: 'id', type: 'bigint', nullable: true, primaryKey: true }],
          ['id'],
        ),
      ),
    ).toEqual([
      'create schema if not exists "a"',
      'create table if not exists "a"."t" ("id" bigint not null, primary key ("id"))',
    ]);
  });

  it('refuses an invalid identifier in a table definition, naming it', () => {
    expect(() =>
      createTableQueries(
        'sqlite',
        { name: 't' },
        [{ name: 'a"b', type: 'text', nullable: true, primaryKey: false }],
        [],
      ),
    ).toThrow('invalid SQL identifier "a\\"b"');
  });
});

describe('classifySqlError', () => {
  it('sorts driver errors into retryable, fatal and data', () => {
    expect(classifySqlError('postgres', { code: 'ECONNREFUSED' })).toBe('retryable');
    expect(classifySqlError('postgres', { code: '40001' })).toBe('retryable');
    expect(classifySqlError('postgres', { code: '40P01' })).toBe('retryable');
    expect(classifySqlError('postgres', { code: '57P01' })).toBe('retryable');
    expect(classifySqlError('postgres', new Error('Connection terminated unexpectedly'))).toBe(
      'retryable',
    );
    expect(classifySqlError('postgres', { code: '42P01' })).toBe('fatal');
    expect(classifySqlError('postgres', { code: '42501' })).toBe('fatal');
    expect(classifySqlError('postgres', { code: '42601' })).toBe('fatal');
    expect(classifySqlError('postgres', { code: '23505' })).toBe('data');
    expect(classifySqlError('postgres', { code: '22P02' })).toBe('data');
    expect(classifySqlError('mysql', { code: 'ER_LOCK_DEADLOCK' })).toBe('retryable');
    expect(classifySqlError('mysql', { code: 'PROTOCOL_CONNECTION_LOST' })).toBe('retryable');
    expect(classifySqlError('mysql', { code: 'ER_NO_SUCH_TABLE', sqlState: '42S02' })).toBe(
      'fatal',
    );
    expect(classifySqlError('mysql', { code: 'ER_PARSE_ERROR', sqlState: '42000' })).toBe('fatal');
    expect(classifySqlError('mysql', { code: 'ER_DUP_ENTRY', sqlState: '23000' })).toBe('data');
    expect(classifySqlError('sqlite', { errcode: 5 })).toBe('retryable');
    expect(classifySqlError('sqlite', { errcode: 2067 })).toBe('data');
    expect(classifySqlError('sqlite', { errcode: 1 })).toBe('fatal');
  });
});

describe('config', () => {
  const base = {
    dialect: 'postgres',
    url: 'postgres://x@h/db',
    table: 'public.t',
    columns: [{ name: 'id', type: 'integer' }],
  };

  it('applies defaults', () => {
    const config = parseConfig(databaseConfigSchema, base);
    expect(config).toMatchObject({
      mode: 'insert',
      createTable: false,
      maxBatch: 1000,
      maxInFlight: 1,
      bulk: 'copy',
      poolSize: 4,
    });
    expect(config.columns[0]).toEqual({
      name: 'id',
      type: 'integer',
      nullable: true,
      primaryKey: false,
    });
  });

  it('lists every problem with its path', () => {
    let error: unknown;
    try {
      parseConfig(
        databaseConfigSchema,
        {
          ...base,
          mode: 'dedupe',
          table: 'a.b.c',
          columns: [{ name: '1x', type: 'text', extra: true }],
        },
        ['destinations', 'db'],
      );
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const paths = (error as ConfigError).issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'destinations.db.table',
        'destinations.db.columns[0].name',
        'destinations.db.columns[0].extra',
      ]),
    );
  });

  it('refuses a key in insert mode unless it creates a unique index', () => {
    expect(() => parseConfig(databaseConfigSchema, { ...base, key: ['id'] })).toThrow(
      /key is only used/,
    );
    expect(
      parseConfig(databaseConfigSchema, { ...base, key: ['id'], createTable: true }).key,
    ).toEqual(['id']);
  });
});

describe('row mapper', () => {
  it('reads each column by core field path: a name, a singular JSONPath, or $ for the whole record', () => {
    const map = createRowMapper('postgres', [
      { name: 'flat', type: 'text', from: 'utm.source', nullable: true },
      { name: 'nested', type: 'text', from: "$.geo['country code']", nullable: true },
      { name: 'last', type: 'integer', from: '$.items[-1]', nullable: true },
      { name: 'raw', type: 'json', from: '$', nullable: true },
      { name: 'plain', type: 'text', nullable: true },
    ]);
    const record = { 'utm.source': 'nl', geo: { 'country code': 'DE' }, items: [1, 2], plain: 'p' };
    expect(map(record)).toEqual(['nl', 'DE', 2, JSON.stringify(record), 'p']);
    expect(map({})).toEqual([null, null, null, '{}', null]);
  });

  it('names the column and the field of a record that does not fit', () => {
    const map = createRowMapper('postgres', [
      { name: 'n', type: 'integer', from: '$.m.n', nullable: false },
    ]);
    expect(() => map({ m: {} })).toThrow(
      new RecordRowError('column "n" is not nullable and field "$.m.n" is missing', 'n', '$.m.n'),
    );
  });

  it('refuses field paths that may select several values, naming the column', () => {
    const base = { dialect: 'postgres', url: 'postgres://x@h/db', table: 't' };
    for (const from of ['$..a', '$.items[*]', '$.a[0:2]', '$[?@.a]']) {
      let error: unknown;
      try {
        parseConfig(
          databaseConfigSchema,
          { ...base, columns: [{ name: 'a', type: 'text', from }] },
          ['destinations', 'db'],
        );
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues).toEqual([
        {
          path: 'destinations.db.columns[0].from',
          message: expect.stringContaining('is not a field path'),
        },
      ]);
    }
  });
});
