// Lets a plain `node` child process run this repository's TypeScript sources: Node strips the
// types itself; these hooks map the `.js` specifiers of the sources to their `.ts` files.
// Used with `node --conditions=@sluice/source --import <this file> script.ts` by the
// multi-process tests. Not part of the package.
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      if (specifier.startsWith('.') && specifier.endsWith('.js')) {
        return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
      }
      throw error;
    }
  },
});
