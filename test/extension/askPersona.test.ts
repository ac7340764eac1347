// Asking one persona through the extension (the path `@mesh /ask` in Copilot Chat takes): the
// question goes into the persona's room with a mention, the hosting node's brain answers, and the
// answer streams back as it is written. Here the persona is a librarian hosted by this window's
// node, over a document of the test workspace.
import * as assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { PersonaMeshApi } from '../../extension/src/api';
import { until } from '../support/until';

const EXTENSION_ID = 'persona-mesh.persona-mesh';

const persona = `---
id: docs-helper
name: Docs Helper
brain:
  provider: librarian
capabilities:
  - docs
rooms:
  general: expert
---
Answer from the workspace documents.
`;

const runbook = `# Runbook

## Rolling back a release

Run \`deployctl rollback --to previous\` from the ops host, then watch the canary dashboard for five minutes.
`;

export function askPersonaSuite(): void {
  describe('extension host: asking a persona (the @mesh chat participant path)', function () {
    this.timeout(120_000);

    it('streams the answer of a librarian persona hosted by this node, drawn from the workspace', async function () {
      const extension = vscode.extensions.getExtension<PersonaMeshApi>(EXTENSION_ID);
      assert.ok(extension);
      const api = await extension.activate();
      const workspace = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
      assert.ok(workspace, 'the test host has a workspace folder');
      writeFileSync(join(workspace, 'RUNBOOK.md'), runbook);
      mkdirSync(join(workspace, '.mesh', 'personas'), { recursive: true });
      writeFileSync(join(workspace, '.mesh', 'personas', 'docs-helper.persona.md'), persona);

      // The persona is picked up live; until then askPersona says it does not know it.
      let streamed = '';
      let lastError: unknown;
      const asked = async () => {
        try {
          streamed = '';
          return await api.askPersona('Docs Helper', 'how do I roll back a release?', (delta) => (streamed += delta));
        } catch (error) {
          lastError = error;
          if (!/no persona/.test(String(error))) throw error;
          return undefined;
        }
      };
      const answer = await until('an answer from the persona once it is picked up', asked, 60_000, () => String(lastError), 250);
      assert.equal(answer.personaId, 'docs-helper');
      assert.equal(answer.roomId, 'general');
      assert.match(answer.text, /deployctl rollback/, 'the answer quotes the runbook');
      assert.match(answer.text, /RUNBOOK\.md/, 'the answer links the file');
      assert.equal(streamed, answer.text, 'the streamed pieces add up to the answer');
    });

    it('names an unknown persona in its error', async function () {
      const api = await vscode.extensions.getExtension<PersonaMeshApi>(EXTENSION_ID)!.activate();
      await assert.rejects(api.askPersona('nobody-here', 'hello?'), /no persona nobody-here on the mesh/);
    });
  });
}
