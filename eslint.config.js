// One flat config for the whole workspace; each package's `lint` target runs `eslint src` with it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/coverage/**',
      '.nx/**',
      'docs/.vitepress/cache/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // DESIGN.md §8: never evaluate config or data as code.
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-new-func': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      // Plugins get their context injected; only the server may read the environment.
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message:
            'Plugins receive configuration through context; only apps/server and tests read process.env.',
        },
      ],
    },
  },
  {
    files: [
      '**/*.test.ts',
      '**/*.test-d.ts',
      'apps/**',
      'tools/**',
      'bench/**',
      'scripts/**',
      '**/testing/src/**',
    ],
    rules: { 'no-restricted-properties': 'off' },
  },
);
