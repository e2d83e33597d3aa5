// The `slack` destination's definition (kind, config schema, capabilities) and the plugin, without
// importing the implementation: `create` imports ./destination.js, and with it the Slack client
// (`@slack/web-api`) and undici, when the first instance is made, so a server whose configuration
// has no `slack` destination never loads it (issues 19 and 20). `@sluice/destinations-slack/plugin`
// is this module alone; the package's index re-exports it beside the implementation.
import { defineDestination, definePlugin } from '@sluice/core';
import { slackConfigSchema } from './config.js';

/**
 * The `slack` destination kind.
 *
 * @example
 * ```ts
 * import { createPluginContext, parseConfig } from '@sluice/core';
 * const config = parseConfig(slackDestination.configSchema, {
 *   token: 'xoxb-123-456-abc',
 *   channel: '#growth',
 *   mode: 'digest',
 *   text: '{{ count }} channels fell more than 20 % day-on-day',
 * });
 * const slack = await slackDestination.create(config, createPluginContext());
 * ```
 */
export const slackDestination = defineDestination({
  kind: 'slack',
  version: '0.1.0',
  description:
    'Posts records to Slack channels (chat.postMessage), per record or as a digest, with Block Kit and threads.',
  configSchema: slackConfigSchema,
  // Effectively once: every posted message's identity is kept in the store (see `sent` in createSlackDestination).
  capabilities: (config) => ({
    idempotent: false,
    maxInFlight: 1,
    maxBatch: config.maxBatch,
    ...(config.rememberPosted > 0 ? { idempotency: 'record' as const } : {}),
  }),
  // The implementation and its SDK are imported with the first instance (see above).
  create: async (config, ctx) => {
    const { createSlackDestination } = await import('./destination.js');
    return createSlackDestination(config, ctx);
  },
});

/**
 * The plugin bundling the `slack` destination, for `PluginRegistry.register`.
 *
 * @example
 * ```ts
 * import { PluginRegistry } from '@sluice/core';
 * import { slackPlugin } from '@sluice/destinations-slack';
 * const registry = new PluginRegistry().register(slackPlugin);
 * ```
 */
export const slackPlugin = definePlugin({
  name: '@sluice/destinations-slack',
  version: '0.1.0',
  sluice: '^1',
  destinations: [slackDestination],
});

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so `plugins: ["@sluice/destinations-slack"]` in sluice.yaml loads it by package name.
export default slackPlugin;
