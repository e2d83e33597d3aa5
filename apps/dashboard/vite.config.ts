import { defineConfig } from 'vite';

// The app is built into dist/app/, which @sluice/server serves at `/` (see src/index.ts).
// Everything is bundled (no CDN, no external fonts); the HTML has no inline script or style, so
// the server's CSP can be `default-src 'self'`.
export default defineConfig({
  root: 'ui',
  base: '/',
  build: {
    outDir: '../dist/app',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
});
