// TypeDoc plugin for the package reference (docs/reference/):
// - names each entry module after its package (`@sluice/router`) instead of its folder
//   (`packages/router/src`), by the package.json nearest to the module's file;
// - drops TypeDoc's "X has multiple declarations with a comment" warning when every listed
//   declaration is the SAME line: valibot's `InferOutput` mapped types list each property's one
//   declaration twice, so there is no ambiguity to warn about. A real conflict (different lines)
//   is still reported.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Converter, ReflectionKind } from 'typedoc';

/**
 * The name in the package.json nearest to `file`.
 *
 * @param {string} file
 * @returns {string | undefined}
 */
function packageNameOf(file) {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) return JSON.parse(readFileSync(manifest, 'utf8')).name;
  }
  return undefined;
}

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const module of context.project.getChildrenByKind(ReflectionKind.Module)) {
      const fileName = context.project.getSymbolIdFromReflection(module)?.fileName;
      const name = fileName === undefined ? undefined : packageNameOf(fileName);
      if (name !== undefined) module.name = name;
    }
  });

  const { logger } = app;
  const warn = logger.warn.bind(logger);
  const info = logger.info.bind(logger);
  /** @type {[string, unknown[]] | undefined} */
  let held;
  logger.warn = (text, ...args) => {
    if (held) flush();
    if (/ has multiple declarations with a comment/.test(String(text))) held = [text, args];
    else warn(text, ...args);
  };
  // TypeDoc follows that warning with one info message listing the locations.
  logger.info = (text) => {
    if (held) {
      const locations = String(text)
        .split('\n')
        .slice(1)
        .map((line) => line.trim());
      const sameDeclaration = locations.length > 1 && new Set(locations).size === 1;
      if (sameDeclaration) {
        held = undefined;
        return;
      }
      flush();
    }
    info(text);
  };
  function flush() {
    if (!held) return;
    const [text, args] = held;
    held = undefined;
    warn(/** @type {any} */ (text), ...args);
  }
}
