/**
 * Sluice connector that reads from Google BigQuery.
 *
 * @packageDocumentation
 */
export {};
