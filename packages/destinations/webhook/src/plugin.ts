// The `webhook` destination's definition (kind, config schema, capabilities) and the plugin,
// without importing the implementation: `create` imports ./destination.js, and with it undici,
// when the first instance is made, so a process whose configuration has no `webhook`
// destination never loads it (issue 19: start-up). `@sluice/destinations-webhook/plugin` is this
// module alone; the package's index re-exports it beside the implementation.
import { defineDestination, definePlugin } from '@sluice/core';
import { webhookConfigSchema } from './config.js';

/**
 * The `webhook` destination definition, registered by the plugin and the server.
 *
 * @example
 * ```ts
 * import { PluginRegistry, createPluginContext, parseConfig } from '@sluice/core';
 * const config = parseConfig(webhookDestination.configSchema, { url: 'https://hooks.example.com/in' });
 * const hook = await webhookDestination.create(config, createPluginContext());
 * ```
 */
export const webhookDestination = defineDestination({
  kind: 'webhook',
  version: '0.1.0',
  description: 'POST/PUT records as JSON to an HTTP endpoint (signed, SSRF-protected).',
  configSchema: webhookConfigSchema,
  capabilities: (config) => ({
    maxBatch: config.maxBatch,
    maxInFlight: config.maxInFlight,
    // Delivery is at-least-once; receivers that honour the idempotency key (webhook-id) make it
    // effectively-once: the key is the record key in record mode, the batch id in batch mode.
    idempotent: false,
    idempotency: config.mode === 'record' ? ('record' as const) : ('batch' as const),
  }),
  // The implementation and undici are imported with the first instance (see above).
  create: async (config, ctx) => {
    const { createWebhookDestination } = await import('./destination.js');
    return createWebhookDestination(config, ctx);
  },
});

/**
 * The plugin bundling the `webhook` destination, for `PluginRegistry.register`.
 *
 * @example
 * ```ts
 * import { PluginRegistry } from '@sluice/core';
 * import { webhookPlugin } from '@sluice/destinations-webhook';
 * const registry = new PluginRegistry().register(webhookPlugin);
 * ```
 */
export const webhookPlugin = definePlugin({
  name: '@sluice/destinations-webhook',
  version: '0.1.0',
  sluice: '^1',
  destinations: [webhookDestination],
});

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so `plugins: ["@sluice/destinations-webhook"]` in sluice.yaml loads it by package name.
export default webhookPlugin;
