/**
 * The web dashboard (`@sluice/dashboard`) served at `/`: the files of its built single-page app,
 * with a strict Content-Security-Policy. The app holds no data of its own; every call it makes
 * goes to the REST API with the API key the user signs in with.
 *
 * @packageDocumentation
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import { dashboardAssetsDir } from '@sluice/dashboard';
import type { FastifyInstance } from 'fastify';

/**
 * The Content-Security-Policy of every dashboard file: only this origin's scripts, styles,
 * images and API (`connect-src 'self'`), no inline script or style, no plugins, never framed.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers sent with every dashboard file besides the CSP. */
const DASHBOARD_HEADERS: Record<string, string> = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * Serves the built dashboard: `/` (its `index.html`) and each file under it (`/assets/…`), one
 * route per file found at start (no wildcard route, so unknown paths stay the API's 404). The
 * HTML is never cached (it names the current asset files); the hashed assets are immutable.
 * Throws when the package has not been built, naming the folder and the way out.
 *
 * @example
 * ```ts
 * if (config.server.dashboard && config.server.auth) await registerDashboard(app);
 * ```
 */
export async function registerDashboard(app: FastifyInstance): Promise<void> {
  if (!existsSync(join(dashboardAssetsDir, 'index.html'))) {
    throw new Error(
      `server.dashboard: the dashboard is not built (${join(dashboardAssetsDir, 'index.html')} is missing): ` +
        'build it (npx nx run @sluice/dashboard:build) or set server.dashboard: false',
    );
  }
  await app.register(fastifyStatic, {
    root: dashboardAssetsDir,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    // @fastify/swagger-ui registers its own copy for /api/v1/docs.
    decorateReply: false,
    serveDotFiles: false,
    etag: true,
    lastModified: false,
    cacheControl: false,
    setHeaders: (reply, path) => {
      void reply.headers(DASHBOARD_HEADERS);
      void reply.header(
        'cache-control',
        path.endsWith('.html') ? 'no-cache' : 'public, max-age=31536000, immutable',
      );
    },
  });
}
