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
import { filePlugin } from './plugin.js';

export { filePlugin } from './plugin.js';

export { fileDestination } from './destination.js';
export { fileConfigSchema, type FileConfig } from './config.js';
export { createEncoder, type CsvOptions, type EncodedPiece, type Encoder } from './formats.js';
export {
  parsePathTemplate,
  renderPath,
  sanitizeSegment,
  type PathTemplate,
  type TemplateContext,
} from './path-template.js';

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so `plugins: ["@sluice/destinations-file"]` in sluice.yaml loads it by package name.
export default filePlugin;
