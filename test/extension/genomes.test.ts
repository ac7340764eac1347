// The Genomes view and commands in a real extension host: publishing from a workspace persona
// shows the genome under "On this node"; Delete Local Genome Copy takes it away.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { PersonaMeshApi } from '../../extension/src/api';
import { untilOk as poll } from '../support/until';

const EXTENSION_ID = 'persona-mesh.persona-mesh';

export function genomesSuite(): void {
  describe('extension host: the Genomes view', function () {
    this.timeout(90_000);

    it('registers the genome commands', async function () {
      await vscode.extensions.getExtension<PersonaMeshApi>(EXTENSION_ID)!.activate();
      const commands = await vscode.commands.getCommands(true);
      for (const command of ['refreshGenomes', 'downloadGenome', 'applyGenome', 'unapplyGenome', 'showGenomeManifest', 'publishGenome', 'deleteGenome']) {
        assert.ok(commands.includes(`personaMesh.${command}`), `personaMesh.${command} is not registered`);
      }
    });

    it('publishes a genome from a workspace persona, lists it as local, and deletes the local copy', async function () {
      const api = await vscode.extensions.getExtension<PersonaMeshApi>(EXTENSION_ID)!.activate();
      const folder = vscode.workspace.workspaceFolders?.[0];
      assert.ok(folder, 'the test workspace is open');
      const file = vscode.Uri.joinPath(folder.uri, '.mesh', 'personas', 'geneticist.persona.md');
      await vscode.workspace.fs.writeFile(file, Buffer.from('---\nid: geneticist\nname: Geneticist\nbrain: librarian\ncapabilities: [genetics]\n---\nYou explain genomes.\n', 'utf8'));
      const genome = await poll(
        'a local genome published from the persona',
        async () => {
          const before = await api.genomes();
          const found = before.find((g) => g.local && g.name === 'Geneticist');
          if (found) return found;
          await vscode.commands.executeCommand('personaMesh.publishGenome', 'geneticist');
          return undefined;
        },
        60_000,
      );
      assert.deepEqual(genome.capabilities, ['genetics']);
      assert.deepEqual(genome.layers, ['prompt']);
      await vscode.commands.executeCommand('personaMesh.deleteGenome', genome.id);
      assert.equal((await api.genomes()).some((g) => g.id === genome.id && g.local), false, 'the local copy is gone');
      await vscode.workspace.fs.delete(file);
    });
  });
}
