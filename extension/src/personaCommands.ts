/** Persona commands: New Persona, Open Persona File, Enable/Disable, and persona folders for the server. */
import * as vscode from 'vscode';
import { PersonaApiKeyRequest, PersonaTemplateRequest, SetPersonaEnabledRequest, SetPersonaFoldersNotification } from '../../protocol/personas';
import type { Ctx } from './ctx';
import { roomFor } from './personaAsk';
import type { PersonaItem } from './views/personasView';
import type { PersonaSummary } from '../../protocol/personas';

async function pickLocalOpenAiPersona(personas: readonly PersonaSummary[]): Promise<PersonaSummary | undefined> {
  const candidates = personas.filter((p) => p.local && p.provider === 'openai');
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage('No persona on this node uses the openai brain.');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    candidates.map((persona) => ({ label: persona.name, description: persona.model ?? '', persona })),
    { title: 'Persona Mesh: Set Persona API Key' },
  );
  return picked?.persona;
}

async function pickPersona(personas: readonly PersonaSummary[]): Promise<PersonaSummary | undefined> {
  if (personas.length === 0) {
    void vscode.window.showInformationMessage('No personas on the mesh yet: add one with "Persona Mesh: New Persona".');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    personas.map((persona) => ({ label: persona.name, description: `@${persona.id}`, detail: `${persona.provider} · ${persona.state}${persona.local ? ' · this node' : ''}`, persona })),
    { title: 'Persona Mesh: Mention Persona in Chat', matchOnDescription: true },
  );
  return picked?.persona;
}

const apiKeySecret = (personaId: string) => `personaMesh.apiKey.${personaId}`;

export function registerPersonaCommands(
  ctx: Ctx,
  secrets: vscode.SecretStorage,
  personas: () => readonly PersonaSummary[],
  mentionInChat: (roomId: string, mention: string) => void,
): vscode.Disposable[] {
  const sendFolders = () => void ctx.sendNotification(SetPersonaFoldersNotification.type, personaFolders()).catch(() => undefined);
  return [
    ctx.onDidStartServer(sendFolders),
    vscode.workspace.onDidChangeWorkspaceFolders(sendFolders),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('personaMesh.personaFolders')) sendFolders();
    }),
    vscode.commands.registerCommand('personaMesh.newPersona', () => newPersona(ctx)),
    ctx.onRequest(PersonaApiKeyRequest.type, async ({ personaId }) => (await secrets.get(apiKeySecret(personaId))) ?? null),
    vscode.commands.registerCommand('personaMesh.setPersonaApiKey', async (item?: PersonaItem) => {
      const id = item?.kind === 'persona' ? item.persona.id : (await pickLocalOpenAiPersona(personas()))?.id;
      if (!id) return;
      const key = await vscode.window.showInputBox({ title: `API key for persona ${id}`, prompt: 'Kept in the editor\'s secret storage; empty removes it', password: true, ignoreFocusOut: true });
      if (key === undefined) return;
      if (key.trim()) await secrets.store(apiKeySecret(id), key.trim());
      else await secrets.delete(apiKeySecret(id));
      void vscode.window.showInformationMessage(key.trim() ? `API key saved for ${id}.` : `API key removed for ${id}.`);
    }),
    vscode.commands.registerCommand('personaMesh.openPersonaFile', async (item?: PersonaItem) => {
      if (item?.kind !== 'persona' || !item.persona.file) return;
      await vscode.window.showTextDocument(vscode.Uri.file(item.persona.file));
    }),
    vscode.commands.registerCommand('personaMesh.mentionPersona', async (item?: PersonaItem) => {
      const persona = item?.kind === 'persona' ? item.persona : await pickPersona(personas());
      if (persona) mentionInChat(roomFor(persona), `@${persona.id}`);
    }),
    vscode.commands.registerCommand('personaMesh.disablePersona', (item?: PersonaItem) => setEnabled(ctx, item, false)),
    vscode.commands.registerCommand('personaMesh.enablePersona', (item?: PersonaItem) => setEnabled(ctx, item, true)),
  ];
}

export function personaFolders(): { workspaceFolders: string[]; extraFolders: string[] } {
  const workspaceFolders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
  const base = workspaceFolders[0];
  const extraFolders = vscode.workspace
    .getConfiguration('personaMesh')
    .get<string[]>('personaFolders', [])
    .map((folder) => (base && !folder.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(folder) ? vscode.Uri.joinPath(vscode.Uri.file(base), folder).fsPath : folder));
  return { workspaceFolders, extraFolders };
}

async function setEnabled(ctx: Ctx, item: PersonaItem | undefined, enabled: boolean): Promise<void> {
  if (item?.kind !== 'persona' || !item.persona.local) return;
  try {
    await ctx.sendRequest(SetPersonaEnabledRequest.type, { id: item.persona.id, enabled });
  } catch (error) {
    void vscode.window.showWarningMessage(`${enabled ? 'Enable' : 'Disable'} ${item.persona.name}: ${(error as Error).message}`);
  }
}

/** Writes a commented template to `.mesh/personas/<id>.persona.md` in the first workspace folder. */
async function newPersona(ctx: Ctx): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) {
    void vscode.window.showWarningMessage('Open a folder first: personas live in its .mesh/personas/ folder.');
    return;
  }
  const name = await vscode.window.showInputBox({ title: 'Persona Mesh: New Persona', prompt: 'Display name', placeHolder: 'Parser Expert', validateInput: (v) => (v.trim() ? undefined : 'A name, please') });
  if (!name) return;
  const suggested = name.trim().toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'persona';
  const id = await vscode.window.showInputBox({
    title: 'Persona Mesh: New Persona',
    prompt: 'Id (unique on the mesh: lower-case letters, digits and -)',
    value: suggested,
    validateInput: (v) => (/^[a-z0-9][a-z0-9-]{0,63}$/.test(v) ? undefined : 'Lower-case letters, digits and -, up to 64'),
  });
  if (!id) return;
  const uri = vscode.Uri.joinPath(folder.uri, '.mesh', 'personas', `${id}.persona.md`);
  try {
    await vscode.workspace.fs.stat(uri);
    void vscode.window.showWarningMessage(`${vscode.workspace.asRelativePath(uri)} exists already.`);
    await vscode.window.showTextDocument(uri);
    return;
  } catch {
    // Does not exist: write it.
  }
  let text: string;
  try {
    ({ text } = await ctx.sendRequest(PersonaTemplateRequest.type, { id, name: name.trim() }));
  } catch (error) {
    void vscode.window.showWarningMessage(`New Persona: ${(error as Error).message}`);
    return;
  }
  await vscode.workspace.fs.writeFile(uri, Buffer.from(text, 'utf8'));
  await vscode.window.showTextDocument(uri);
}
