/**
 * Contract test suites for Sluice plugin authors and wire-compatible fakes of the SaaS APIs.
 *
 * @packageDocumentation
 */
export {};
