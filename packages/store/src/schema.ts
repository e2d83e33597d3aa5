/**
 * Kysely table types of the store's schema (see `migrations/*.sql`). Internal: the public API
 * speaks the camelCase records of `@sluice/core`.
 */
import type { ColumnType, Generated } from 'kysely';

/** A timestamptz column: written as an ISO string, read as a `Date` (pg and PGlite both parse it). */
export type Timestamp = ColumnType<Date, string, string>;
type NullableTimestamp = ColumnType<Date | null, string | null | undefined, string | null>;
/** A jsonb column: written as JSON text, read parsed. */
export type Json<T = unknown> = ColumnType<T, string, string>;
type NullableJson<T = unknown> = ColumnType<T | null, string | null | undefined, string | null>;
/** bigint comes back as a string from pg and as a number or bigint from PGlite. */
type BigIntColumn = ColumnType<string | number | bigint, number | undefined, number>;

/** The shape shared by `pipelines`, `connections`, `destinations` and `schedules`. */
export interface ConfigEntityTable {
  name: string;
  latest_version: Generated<number>;
  enabled: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
  removed_at: NullableTimestamp;
}

/** The shape shared by the `*_versions` tables. */
export interface ConfigVersionTable {
  name: string;
  version: number;
  config: Json;
  config_hash: string;
  created_at: Timestamp;
}

export interface RunsTable {
  id: string;
  seq: ColumnType<string | number | bigint, never, never>;
  pipeline: string;
  pipeline_version: number | null;
  trigger: string;
  status: Generated<string>;
  params: Json;
  queued_at: Timestamp;
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
  records_read: BigIntColumn;
  records_delivered: BigIntColumn;
  records_dead_lettered: BigIntColumn;
  records_dropped: BigIntColumn;
  records_failed: BigIntColumn;
  /** Migration 0012: counts by route, destination and expectation (`RunBreakdown`); NULL before a run finishes and on older rows. */
  breakdown: NullableJson;
  error: NullableJson;
  attempt: Generated<number>;
  cancel_requested_at: NullableTimestamp;
  parent_run_id: string | null;
}

export interface RunLogsTable {
  seq: ColumnType<string | number | bigint, never, never>;
  run_id: string;
  at: Timestamp;
  level: string;
  message: string;
  fields: NullableJson;
}

export interface CheckpointsTable {
  pipeline: string;
  stream: string;
  state: Json;
  updated_at: Timestamp;
}

export interface DeadLettersTable {
  id: string;
  seq: ColumnType<string | number | bigint, never, never>;
  pipeline: string;
  run_id: string;
  route: string;
  destination: string;
  record: Json;
  original: NullableJson;
  error: Json;
  attempts: number;
  failed_at: Timestamp;
  status: Generated<string>;
  created_at: Timestamp;
  replay_run_id: string | null;
  replayed_at: NullableTimestamp;
  discarded_at: NullableTimestamp;
  /** Source position of the input record (step 8); null for letters stored before. */
  position: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface PipelineRoutesTable {
  pipeline: string;
  version: number;
  route: string;
  position: number;
  priority: number;
  destinations: ColumnType<string[], string[], string[]>;
  spec: Json;
}

export interface ScheduleTicksTable {
  pipeline: string;
  schedule: string;
  last_tick: Timestamp;
  updated_at: Timestamp;
}

export interface WebhookDeliveriesTable {
  pipeline: string;
  delivery_id: string;
  received_at: Timestamp;
  /** The run the delivery started; null for rows written before migration 0006. */
  run_id: string | null;
}

export interface PluginStateTable {
  namespace: string;
  key: string;
  value: Json;
  expires_at: NullableTimestamp;
  updated_at: Timestamp;
}

export interface SchemaChangesTable {
  seq: ColumnType<string | number | bigint, never, never>;
  destination: string;
  kind: string;
  table_name: string;
  change: string;
  column_name: string | null;
  from_type: string | null;
  to_type: string | null;
  statement: string | null;
  changed_at: Timestamp;
}

export interface MigrationsTable {
  name: string;
  checksum: string;
  applied_at: Timestamp;
}

/** Every table of the store's schema. */
export interface StoreDatabase {
  pipelines: ConfigEntityTable;
  pipeline_versions: ConfigVersionTable;
  connections: ConfigEntityTable;
  connection_versions: ConfigVersionTable;
  destinations: ConfigEntityTable;
  destination_versions: ConfigVersionTable;
  schedules: ConfigEntityTable;
  schedule_versions: ConfigVersionTable;
  runs: RunsTable;
  run_logs: RunLogsTable;
  checkpoints: CheckpointsTable;
  dead_letters: DeadLettersTable;
  pipeline_routes: PipelineRoutesTable;
  schedule_ticks: ScheduleTicksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  plugin_state: PluginStateTable;
  schema_changes: SchemaChangesTable;
  sluice_migrations: MigrationsTable;
}
