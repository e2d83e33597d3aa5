import { describe, expect, it } from 'vitest';
import { FatalError, createPluginContext, parseConfig } from '@sluice/core';
import { databaseConfigSchema } from './config.js';
import { openDatabase } from './connect.js';
import { DRIVER_PACKAGES, loadDriver, type DriverImporter } from './drivers.js';

/** An importer for which `missing` is not installed, as Node reports it; every other package loads for real. */
function withoutPackage(missing: string): DriverImporter & { asked: string[] } {
  const asked: string[] = [];
  const importer = (async (name: 'pg' | 'mysql2') => {
    asked.push(name);
    if (name === missing) {
      throw Object.assign(
        new Error(
          `Cannot find package '${name}' imported from /app/node_modules/@sluice/destinations-database/dist/drivers.js`,
        ),
        {
          code: 'ERR_MODULE_NOT_FOUND',
        },
      );
    }
    return name === 'pg' ? import('pg') : import('mysql2');
  }) as DriverImporter & { asked: string[] };
  importer.asked = asked;
  return importer;
}

const postgres = parseConfig(databaseConfigSchema, {
  dialect: 'postgres',
  url: 'postgres://u:p@127.0.0.1:1/db',
  table: 't',
  columns: [{ name: 'id', type: 'text' }],
});
const mysql = parseConfig(databaseConfigSchema, {
  dialect: 'mysql',
  url: 'mysql://u:p@127.0.0.1:1/db',
  table: 't',
  columns: [{ name: 'id', type: 'text' }],
});

describe('database drivers (optional peer dependencies)', () => {
  it('maps each dialect with a driver to its package', () => {
    expect(DRIVER_PACKAGES).toEqual({ postgres: 'pg', mysql: 'mysql2' });
  });

  it('loads the installed driver of the dialect, and only that one', async () => {
    const importer = withoutPackage('none');
    const pg = await loadDriver('postgres', importer);
    expect(typeof pg.Pool).toBe('function');
    expect(importer.asked).toEqual(['pg']);
    expect(typeof (await loadDriver('mysql', importer)).createPool).toBe('function');
    expect(importer.asked).toEqual(['pg', 'mysql2']);
  });

  it.each([
    ['postgres', 'pg'],
    ['mysql', 'mysql2'],
  ] as const)(
    'a missing driver of %s is a fatal error naming the package %s to install',
    async (dialect, name) => {
      const error = await loadDriver(dialect, withoutPackage(name)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FatalError);
      expect((error as FatalError).message).toBe(
        `the ${dialect} dialect of the database destination needs the package "${name}", which is not installed: run \`npm install ${name}\` next to @sluice/destinations-database`,
      );
      expect((error as FatalError).details).toEqual({ dialect, package: name });
      expect((error as FatalError).cause).toMatchObject({ code: 'ERR_MODULE_NOT_FOUND' });
    },
  );

  it('passes other failures through: a module the driver itself lacks is not reported as the driver missing', async () => {
    const broken = Object.assign(
      new Error(
        "Cannot find module 'pg-native' imported from /app/node_modules/pg/lib/native/client.js",
      ),
      { code: 'ERR_MODULE_NOT_FOUND' },
    );
    const importer = (async () => {
      throw broken;
    }) as DriverImporter;
    await expect(loadDriver('postgres', importer)).rejects.toBe(broken);
    const syntax = new SyntaxError('Unexpected token');
    await expect(
      loadDriver('mysql', (async () => {
        throw syntax;
      }) as DriverImporter),
    ).rejects.toBe(syntax);
  });

  it('openDatabase asks for the driver of the configured dialect only; SQLite needs none', async () => {
    const logger = createPluginContext().logger;
    await expect(openDatabase(postgres, logger, withoutPackage('pg'))).rejects.toThrow(
      'needs the package "pg"',
    );
    await expect(openDatabase(mysql, logger, withoutPackage('mysql2'))).rejects.toThrow(
      'needs the package "mysql2"',
    );

    // The other dialect's driver missing does not matter: the pool opens (lazily, nothing connects).
    const withoutMysql = withoutPackage('mysql2');
    const handle = await openDatabase(postgres, logger, withoutMysql);
    expect(handle.pgPool).toBeDefined();
    await handle.destroy();
    expect(withoutMysql.asked).toEqual(['pg']);

    const neither = withoutPackage('pg');
    const sqlite = await openDatabase(
      parseConfig(databaseConfigSchema, {
        dialect: 'sqlite',
        file: ':memory:',
        table: 't',
        columns: [{ name: 'id', type: 'text' }],
      }),
      logger,
      neither,
    );
    await sqlite.destroy();
    expect(neither.asked).toEqual([]);
  });
});
