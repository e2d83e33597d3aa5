/**
 * Sluice connector that reads from Google Analytics 4 Data API.
 *
 * @packageDocumentation
 */
export {};
