/**
 * The schema-change log: every table change a destination made under its schema policy (a table
 * created, a column added, a column widened), as its context's `onSchemaChange` reported it.
 * Append-only; listed newest first with the store's keyset paging.
 */
import {
  ConfigError,
  type PageOptions,
  type ResultPage,
  type SchemaChangeEvent,
} from '@sluice/core';
import type { Kysely, Selectable } from 'kysely';
import { parsePaging, toPage } from './paging.js';
import type { SchemaChangesTable, StoreDatabase } from './schema.js';
import { parseTime, toIso, toNumber } from './values.js';

const CHANGES: readonly SchemaChangeEvent['change'][] = [
  'create_table',
  'add_column',
  'widen_column',
];

/** A change to record: the event, and the destination (name and kind) that made it. */
export interface NewSchemaChange extends SchemaChangeEvent {
  destination: string;
  /** The destination's kind (`database`). */
  kind: string;
  /** When the change was made (ISO time). Default: now. */
  changedAt?: string;
}

/**
 * A recorded change.
 *
 * @example
 * ```ts
 * const { items } = await store.schemaChanges.list({ destination: 'warehouse' });
 * items[0]; // { seq: 3, destination: 'warehouse', kind: 'database', table: 'sessions', change: 'add_column', column: 'utm', from: null, to: 'text', statement: 'alter table ...', changedAt: '...' }
 * ```
 */
export interface SchemaChangeRecord {
  seq: number;
  destination: string;
  kind: string;
  table: string;
  change: SchemaChangeEvent['change'];
  column: string | null;
  from: string | null;
  to: string | null;
  statement: string | null;
  changedAt: string;
}

/** Filters of {@link SchemaChangeStore.list}; changes come newest first. */
export interface SchemaChangeListFilter extends PageOptions {
  destination?: string;
  table?: string;
}

/** Records and lists the schema-change log. */
export interface SchemaChangeStore {
  record(change: NewSchemaChange): Promise<SchemaChangeRecord>;
  list(filter?: SchemaChangeListFilter): Promise<ResultPage<SchemaChangeRecord>>;
}

function toRecord(row: Selectable<SchemaChangesTable>): SchemaChangeRecord {
  return {
    seq: toNumber(row.seq),
    destination: row.destination,
    kind: row.kind,
    table: row.table_name,
    change: row.change as SchemaChangeEvent['change'],
    column: row.column_name,
    from: row.from_type,
    to: row.to_type,
    statement: row.statement,
    changedAt: toIso(row.changed_at),
  };
}

function checkChange(change: NewSchemaChange): void {
  for (const field of ['destination', 'kind', 'table'] as const) {
    if (typeof change[field] !== 'string' || change[field].length === 0)
      throw new ConfigError([{ path: field, message: 'expected a non-empty string' }]);
  }
  if (!CHANGES.includes(change.change))
    throw new ConfigError([{ path: 'change', message: `expected one of ${CHANGES.join(', ')}` }]);
}

/**
 * Creates the schema-change repository.
 *
 * @example
 * ```ts
 * const changes = createSchemaChangeStore(db);
 * await changes.record({ destination: 'warehouse', kind: 'database', change: 'add_column', table: 'sessions', column: 'utm', to: 'text' });
 * const { items, nextCursor } = await changes.list({ destination: 'warehouse', limit: 50 });
 * ```
 */
export function createSchemaChangeStore(db: Kysely<StoreDatabase>): SchemaChangeStore {
  return {
    async record(change) {
      checkChange(change);
      const row = await db
        .insertInto('schema_changes')
        .values({
          destination: change.destination,
          kind: change.kind,
          table_name: change.table,
          change: change.change,
          column_name: change.column ?? null,
          from_type: change.from ?? null,
          to_type: change.to ?? null,
          statement: change.statement ?? null,
          changed_at:
            change.changedAt === undefined
              ? new Date().toISOString()
              : parseTime(change.changedAt, 'changedAt'),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toRecord(row);
    },

    async list(filter: SchemaChangeListFilter = {}) {
      const { limit, beforeSeq } = parsePaging(filter);
      let query = db.selectFrom('schema_changes').selectAll();
      if (filter.destination !== undefined)
        query = query.where('destination', '=', filter.destination);
      if (filter.table !== undefined) query = query.where('table_name', '=', filter.table);
      if (beforeSeq !== undefined) query = query.where('seq', '<', beforeSeq.toString());
      const rows = await query
        .orderBy('seq', 'desc')
        .limit(limit + 1)
        .execute();
      return toPage(rows, limit, toRecord);
    },
  };
}
