/**
 * Genome commands (Genomes view and palette): Refresh, Download (progress notification with
 * percent and Cancel), Apply to Persona…, Remove from Persona…, Show Manifest, Publish from
 * Persona…, Delete Local Copy. Each answers with a clear message when the server is down.
 */
import * as vscode from 'vscode';
import {
  GenomeApplyRequest,
  GenomeDeleteRequest,
  GenomeDownloadRequest,
  GenomeManifestRequest,
  GenomePublishPersonaRequest,
  GenomeUnapplyRequest,
  type GenomeSummary,
} from '../../protocol/genomes';
import type { PersonaSummary } from '../../protocol/personas';
import type { Ctx } from './ctx';
import type { GenomeItem, GenomesView } from './views/genomesView';

type Target = GenomeItem | GenomeSummary | string | undefined;

export function registerGenomeCommands(ctx: Ctx, view: GenomesView, personas: () => readonly PersonaSummary[]): vscode.Disposable[] {
  const genomeOf = async (target: Target, local: boolean | undefined, title: string): Promise<GenomeSummary | undefined> => {
    if (typeof target === 'string') return view.all.find((g) => g.id === target);
    if (target && 'kind' in target) return target.kind === 'genome' ? target.genome : undefined;
    if (target) return target;
    await view.refresh();
    let choices = view.all.filter((g) => local === undefined || g.local === local);
    if (choices.length === 0 && local !== true) {
      // Nothing known yet: ask the mesh and wait for its answers before saying there is nothing.
      await vscode.window.withProgress({ location: { viewId: 'personaMesh.genomes' }, title: 'Asking the mesh for genomes' }, () => view.refresh({ ask: true }));
      choices = view.all.filter((g) => local === undefined || g.local === local);
    }
    if (choices.length === 0) {
      void vscode.window.showInformationMessage(local ? 'No genomes are held on this node yet.' : 'No genomes are known on the mesh yet.');
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      choices.map((genome) => ({ label: genome.name, description: genome.capabilities.join(', '), detail: genome.description, genome })),
      { title },
    );
    return picked?.genome;
  };
  const personaOf = async (target: string | undefined, title: string): Promise<PersonaSummary | undefined> => {
    const local = personas().filter((p) => p.local);
    if (target) return local.find((p) => p.id === target);
    if (local.length === 0) {
      void vscode.window.showInformationMessage('No persona is hosted by this node: create one with Persona Mesh: New Persona.');
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(local.map((persona) => ({ label: persona.name, description: persona.id, persona })), { title });
    return picked?.persona;
  };
  const fail = (what: string, error: unknown) => void vscode.window.showWarningMessage(`${what}: ${(error as Error).message}`);

  return [
    vscode.commands.registerCommand('personaMesh.refreshGenomes', () =>
      vscode.window.withProgress({ location: { viewId: 'personaMesh.genomes' }, title: 'Asking the mesh for genomes' }, () => view.refresh({ ask: true })),
    ),
    vscode.commands.registerCommand('personaMesh.downloadGenome', async (target: Target) => {
      const genome = await genomeOf(target, false, 'Download Genome');
      if (!genome) return;
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Downloading genome ${genome.name}`, cancellable: true },
        async (progress, token) => {
          let reported = 0;
          // Cancel cancels the request: the server stops the download and keeps the verified pieces.
          const onProgress = (value: { kind: string; percentage?: number; message?: string }) => {
            if (value.kind !== 'report' || value.percentage === undefined) return;
            progress.report({ increment: value.percentage - reported, ...(value.message ? { message: value.message } : {}) });
            reported = value.percentage;
          };
          try {
            await ctx.sendLongRequest(GenomeDownloadRequest.type, { id: genome.id }, { token, onProgress });
            void vscode.window.showInformationMessage(`Genome ${genome.name} downloaded and verified.`);
          } catch (error) {
            if (!token.isCancellationRequested) fail(`Download ${genome.name}`, error);
          } finally {
            void view.refresh();
          }
        },
      );
    }),
    vscode.commands.registerCommand('personaMesh.applyGenome', async (target: Target, personaId?: string) => {
      const genome = await genomeOf(target, true, 'Apply Genome to Persona');
      if (!genome) return;
      const persona = await personaOf(personaId, `Apply ${genome.name} to…`);
      if (!persona) return;
      try {
        await ctx.sendRequest(GenomeApplyRequest.type, { id: genome.id, persona: persona.id });
        void vscode.window.showInformationMessage(`${persona.name} now uses genome ${genome.name} (recorded in its persona file).`);
      } catch (error) {
        fail(`Apply ${genome.name}`, error);
      }
    }),
    vscode.commands.registerCommand('personaMesh.unapplyGenome', async (target: Target, personaId?: string) => {
      const genome = await genomeOf(target, true, 'Remove Genome from Persona');
      if (!genome) return;
      const persona = await personaOf(personaId, `Remove ${genome.name} from…`);
      if (!persona) return;
      try {
        await ctx.sendRequest(GenomeUnapplyRequest.type, { id: genome.id, persona: persona.id });
      } catch (error) {
        fail(`Remove ${genome.name}`, error);
      }
    }),
    vscode.commands.registerCommand('personaMesh.showGenomeManifest', async (target: Target) => {
      const genome = await genomeOf(target, undefined, 'Show Genome Manifest');
      if (!genome) return;
      try {
        const manifest = await ctx.sendRequest(GenomeManifestRequest.type, { id: genome.id });
        const document = await vscode.workspace.openTextDocument({ language: 'json', content: JSON.stringify({ id: genome.id, ...manifest, vector: `(${manifest?.vector.length ?? 0} numbers)` }, null, 2) });
        await vscode.window.showTextDocument(document, { preview: true });
      } catch (error) {
        fail(`Show manifest of ${genome.name}`, error);
      }
    }),
    vscode.commands.registerCommand('personaMesh.publishGenome', async (personaId?: string) => {
      const persona = await personaOf(typeof personaId === 'string' ? personaId : undefined, 'Publish Genome from Persona');
      if (!persona) return;
      try {
        const genome = await ctx.sendRequest(GenomePublishPersonaRequest.type, { persona: persona.id });
        void vscode.window.showInformationMessage(`Published genome ${genome.name} from ${persona.name}; peers can now find and download it.`);
        await view.refresh();
      } catch (error) {
        fail(`Publish from ${persona.name}`, error);
      }
    }),
    vscode.commands.registerCommand('personaMesh.deleteGenome', async (target: Target) => {
      const genome = await genomeOf(target, true, 'Delete Local Genome');
      if (!genome) return;
      try {
        await ctx.sendRequest(GenomeDeleteRequest.type, { id: genome.id });
        await view.refresh();
      } catch (error) {
        fail(`Delete ${genome.name}`, error);
      }
    }),
  ];
}
