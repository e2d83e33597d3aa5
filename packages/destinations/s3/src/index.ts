/**
 * Sluice destination that writes records to Amazon S3 and S3-compatible stores.
 *
 * @packageDocumentation
 */
export {};
