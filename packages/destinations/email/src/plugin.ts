// The `email` destination's definition (kind, config schema, capabilities) and the plugin, without
// importing the implementation: `create` imports ./destination.js, and with it nodemailer, when the
// first instance is made, so a server whose configuration has no `email` destination never loads it
// (issues 19 and 20). `@sluice/destinations-email/plugin` is this module alone; the package's index
// re-exports it beside the implementation.
import { defineDestination, definePlugin } from '@sluice/core';
import { emailConfigSchema } from './config.js';

/**
 * The `email` destination kind.
 *
 * @example
 * ```ts
 * import { createPluginContext, parseConfig } from '@sluice/core';
 * const config = parseConfig(emailDestination.configSchema, {
 *   smtp: { host: 'smtp.example.com' },
 *   from: 'sluice@example.com',
 *   to: 'growth@example.com',
 *   mode: 'digest',
 *   subject: '{{ count }} channels fell day-on-day',
 *   attachment: { format: 'csv' },
 * });
 * const mail = await emailDestination.create(config, createPluginContext());
 * ```
 */
export const emailDestination = defineDestination({
  kind: 'email',
  version: '0.1.0',
  description:
    'Sends records by e-mail over SMTP, one message per record or a digest per batch, with templates and CSV/NDJSON attachments.',
  configSchema: emailConfigSchema,
  // Effectively once: Message-IDs and the sent-ledger are keyed by batch id / record key (see sent-ledger.ts).
  capabilities: (config) => ({
    idempotent: false,
    maxInFlight: 1,
    maxBatch: config.maxBatch,
    ...(config.rememberSent > 0 ? { idempotency: 'batch' as const } : {}),
  }),
  // The implementation and its SDK are imported with the first instance (see above).
  create: async (config, ctx) => {
    const { createEmailDestination } = await import('./destination.js');
    return createEmailDestination(config, ctx);
  },
});

/**
 * The plugin bundling the `email` destination, for `PluginRegistry.register`.
 *
 * @example
 * ```ts
 * import { PluginRegistry } from '@sluice/core';
 * import { emailPlugin } from '@sluice/destinations-email';
 * const registry = new PluginRegistry().register(emailPlugin);
 * ```
 */
export const emailPlugin = definePlugin({
  name: '@sluice/destinations-email',
  version: '0.1.0',
  sluice: '^1',
  destinations: [emailDestination],
});

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so `plugins: ["@sluice/destinations-email"]` in sluice.yaml loads it by package name.
export default emailPlugin;
