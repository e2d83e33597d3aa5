/**
 * Sluice destination that writes records to email over SMTP.
 *
 * @packageDocumentation
 */
export {};
