/**
 * Sluice destination that writes records to Prometheus metrics.
 *
 * @packageDocumentation
 */
export {};
