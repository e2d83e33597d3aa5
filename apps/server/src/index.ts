/**
 * Sluice reference server and the sluice CLI: REST API, webhooks, metrics, scheduler workers.
 *
 * @packageDocumentation
 */
export {};
