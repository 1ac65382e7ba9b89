// ESLint flat config: `npm run lint` runs it with --max-warnings 0 (then `prettier --check`).
// TypeScript is linted with typescript-eslint's type-checked rules through the project service:
// every .ts/.tsx file belongs to the root tsconfig.json, the few scripts outside it are linted
// against a default project (listed in allowDefaultProject below).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: [
      // What .gitignore leaves out: installed packages, build output (the web app's build lands in
      // the server package, which serves it), run data and benchmark results.
      '**/node_modules/',
      '**/dist/',
      'dist-pack/',
      'packages/server/web/',
      'data/',
      '.tmp/',
      'bench/out/',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { ...globals.node },
      parserOptions: {
        projectService: {
          // Files outside tsconfig.json's include list, type-checked against a default project.
          allowDefaultProject: ['*.js', 'scripts/*.mjs', 'packages/client/scripts/*.mjs', 'apps/web/vite.config.ts'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // node:test's test/it/describe return promises the runner itself awaits and reports.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      // An `async` function without `await` is how this code implements a Promise-returning
      // interface (LogStore methods, Fastify plugins and handlers, waitFor predicates, fake
      // RTCPeerConnections in tests): a throw becomes a rejection. Dropping `async` to satisfy the
      // rule would turn those rejections into synchronous throws, so the rule is off.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { args: 'after-used', argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Plain JavaScript scripts (scripts/*.mjs, the SDK bundler) carry no type annotations, so every
    // value read from JSON, readdirSync or a callback parameter is `any` to the checker; the
    // no-unsafe-* rules would only ask for JSDoc types. The promise and unused-variable rules stay on.
    files: ['**/*.{js,mjs}'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-unary-minus': 'off',
    },
  },
  {
    files: ['apps/web/src/**/*.{ts,tsx}', 'apps/web/test/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
    },
  },
  {
    // Browser scripts that are not part of any TypeScript project: plain JavaScript rules only.
    files: ['apps/web/public/**/*.js', 'examples/**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { ...globals.browser, ...globals.serviceworker } },
  },
  // Formatting is Prettier's job: turn off every stylistic rule that could disagree with it.
  prettier,
);
