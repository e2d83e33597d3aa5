/**
 * The built-in transforms, each a `defineTransform` definition, bundled as {@link routerPlugin}
 * so a `PluginRegistry` treats them exactly like third-party transforms.
 *
 * @packageDocumentation
 */
import { definePlugin, type TransformDefinition } from '@sluice/core';
import { castTransform } from './cast.js';
import { computeTransform } from './compute.js';
import {
  dropTransform,
  flattenTransform,
  omitTransform,
  pickTransform,
  renameTransform,
  setTransform,
  unnestTransform,
} from './shape.js';
import { templateTransform } from './template.js';

export { castTransform, castValue, CAST_TYPES, type CastType } from './cast.js';
export { computeTransform } from './compute.js';
export {
  dropTransform,
  flattenTransform,
  omitTransform,
  pickTransform,
  renameTransform,
  setTransform,
  unnestTransform,
} from './shape.js';
export { createSandboxedLiquid, templateTransform } from './template.js';

/**
 * Every built-in transform definition.
 *
 * @example
 * ```ts
 * builtinTransforms.map((t) => t.kind); // ['pick', 'omit', 'rename', 'set', 'template', 'cast', ...]
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const builtinTransforms: readonly TransformDefinition<any>[] = [
  pickTransform,
  omitTransform,
  renameTransform,
  setTransform,
  templateTransform,
  castTransform,
  flattenTransform,
  unnestTransform,
  computeTransform,
  dropTransform,
];

/**
 * The router's plugin: registers the built-in transforms in a `PluginRegistry`.
 *
 * @example
 * ```ts
 * import { PluginRegistry } from '@sluice/core';
 * import { routerPlugin } from '@sluice/router';
 * const registry = new PluginRegistry().register(routerPlugin);
 * ```
 */
export const routerPlugin = definePlugin({
  name: '@sluice/router',
  version: '0.1.0',
  sluice: '^1',
  transforms: builtinTransforms,
});
