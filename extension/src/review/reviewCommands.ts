/**
 * "Review Selection with Persona" and "Review File with Persona": pick any persona on the mesh
 * (its node runs the brain), send the code, show the comments as threads.
 */
import * as vscode from 'vscode';
import type { PersonaSummary } from '../../../protocol/personas';
import { ReviewRequest, reviewLimits, type ReviewInput } from '../../../protocol/review';
import type { Ctx } from '../ctx';
import type { ReviewThreads } from './reviewThreads';

const lastPersonaKey = 'personaMesh.review.lastPersona';

async function pickPersona(personas: readonly PersonaSummary[], memento: vscode.Memento): Promise<PersonaSummary | undefined> {
  const usable = personas.filter((p) => p.state !== 'disabled');
  if (usable.length === 0) {
    void vscode.window.showInformationMessage('No persona on the mesh to review with. Add one with "Persona Mesh: New Persona", or connect to a peer that hosts one.');
    return undefined;
  }
  const last = memento.get<string>(lastPersonaKey);
  const key = (p: PersonaSummary) => `${p.nodeId}/${p.id}`;
  const sorted = [...usable].sort((a, b) => Number(key(b) === last) - Number(key(a) === last) || a.name.localeCompare(b.name));
  const picked = await vscode.window.showQuickPick(
    sorted.map((persona) => ({
      label: persona.name,
      description: `${persona.provider}${persona.model ? ` (${persona.model})` : ''} · ${persona.local ? 'this node' : `node ${persona.nodeId.slice(0, 7)}`}`,
      detail: persona.state === 'degraded' ? `degraded: ${persona.reason ?? ''}` : persona.description,
      persona,
    })),
    { title: 'Review with which persona?', placeHolder: 'Personas on this node and on the mesh', matchOnDescription: true },
  );
  if (picked) await memento.update(lastPersonaKey, key(picked.persona));
  return picked?.persona;
}

/** The whole lines a selection covers (a selection ending at column 0 leaves that line out). */
function selectedLines(editor: vscode.TextEditor): vscode.Range {
  const { start, end } = editor.selection;
  const last = end.line > start.line && end.character === 0 ? end.line - 1 : end.line;
  return new vscode.Range(start.line, 0, last, editor.document.lineAt(last).text.length);
}

export async function reviewCode(ctx: Ctx, threads: ReviewThreads, personas: () => readonly PersonaSummary[], memento: vscode.Memento, scope: 'selection' | 'file'): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage('Open a file to review first.');
    return;
  }
  const document = editor.document;
  const range = scope === 'file' ? new vscode.Range(0, 0, document.lineCount - 1, document.lineAt(document.lineCount - 1).text.length) : selectedLines(editor);
  const code = document.getText(range).replace(/\r\n/g, '\n');
  if (code.trim() === '') {
    void vscode.window.showInformationMessage(scope === 'file' ? 'The file is empty.' : 'Select some code to review.');
    return;
  }
  if (code.length > reviewLimits.maxCodeChars) {
    void vscode.window.showWarningMessage(`That is ${code.length} characters of code; a review takes at most ${reviewLimits.maxCodeChars}. Select a part and run "Review Selection with Persona".`);
    return;
  }
  const persona = await pickPersona(personas(), memento);
  if (!persona) return;
  const input: ReviewInput = { path: vscode.workspace.asRelativePath(document.uri, false), language: document.languageId, code, firstLine: range.start.line + 1 };
  const version = document.version;
  try {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `${persona.name} is reviewing ${input.path}…` },
      () => ctx.sendRequest(ReviewRequest.type, { ...input, persona: `${persona.nodeId}/${persona.id}` }),
    );
    if (document.version !== version) ctx.log.info(`${input.path} changed during the review; its comments are placed by the line numbers of the reviewed text`);
    threads.show(document, input, result);
    const dropped = result.dropped.length > 0 ? ` (${result.dropped.length} unusable comment${result.dropped.length === 1 ? '' : 's'} left out; see the log)` : '';
    for (const reason of result.dropped) ctx.log.info(`review by ${persona.name}: left out ${reason}`);
    if (result.comments.length === 0) void vscode.window.showInformationMessage(`${persona.name} has no comments on ${input.path}${dropped}.`);
    else vscode.window.setStatusBarMessage(`${persona.name}: ${result.comments.length} review comment${result.comments.length === 1 ? '' : 's'} on ${input.path}${dropped}`, 8000);
  } catch (error) {
    void vscode.window.showWarningMessage(`Review with ${persona.name}: ${(error as Error).message}`);
  }
}
