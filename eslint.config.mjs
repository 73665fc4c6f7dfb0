// Lint with typescript-eslint, plus import rules that enforce the layering in ARCHITECTURE.md.
import fs from 'node:fs';
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// The capabilities: every folder under main/. scripts/check-boundaries.mjs checks the same rule over
// resolved paths (and import cycles); these patterns give the same answer in the editor.
const capabilities = fs.readdirSync(new URL('./main', import.meta.url), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
const electronOnly = { name: 'electron', message: 'Only main/electron/ (and the preload) import electron; use a port from main/kernel/ports.ts.' };
const boundaryMessage = 'Reach another capability only through its index.ts (tests: or its testkit.ts); main/kernel is the one folder imported file by file. See CONTRIBUTING.md.';
/** A specifier `<up>Y/file` naming another capability's file other than its public entries. */
const deepImport = (up, own, entries) => ({
  regex: `^${up.replace(/\./g, '\\.')}(?!kernel/${own ? `|${own}/` : ''})[^./][^/]*/(?!(${entries.join('|')})(\\.[cm]?[jt]sx?)?$).+`,
  message: boundaryMessage,
});
const testFiles = ['**/*.test.ts', '**/*.test.tsx', '**/testkit.ts', '**/testing.ts'];
const boundaryRules = (up, own, entries) => [
  'error',
  { paths: own === 'electron' ? [] : [electronOnly], patterns: [deepImport(up, own, entries)] },
];
const boundaries = capabilities.flatMap((cap) =>
  cap === 'kernel'
    ? [
        {
          files: ['main/kernel/**/*.ts'],
          rules: {
            'no-restricted-imports': ['error', { paths: [electronOnly], patterns: [{ regex: '^\\.\\./(?!kernel/)[^./]', message: 'The kernel imports no capability: capabilities build on it, not the reverse.' }] }],
          },
        },
      ]
    : [
        { files: [`main/${cap}/*.ts`], rules: { 'no-restricted-imports': boundaryRules('../', cap, ['index']) } },
        { files: [`main/${cap}/*/**/*.ts`], rules: { 'no-restricted-imports': boundaryRules('../../', cap, ['index']) } },
        { files: testFiles.map((f) => `main/${cap}/${f.replace('**/', '')}`), rules: { 'no-restricted-imports': boundaryRules('../', cap, ['index', 'testkit']) } },
      ],
);

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
        { paths: [electronOnly] },
      ],
    },
  },
  ...boundaries,
  { files: ['main/serve.ts'], rules: { 'no-restricted-imports': ['error', { paths: [electronOnly], patterns: [deepImport('./', '', ['index'])] }] } },
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
