/**
 * Sluice destination that writes records to files (NDJSON, JSON, CSV).
 *
 * @packageDocumentation
 */
export {};
