/**
 * `@sluice/destinations-file`: a Sluice destination that writes records to NDJSON, JSON-array or
 * CSV files (optionally gzip) under a root folder, with safe path templates, atomic writes,
 * idempotent per-batch files or crash-safe appends with rotation.
 *
 * @example
 * ```ts
 * import { PluginRegistry } from '@sluice/core';
 * import filePlugin from '@sluice/destinations-file';
 * new PluginRegistry().register(filePlugin);
 * ```
 *
 * @packageDocumentation
 */
import { definePlugin } from '@sluice/core';
import { fileDestination } from './destination.js';

export { fileDestination } from './destination.js';
export { fileConfigSchema, type FileConfig } from './config.js';
export { createEncoder, type CsvOptions, type EncodedPiece, type Encoder } from './formats.js';
export { parsePathTemplate, renderPath, sanitizeSegment, type PathTemplate, type TemplateContext } from './path-template.js';

/**
 * The plugin that registers the `file` destination kind.
 *
 * @example
 * ```ts
 * import filePlugin from '@sluice/destinations-file';
 * registry.register(filePlugin);
 * ```
 */
const filePlugin = definePlugin({
  name: '@sluice/destinations-file',
  version: '0.1.0',
  sluice: '^1',
  destinations: [fileDestination],
});
export default filePlugin;
export { filePlugin };
