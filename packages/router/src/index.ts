/**
 * Routes records by prioritised rules with JSONPath conditions and transforms, with batching, retries and dead letters.
 *
 * @packageDocumentation
 */
export {};
