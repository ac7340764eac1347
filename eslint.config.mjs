// Flat config: type-aware rules so an unawaited promise (a lost error) fails the lint.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * The floors of DESIGN.md as import rules: imports only point down, and a concern never borrows
 * from a sibling. Ground floor: protocol/ (a leaf shared by the three programs), and just above it
 * server/src/kernel (the server's leaf, which may read the protocol). Then net/, store/ and models/
 * (GGUF files, node-llama-cpp). Then the concerns. The root (node/) and the entry points
 * (cli, ipc) on top. The extension may use the protocol and the kernel; the webview only the
 * protocol. A breach is a lint error (test/unit/lint/floors.test.ts shows one).
 */
const concerns = ['rooms', 'personas', 'academy', 'genomes', 'challenges', 'review', 'lsp'];
const top = ['node', 'cli', 'ipc'];

/** Relative imports (any depth) into one of `folders` of server/src. */
function into(folders, message) {
  return { regex: `^(\\.\\./)+(${folders.join('|')})(/|$)`, message };
}

/**
 * Known breaches, each to be removed by issue #15 step 3 (services split by role, narrow ports):
 * file → the folders it may still reach.
 */
const knownBreaches = {
  'server/src/lsp/frontMatterContext.ts': ['personas'],
  'server/src/lsp/personaLanguage.ts': ['personas'],
  'server/src/lsp/personaServer.ts': ['personas'],
  'server/src/personas/participation.ts': ['rooms'],
  'server/src/personas/service.ts': ['rooms'],
  'server/src/review/librarianReview.ts': ['personas'],
  'server/src/review/prompt.ts': ['personas'],
  'server/src/review/reviewer.ts': ['personas'],
};

export function floorRules() {
  const rule = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });
  const leaf = (what) => ({ regex: '^\\.\\./', message: `${what} imports nothing of the project outside its folder (DESIGN.md, floors)` });
  const blocks = [
    { files: ['server/src/kernel/**/*.ts'], rules: rule([{ regex: '^\\.\\./(?!(\\.\\./)+protocol/)', message: 'The kernel imports nothing of the project outside its folder but the protocol (DESIGN.md, floors)' }]) },
    { files: ['protocol/**/*.ts'], rules: rule([leaf('The protocol')]) },
    { files: ['server/src/net/**/*.ts'], rules: rule([into([...concerns, ...top, 'store', 'models'], 'net/ sits below the concerns, beside store/ and models/: it imports only the kernel and the protocol')]) },
    { files: ['server/src/store/**/*.ts'], rules: rule([into([...concerns, ...top, 'net', 'models'], 'store/ sits below the concerns, beside net/ and models/: it imports only the kernel and the protocol')]) },
    { files: ['server/src/models/**/*.ts'], rules: rule([into([...concerns, ...top, 'net', 'store'], 'models/ sits below the concerns, beside net/ and store/: it imports only the kernel and the protocol')]) },
    ...concerns.map((concern) => ({
      files: [`server/src/${concern}/**/*.ts`],
      ignores: Object.keys(knownBreaches).filter((file) => file.startsWith(`server/src/${concern}/`)),
      rules: rule([into([...concerns.filter((c) => c !== concern), ...top], `a concern reaches the root and its siblings only through ports the root hands it; code two concerns need moves down to the kernel`)]),
    })),
    ...Object.entries(knownBreaches).map(([file, allowed]) => {
      const concern = file.split('/')[2];
      const forbidden = [...concerns.filter((c) => c !== concern && !allowed.includes(c)), ...top.filter((t) => !allowed.includes(t))];
      return { files: [file], rules: rule([into(forbidden, 'a concern reaches the root and its siblings only through ports the root hands it (a known breach of this file is allowed until issue #15 step 3)')]) };
    }),
    {
      files: ['extension/src/**/*.ts'],
      rules: rule([{ regex: 'server/src/(?!kernel/)', message: 'the extension uses the server only through the protocol and the kernel' }]),
    },
    {
      files: ['webview/src/**/*.ts'],
      rules: rule([{ regex: 'server/src/', message: 'the webview uses only the protocol' }]),
    },
  ];
  return blocks;
}

export default tseslint.config(
  { ignores: ['**/out/**', 'node_modules/**', '.cache/**', '.vscode-test/**', 'test-results/**', '*.vsix'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
    },
  },
  {
    // Protocol methods are `namespace X { method; type }` pairs, as in vscode-eslint.
    files: ['protocol/**/*.ts'],
    rules: { '@typescript-eslint/no-namespace': 'off' },
  },
  ...floorRules(),
  {
    files: ['**/*.mjs', '**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { ...globals.node } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
