/**
 * Cron, webhook and API triggers, a run queue on pg-boss, and the run lifecycle.
 *
 * @packageDocumentation
 */
export {};
