// Lint with typescript-eslint, plus import rules that enforce the layering in ARCHITECTURE.md.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const nodeBuiltins = ['node:*', 'fs', 'path', 'os', 'crypto', 'child_process', 'http', 'net', 'url', 'util', 'events', 'stream', 'worker_threads'];

export default tseslint.config(
  { ignores: ['security/fixtures/**', 'out/**', 'dist/**', 'node_modules/**', 'bench-results/**', 'e2e/artifacts/**', 'native/dist/**', 'native/build/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-console': 'off',
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/main/**', '../../main/*', '../../../main/*'], message: 'The renderer never imports main/: go through the contract.' },
            { group: ['electron'], message: 'The renderer never imports electron: use the transport.' },
            { group: nodeBuiltins, message: 'The renderer runs in a sandboxed browser: no Node modules.' },
          ],
        },
      ],
    },
  },
  {
    files: ['main/**/*.ts', 'preload/**/*.ts', 'scripts/**/*.ts', 'e2e/**/*.ts'],
    ignores: ['main/electron/**', 'preload/index.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'electron', message: 'Only main/electron/ (and the preload) import electron; use a port from main/kernel/ports.ts.' }] },
      ],
    },
  },
  {
    files: ['preload/contract.ts', 'preload/contract/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: nodeBuiltins, message: 'The contract is shared with the renderer: no Node modules.' },
            { group: ['electron', '**/main/**', '**/renderer/**'], message: 'The contract imports only zod and its own files.' },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'window', 'document', 'process', 'Buffer'],
    },
  },
);
