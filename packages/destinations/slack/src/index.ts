/**
 * `@sluice/destinations-slack`: a Sluice destination that posts records to Slack with
 * `chat.postMessage` — one message per record or a digest per batch — from liquidjs text and
 * Block Kit templates, with threads by key (kept in the engine's plugin state across restarts),
 * per-channel pacing, Retry-After on rate limits, duplicate suppression for retried batches and
 * `dedupe` by key across runs.
 *
 * @example
 * ```ts
 * import { PluginRegistry } from '@sluice/core';
 * import slackPlugin from '@sluice/destinations-slack';
 * const registry = new PluginRegistry().register(slackPlugin);
 * ```
 *
 * @packageDocumentation
 */
import { slackPlugin } from './plugin.js';

export { slackDestination, slackPlugin } from './plugin.js';
export { createSlackDestination, type SlackDestinationOptions } from './destination.js';
export { slackConfigSchema, type SlackConfig, type SlackConfigInput } from './config.js';
export {
  createMemoryThreadStore,
  createStateThreadStore,
  BoundedMap,
  type SlackThreadStore,
} from './thread-store.js';
export { createPostedKeys, type PostedKeys } from './dedupe.js';
export { mapSlackError, type SlackFailure } from './errors.js';
export {
  compileTemplate,
  templateProblem,
  TemplateError,
  type CompiledTemplate,
  type OutputEscape,
  type TemplateOptions,
} from '@sluice/core/template';
export { escapeBlockKitString, escapeSlackText } from './escape.js';
export { channelProblem, isChannelId } from './channel.js';
export { createPacer, type Pacer } from './pacer.js';

export default slackPlugin;
