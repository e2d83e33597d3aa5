/** A private database on the machine's MariaDB/MySQL for the test files, and its cleanup. */
import mysql from 'mysql2/promise';

export const MYSQL_DATABASE = 'sluice_dest_db_test';

export function mysqlUrl(port = 3306): string {
  return `mysql://root@127.0.0.1:${port}/${MYSQL_DATABASE}`;
}

/** A client on the private database (created when missing), reading values back as text. */
export async function mysqlAdmin(): Promise<mysql.Connection> {
  const bootstrap = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
  await bootstrap.query(`CREATE DATABASE IF NOT EXISTS ${MYSQL_DATABASE}`);
  await bootstrap.end();
  return mysql.createConnection({
    host: '127.0.0.1',
    port: 3306,
    user: 'root',
    database: MYSQL_DATABASE,
    timezone: 'Z',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
}

/** Drops the tables whose names start with `prefix`, then closes `admin`. */
export async function dropMysqlTables(admin: mysql.Connection, prefix: string): Promise<void> {
  const [tables] = await admin.query(
    'SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ? AND table_name LIKE ?',
    [MYSQL_DATABASE, `${prefix}%`],
  );
  for (const { t } of tables as { t: string }[]) await admin.query(`DROP TABLE IF EXISTS \`${t}\``);
  await admin.end();
}
