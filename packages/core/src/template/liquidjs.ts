/**
 * liquidjs is an optional peer dependency of `@sluice/core`: a plugin that renders no template
 * does not install its ~2.5 MB, and each package that imports `@sluice/core/template` (the router
 * and the S3, Slack, e-mail, webhook and file destinations) depends on it itself. It is imported
 * once, when this subpath is first imported, and a missing one is a fatal error that names the
 * package to install instead of Node's bare `Cannot find package 'liquidjs'`.
 *
 * @packageDocumentation
 */
import type * as LiquidJs from 'liquidjs';
import { FatalError } from '../errors.js';

/** The npm package the template engine comes from. */
export const TEMPLATE_ENGINE_PACKAGE = 'liquidjs';

/**
 * Imports liquidjs; the default one is `import()`. Tests inject another to simulate a package
 * that is not installed.
 */
export type LiquidImporter = () => Promise<typeof LiquidJs>;

const importLiquid: LiquidImporter = () => import('liquidjs');

/** True when `error` says that liquidjs itself (not something it imports) is missing. */
function isMissingEngine(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  return (
    typeof message === 'string' &&
    (message.includes(`'${TEMPLATE_ENGINE_PACKAGE}'`) ||
      message.includes(`"${TEMPLATE_ENGINE_PACKAGE}"`))
  );
}

/**
 * Loads liquidjs, the engine of `@sluice/core/template`.
 *
 * @throws FatalError naming the package to install when it is not installed.
 * @example
 * ```ts
 * const { Liquid } = await loadLiquid();
 * ```
 */
export async function loadLiquid(
  importer: LiquidImporter = importLiquid,
): Promise<typeof LiquidJs> {
  try {
    return await importer();
  } catch (error) {
    if (!isMissingEngine(error)) throw error;
    throw new FatalError(
      `@sluice/core/template needs the package "${TEMPLATE_ENGINE_PACKAGE}" (an optional peer dependency of @sluice/core), ` +
        `which is not installed: run \`npm install ${TEMPLATE_ENGINE_PACKAGE}\`, or depend on it from the package that imports @sluice/core/template`,
      { cause: error, details: { package: TEMPLATE_ENGINE_PACKAGE } },
    );
  }
}
