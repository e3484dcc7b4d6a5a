// One lint gate for the whole monorepo. The layering rule of docs/architecture: the pure
// libraries (protocol, model, decoders) import no framework, client or I/O module.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioModules = [
  '@nestjs/*',
  'kafkajs',
  'ioredis',
  'fastify',
  '@fastify/*',
  'better-sqlite3',
  'prom-client',
  'pino',
  'piscina',
  'node:http',
  'node:https',
  'node:http2',
  'node:net',
  'node:fs',
  'node:fs/promises',
  'node:child_process',
  'node:worker_threads',
  'http',
  'https',
  'net',
  'fs',
  'child_process',
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.cache/**',
      'artifacts/**',
      'coverage/**',
      'libs/**/ui/dist/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
        AbortController: 'readonly',
        fetch: 'readonly',
        performance: 'readonly',
        structuredClone: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { disallowTypeAnnotations: false }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // Nest needs runtime class references for constructor injection; type-only imports
    // would erase them, so the consistent-type-imports rule does not apply there.
    files: [
      'apps/**/*.ts',
      'libs/pipeline/**/*.ts',
      'libs/runtime/**/*.ts',
      'libs/observability/**/*.ts',
      'libs/backends/**/*.ts',
      'libs/queue/**/*.ts',
      'libs/cache/**/*.ts',
      'test/**/*.ts',
    ],
    rules: { '@typescript-eslint/consistent-type-imports': 'off' },
  },
  {
    files: ['libs/protocol/**/*.ts', 'libs/model/**/*.ts', 'libs/decoders/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ioModules,
              message:
                'protocol, model and decoders are pure libraries: no framework, client or I/O imports (docs/architecture.md).',
            },
            {
              group: [
                '**/queue/**',
                '**/cache/**',
                '**/backends/**',
                '**/pipeline/**',
                '**/runtime/**',
                '**/observability/**',
                '**/apps/**',
              ],
              message: 'pure libraries may not depend on the service layers.',
            },
          ],
        },
      ],
    },
  },
);
