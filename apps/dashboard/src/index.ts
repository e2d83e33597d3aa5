/**
 * The built Sluice dashboard, for the server that serves it: where its files are.
 *
 * @packageDocumentation
 */
import { fileURLToPath } from 'node:url';

/**
 * Absolute path of the built single-page app (`index.html` and `assets/`), inside this package's
 * `dist/app/`, wherever the package is installed.
 *
 * @example
 * ```ts
 * import { dashboardAssetsDir } from '@sluice/dashboard';
 * readFileSync(join(dashboardAssetsDir, 'index.html'), 'utf8');
 * ```
 */
export const dashboardAssetsDir: string = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? '../dist/app/' : './app/', import.meta.url),
);
