/**
 * `@mesh` in Copilot Chat: ask any persona on the mesh (`/ask <persona> <question>`), or list them
 * (`/personas`). The answer streams in from the persona's hosting node through the same room
 * exchange the chat panel shows, so it is kept and can be rated there. Registered only where the
 * chat API exists (VS Code 1.90+ with a chat provider; code-server has none).
 */
import * as vscode from 'vscode';
import type { PersonaSummary } from '../../protocol/personas';
import { roomLimits, type CodeAttachment } from '../../protocol/rooms';
import { askPersona, AskError, findPersona, parseAsk } from './personaAsk';
import type { Ctx } from './ctx';

interface TurnMetadata {
  personaId?: string;
}

const usage = [
  'Ask a persona on the mesh: `@mesh /ask <persona> <question>`; after that, follow-up questions go to the same persona.',
  'List the personas: `@mesh /personas`.',
].join('\n\n');

export function registerMeshChatParticipant(ctx: Ctx, personas: () => readonly PersonaSummary[], openRoom: (roomId: string) => void): vscode.Disposable[] {
  const chat = (vscode as { chat?: typeof vscode.chat }).chat;
  if (typeof chat?.createChatParticipant !== 'function') {
    ctx.log.debug('no chat API in this editor: the @mesh chat participant is not registered');
    return [];
  }
  const openRoomCommand = vscode.commands.registerCommand('personaMesh.openRoomFromChat', (roomId: string) => openRoom(roomId));
  const participant = chat.createChatParticipant('persona-mesh.mesh', (request, context, stream, token) => handle(ctx, personas(), request, context, stream, token));
  participant.iconPath = new vscode.ThemeIcon('organization');
  return [participant, openRoomCommand];
}

async function handle(
  ctx: Ctx,
  personas: readonly PersonaSummary[],
  request: vscode.ChatRequest,
  context: vscode.ChatContext,
  stream: vscode.ChatResponseStream,
  token: vscode.CancellationToken,
): Promise<vscode.ChatResult> {
  if (request.command === 'personas') {
    stream.markdown(listPersonas(personas));
    return {};
  }
  const target = request.command === 'ask' ? parseAsk(request.prompt, personas) : followUp(request.prompt, personas, context);
  if ('error' in target) {
    stream.markdown(`${target.error}\n\n${usage}`);
    return { metadata: {} };
  }
  const { persona, question } = target;
  const where = persona.local ? 'this node' : 'its node';
  stream.progress(`Asking ${persona.name} (${persona.provider}, on ${where})…`);
  try {
    const attachment = await attachmentFrom(request.references);
    const result = await askPersona(ctx, { persona, question, ...(attachment ? { attachment } : {}), onText: (delta) => stream.markdown(delta), token });
    stream.button({ command: 'personaMesh.openRoomFromChat', title: `Open #${result.roomId} to rate the answer`, arguments: [result.roomId] });
    return { metadata: { personaId: persona.id } satisfies TurnMetadata };
  } catch (error) {
    const message = error instanceof AskError || error instanceof Error ? error.message : String(error);
    return { errorDetails: { message: `${persona.name}: ${message}` }, metadata: { personaId: persona.id } satisfies TurnMetadata };
  }
}

/** Without a command: a prompt starting with a persona asks it; otherwise the persona of the last turn. */
function followUp(prompt: string, personas: readonly PersonaSummary[], context: vscode.ChatContext): ReturnType<typeof parseAsk> {
  const first = prompt.trim().split(/\s+/)[0] ?? '';
  if (findPersona(personas, first)) return parseAsk(prompt, personas);
  for (const turn of [...context.history].reverse()) {
    if (!(turn instanceof vscode.ChatResponseTurn) || turn.participant !== 'persona-mesh.mesh') continue;
    const personaId = (turn.result.metadata as TurnMetadata | undefined)?.personaId;
    const persona = personaId ? findPersona(personas, personaId) : undefined;
    if (persona && prompt.trim()) return { persona, question: prompt.trim() };
    break;
  }
  return { error: 'Which persona should answer?' };
}

function listPersonas(personas: readonly PersonaSummary[]): string {
  if (personas.length === 0) return 'No personas on the mesh yet. Add a `*.persona.md` file to `.mesh/personas/` ("Persona Mesh: New Persona"), or join a mesh whose nodes host some.';
  const rows = [...personas]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((p) => `| \`${p.id}\` | ${p.name} | ${p.provider} | ${p.state}${p.local ? ' (here)' : ''} | ${p.capabilities.join(', ')} |`);
  return ['| id | name | brain | state | capabilities |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}

/** The first reference that is a file range or a whole (small) file becomes the code attachment. */
async function attachmentFrom(references: readonly vscode.ChatPromptReference[]): Promise<CodeAttachment | undefined> {
  for (const reference of references) {
    const value = reference.value;
    const location = value instanceof vscode.Location ? value : value instanceof vscode.Uri ? new vscode.Location(value, new vscode.Range(0, 0, 199, 0)) : undefined;
    if (!location) continue;
    const document = await vscode.workspace.openTextDocument(location.uri);
    let range = document.validateRange(location.range);
    // A room refuses a larger attachment: keep the first lines that fit.
    while (range.end.line > range.start.line && Buffer.byteLength(document.getText(range)) > roomLimits.maxAttachmentBytes) {
      range = new vscode.Range(range.start, new vscode.Position(range.start.line + Math.floor((range.end.line - range.start.line) / 2), 0));
    }
    return {
      path: vscode.workspace.asRelativePath(document.uri, false).replace(/\\/g, '/'),
      language: document.languageId,
      startLine: range.start.line + 1,
      endLine: range.end.line + 1,
      content: document.getText(range),
    };
  }
  return undefined;
}
