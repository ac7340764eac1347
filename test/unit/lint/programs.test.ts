import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';

const root = join(__dirname, '..', '..', '..');

/** Type-checks one snippet under a program's tsconfig (its lib and types), as `npm run typecheck` does. */
function diagnostics(program: 'server' | 'extension' | 'webview', code: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'pm-programs-'));
  try {
    const file = join(dir, 'snippet.ts');
    writeFileSync(file, code);
    const config = ts.readConfigFile(join(root, program, 'tsconfig.json'), (path) => ts.sys.readFile(path));
    const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, join(root, program));
    const checked = ts.createProgram([file], parsed.options);
    return ts.getPreEmitDiagnostics(checked).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('typecheck: each program with its own lib and types', function () {
  this.timeout(60_000);

  it('the server and the extension have no DOM; the webview has no Node.js', () => {
    assert.match(diagnostics('server', 'export const title = document.title;\n').join('\n'), /Cannot find name 'document'/);
    assert.match(diagnostics('extension', 'export const title = document.title;\n').join('\n'), /Cannot find name 'document'/);
    assert.match(diagnostics('webview', "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n").join('\n'), /Cannot find module 'node:fs'/);
  });

  it('each has what it is for', () => {
    assert.deepEqual(diagnostics('server', "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n"), []);
    assert.deepEqual(diagnostics('webview', 'export const title = document.title;\n'), []);
  });
});
