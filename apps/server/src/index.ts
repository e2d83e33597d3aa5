/**
 * `@sluice/server`: the reference server and `sluice` CLI. It composes the Sluice packages —
 * config, registry with every built-in connector and destination plus plugins, store, scheduler,
 * router — behind a REST API with OpenAPI 3.1, API keys, signed webhooks and Prometheus metrics.
 *
 * @example
 * ```ts
 * import { startSluice } from '@sluice/server';
 * const sluice = await startSluice({ configPath: 'sluice.yaml', port: 8080 });
 * process.on('SIGTERM', () => void sluice.close());
 * ```
 *
 * @packageDocumentation
 */
export { startSluice, type SluiceOptions, type SluiceServer } from './runtime/sluice.js';
export { openApiDocument } from './openapi.js';
export { createRegistry, builtinPlugins, loadPlugins } from './runtime/plugins.js';
export { hashApiKey } from './http/auth.js';
export { ConfigState, type EffectiveConfig } from './runtime/config-state.js';
