/**
 * Sluice's store on PostgreSQL or embedded PGlite: migrations, pipelines, runs, state and dead letters.
 *
 * @packageDocumentation
 */
export {};
