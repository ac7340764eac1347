/**
 * "Export Training Data…": format, optional persona and room filters, where to save; the node
 * writes the JSONL (mesh/academy/export) and the summary says what was written and what was left
 * out and why.
 */
import * as vscode from 'vscode';
import { AcademyExportRequest, exportFormats, type ExportFormat } from '../../protocol/academy';
import type { PersonaSummary } from '../../protocol/personas';
import type { Ctx } from './ctx';

const formats: Record<ExportFormat, { label: string; detail: string }> = {
  openai: { label: 'OpenAI chat', detail: '{"messages":[…]}: persona answers rated positively, for chat fine-tuning' },
  dpo: { label: 'DPO pairs', detail: '{"prompt","chosen","rejected"}: opposite-rated answers to one prompt, and review suggestions you rewrote' },
  kto: { label: 'KTO', detail: '{"prompt","completion","label"}: every rated answer with a good/bad label' },
};

export function summaryText(written: number, format: ExportFormat, skipped: Record<string, number>): string {
  const left = Object.entries(skipped).map(([reason, count]) => `${count} ${reason}`);
  return `Exported ${written} ${format} line${written === 1 ? '' : 's'}.${left.length ? ` Left out: ${left.join('; ')}.` : ''}`;
}

export function registerExportCommand(ctx: Ctx, personas: () => readonly PersonaSummary[]): vscode.Disposable {
  return vscode.commands.registerCommand('personaMesh.exportTrainingData', async () => {
    const format = await vscode.window.showQuickPick(
      exportFormats.map((id) => ({ label: formats[id].label, description: id, detail: formats[id].detail, id })),
      { title: 'Export Training Data (1/3): format' },
    );
    if (!format) return;
    const everyone = { label: 'All personas', key: undefined as string | undefined };
    const persona = await vscode.window.showQuickPick(
      [everyone, ...personas().map((p) => ({ label: p.name, description: p.local ? 'this node' : `node ${p.nodeId.slice(0, 7)}`, key: `${p.nodeId}/${p.id}` as string | undefined }))],
      { title: 'Export Training Data (2/3): persona' },
    );
    if (!persona) return;
    const room = await vscode.window.showInputBox({
      title: 'Export Training Data (3/3): room',
      prompt: 'Only this room (e.g. general, or review:<id> for one review); empty for every room',
      validateInput: (value) => (/^\S{0,200}$/.test(value.trim()) ? undefined : 'A room id has no spaces'),
    });
    if (room === undefined) return;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({
      title: 'Save training data',
      filters: { 'JSON Lines': ['jsonl'] },
      ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, `persona-mesh-${format.id}.jsonl`) } : {}),
    });
    if (!target) return;
    if (target.scheme !== 'file') {
      void vscode.window.showWarningMessage('The mesh node writes the file itself: pick a file on this machine.');
      return;
    }
    try {
      const summary = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Exporting ${format.id} training data…` }, () =>
        ctx.sendRequest(AcademyExportRequest.type, { format: format.id, path: target.fsPath, ...(persona.key ? { persona: persona.key } : {}), ...(room.trim() ? { room: room.trim() } : {}) }),
      );
      const text = summaryText(summary.written, summary.format, summary.skipped);
      ctx.log.info(`${text} (${target.fsPath})`);
      const open = await vscode.window.showInformationMessage(text, 'Open File');
      if (open) await vscode.window.showTextDocument(target);
    } catch (error) {
      void vscode.window.showWarningMessage(`Export Training Data: ${(error as Error).message}`);
    }
  });
}
