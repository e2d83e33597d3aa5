/**
 * The versions a scaffolded plugin is written with. `@sluice/*` packages get the scaffold's own
 * version (every package of a release shares one version, so a scaffold and the tarballs of the
 * same release always match); the rest are the versions the Sluice workspace builds and tests
 * with (a test in this package keeps them equal to the workspace's).
 */
export const TOOL_VERSIONS = {
  typescript: '~6.0.3',
  vitest: '^5.1.1',
  '@types/node': '^22.20.5',
  valibot: '^1.5.0',
} as const;
