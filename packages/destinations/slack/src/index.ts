/**
 * Sluice destination that writes records to Slack.
 *
 * @packageDocumentation
 */
export {};
