/**
 * Sluice connector that reads from HubSpot CRM.
 *
 * @packageDocumentation
 */
export {};
