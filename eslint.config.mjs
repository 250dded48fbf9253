// Lint rules that make the layers visible. Formatting is Prettier's job
// (eslint-config-prettier turns off the rules that would fight it).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

const noVscode = {
  name: 'vscode',
  message: 'This layer runs headless (tests, benchmarks, the CLI): never import vscode here.',
};
const noWebview = {
  group: ['**/webview/*', '**/webview/**', '!**/webview/protocol', '!**/webview/protocol/**'],
  message: 'Host code may import only the webview protocol files (src/webview/protocol/), never webview code.',
};
const hostFolders = ['api', 'backends', 'collector', 'core', 'protocol', 'runtime', 'sources', 'store', 'ui'];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'dist-vsix/**',
      'out/**',
      'node_modules/**',
      '.vscode-test/**',
      'test-output/**',
      'clients/**',
      'examples/**/node_modules/**',
      '**/*.d.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/no-require-imports': 'off',
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'error' },
  },
  {
    // The headless layers: never vscode, never webview code.
    files: ['src/{common,protocol,store,collector,core,backends,sources,runtime}/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [noVscode], patterns: [noWebview] }] },
  },
  {
    // The kernel depends on nothing else of ours.
    files: ['src/common/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [noVscode],
          patterns: [
            {
              group: hostFolders.map((f) => `**/${f}/**`).concat(['**/webview/**']),
              message: 'src/common imports nothing else of Runwatch.',
            },
          ],
        },
      ],
    },
  },
  {
    // Host code that may use vscode still keeps out of the webview's code.
    files: ['src/*.ts', 'src/ui/**/*.ts', 'src/api/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [noWebview] }] },
  },
  {
    // The browser side: no vscode, no Node, no host code; only src/common and itself
    // (its own protocol folder is ./protocol from src/webview, ../protocol from a page's folder).
    files: ['src/webview/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            noVscode,
            { name: 'fs', message: 'Webview code runs in the browser.' },
            { name: 'path', message: 'Webview code runs in the browser.' },
          ],
          patterns: [
            {
              group: hostFolders.map((f) => `**/${f}/**`).concat(['!**/api/types', '!./protocol/*', '!../protocol/*']),
              message:
                'Webview code never imports host code; share types through src/webview/protocol/ or src/common/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    languageOptions: { globals: { ...globals.node, ...globals.mocha, ...globals.browser } },
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
