/**
 * Sluice destination that writes records to outgoing HTTP webhooks.
 *
 * @packageDocumentation
 */
export {};
