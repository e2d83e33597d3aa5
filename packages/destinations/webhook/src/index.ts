/**
 * `@sluice/destinations-webhook`: a Sluice destination that sends records to HTTP endpoints as
 * JSON — per record or per batch, with templated URL and headers, Standard Webhooks signatures,
 * idempotency keys, timeouts, retry classification (honouring `Retry-After`) and SSRF
 * protection on by default.
 *
 * @example
 * ```ts
 * import { PluginRegistry } from '@sluice/core';
 * import { webhookPlugin } from '@sluice/destinations-webhook';
 * const registry = new PluginRegistry().register(webhookPlugin);
 * ```
 *
 * @packageDocumentation
 */
import { webhookPlugin } from './plugin.js';
export { webhookPlugin, webhookDestination } from './plugin.js';
export { createWebhookDestination, type WebhookDestinationHooks } from './destination.js';
export { webhookConfigSchema, type WebhookConfig, type WebhookConfigInput } from './config.js';
// The SSRF guard is core's (`@sluice/core/net`), shared by every plugin that connects somewhere;
// re-exported for code that imported it from here.
export {
  BlockedAddressError,
  allowEntryProblem,
  createAddressPolicy,
  type AddressPolicy,
  type AddressPolicyOptions,
  type ResolveAll,
} from '@sluice/core/net';
export {
  MIN_SIGNING_KEY_BYTES,
  createWebhookSigner,
  signingSecretProblem,
  type WebhookSigner,
} from '@sluice/core/standard-webhooks';
export {
  BATCH_FIELDS,
  TemplateRenderError,
  compileTemplate,
  type BatchField,
  type Template,
  type TemplateScope,
} from './template.js';
export {
  classifyStatus,
  deliver,
  type DeliverOptions,
  type DeliveryOutcome,
  type OutgoingRequest,
} from './deliver.js';

// The same entry shape in every plugin package: the plugin as a named and as the default export,
// so `plugins: ["@sluice/destinations-webhook"]` in sluice.yaml loads it by package name.
export default webhookPlugin;
