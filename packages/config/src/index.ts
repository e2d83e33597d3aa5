/**
 * Sluice configuration: valibot schemas, defaults, YAML/JSON loading, secret references and JSON Schema export.
 *
 * @packageDocumentation
 */
export {};
