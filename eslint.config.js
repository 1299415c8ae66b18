import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'web/src/api/schema.d.ts',
      'test-results/**',
      'dist/**',
      'node_modules/**',
      'data/**',
      'bench/.work/**',
      'coverage/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        fetch: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read configuration in src/config.ts (server) or src/cli/config.ts (CLI client) only.',
        },
      ],
    },
  },
  {
    files: ['src/config.ts', 'test/**', 'bench/**', 'src/cli/config.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  // The dashboard runs in browsers; its Playwright suite and Vite config run in Node.
  { files: ['web/src/**'], languageOptions: { globals: globals.browser } },
  {
    files: ['web/e2e/**', 'web/*.ts'],
    languageOptions: { globals: globals.node },
    rules: { 'no-restricted-properties': 'off' },
  },
);
