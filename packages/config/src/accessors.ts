/**
 * Helpers that hand the parts of a validated config to the engine in the shape it needs:
 * a connector's kind and options, a destination's plugin options and delivery policy.
 *
 * @packageDocumentation
 */
import { ConfigError, type DeliveryPolicy } from '@sluice/core';
import type { SluiceConfig } from './config-schema.js';
import { DESTINATION_ENGINE_KEYS } from './defaults.js';
import { mergeSourceOptions, withoutKeys } from './plugin-sections.js';
import { didYouMean } from './suggest.js';

/**
 * A plugin kind and the options its `configSchema` receives.
 *
 * @example
 * ```ts
 * const { kind, options }: KindAndOptions = pipelineSourceOptions(config, 'daily');
 * ```
 */
export interface KindAndOptions {
  kind: string;
  options: Record<string, unknown>;
}

function missing(section: string, name: string, known: string[]): ConfigError {
  return new ConfigError([
    {
      path: section,
      message: `unknown ${section.slice(0, -1)} "${name}"${didYouMean(name, known)}`,
    },
  ]);
}

/**
 * The connector of a pipeline: its kind and its options (the named connection's options
 * overlaid key by key with the source's own options). Pass them to
 * `registry.createConnector(kind, options, ctx)`.
 *
 * @example
 * ```ts
 * const { kind, options } = pipelineSourceOptions(config, 'ga4-daily');
 * const connector = await registry.createConnector(kind, options, ctx, ['pipelines', 'ga4-daily', 'source']);
 * ```
 */
export function pipelineSourceOptions(config: SluiceConfig, pipelineName: string): KindAndOptions {
  const pipeline = config.pipelines[pipelineName];
  if (!pipeline) throw missing('pipelines', pipelineName, Object.keys(config.pipelines));
  const { source } = pipeline;
  if (source.connection !== undefined) {
    const connection = config.connections[source.connection];
    if (!connection)
      throw missing('connections', source.connection, Object.keys(config.connections));
    return { kind: connection.kind, options: mergeSourceOptions(connection, source) };
  }
  // The schema and the cross-reference check guarantee a kind when there is no connection.
  return { kind: source.kind ?? '', options: mergeSourceOptions(undefined, source) };
}

/**
 * A destination's kind, its plugin options (engine keys removed) and its delivery policy.
 *
 * @example
 * ```ts
 * const { kind, options, delivery } = destinationOptions(config, 'warehouse');
 * const destination = await registry.createDestination(kind, options, ctx, ['destinations', 'warehouse']);
 * ```
 */
export function destinationOptions(
  config: SluiceConfig,
  destinationName: string,
): KindAndOptions & { delivery: DeliveryPolicy } {
  const destination = config.destinations[destinationName];
  if (!destination)
    throw missing('destinations', destinationName, Object.keys(config.destinations));
  const delivery: DeliveryPolicy = {};
  if (destination.batch !== undefined) delivery.batch = destination.batch;
  if (destination.retry !== undefined) delivery.retry = destination.retry;
  if (destination.concurrency !== undefined) delivery.concurrency = destination.concurrency;
  return {
    kind: destination.kind,
    options: withoutKeys(destination, DESTINATION_ENGINE_KEYS),
    delivery,
  };
}
