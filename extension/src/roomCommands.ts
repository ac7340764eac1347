/**
 * Room commands of the palette and the editor: Join/Leave Room, Set Presence, Ask Room About
 * Selection. They go to the server through Ctx, so they answer clearly while it is down.
 */
import * as vscode from 'vscode';
import { defaultRoomId, roomIdPattern, roomLimits, type CodeAttachment, type PresenceState } from '../../protocol/rooms';
import { JoinRoomRequest, LeaveRoomRequest, ListRoomsRequest, SendMessageRequest, SetPresenceRequest } from '../../protocol/roomsRpc';
import type { ChatPanel } from './chatPanel';
import type { Ctx } from './ctx';

export function registerRoomCommands(ctx: Ctx, chat: ChatPanel, onPresenceChosen: (presence: PresenceState) => void): vscode.Disposable[] {
  const run = (title: string, action: () => Promise<void>) => async () => {
    try {
      await action();
    } catch (error) {
      void vscode.window.showWarningMessage(`${title}: ${(error as Error).message}`);
    }
  };
  return [
    vscode.commands.registerCommand('personaMesh.joinRoom', run('Join Room', () => joinRoom(ctx, chat))),
    vscode.commands.registerCommand('personaMesh.leaveRoom', run('Leave Room', () => leaveRoom(ctx, chat))),
    vscode.commands.registerCommand('personaMesh.setPresence', run('Set Presence', async () => {
      const presence = await setPresence(ctx);
      if (presence) onPresenceChosen(presence);
    })),
    vscode.commands.registerCommand('personaMesh.askRoomAboutSelection', run('Ask Room About Selection', () => askRoomAboutSelection(ctx, chat))),
  ];
}

async function joinRoom(ctx: Ctx, chat: ChatPanel): Promise<void> {
  const rooms = await ctx.sendRequest(ListRoomsRequest.type);
  const quickPick = vscode.window.createQuickPick<vscode.QuickPickItem & { roomId: string }>();
  quickPick.title = 'Persona Mesh: Join Room';
  quickPick.placeholder = 'Pick a room on the mesh, or type a new room name';
  const known = rooms.filter((room) => !room.joined).map((room) => ({ label: room.name, description: `${room.participants.length} here · ${room.messageCount} messages`, roomId: room.id }));
  quickPick.items = known;
  quickPick.onDidChangeValue((value) => {
    const id = value.trim().toLowerCase();
    const exists = rooms.some((room) => room.id === id);
    quickPick.items = id && !exists ? [...known, { label: `$(add) Create "${id}"`, description: roomIdPattern.test(id) ? '' : 'letters, digits, - and _ only', roomId: id }] : known;
  });
  const picked = await new Promise<string | undefined>((resolve) => {
    quickPick.onDidAccept(() => resolve(quickPick.selectedItems[0]?.roomId));
    quickPick.onDidHide(() => resolve(undefined));
    quickPick.show();
  });
  quickPick.dispose();
  if (!picked) return;
  if (!roomIdPattern.test(picked)) throw new Error(`"${picked}" is not a room name: use 1-64 lower-case letters, digits, - and _`);
  const room = await ctx.sendRequest(JoinRoomRequest.type, { roomId: picked });
  chat.show(room.id);
}

async function leaveRoom(ctx: Ctx, chat: ChatPanel): Promise<void> {
  const joined = (await ctx.sendRequest(ListRoomsRequest.type)).filter((room) => room.joined);
  if (joined.length === 0) {
    void vscode.window.showInformationMessage('You are in no room.');
    return;
  }
  const current = chat.currentRoomId;
  const items = joined.map((room) => ({ label: room.name, description: room.id === current ? 'current' : '', roomId: room.id }));
  const picked = await vscode.window.showQuickPick(items, { title: 'Persona Mesh: Leave Room', placeHolder: 'The history stays on this machine' });
  if (!picked) return;
  await ctx.sendRequest(LeaveRoomRequest.type, { roomId: picked.roomId });
}

const presenceChoices: { presence: PresenceState; label: string }[] = [
  { presence: 'online', label: '$(circle-filled) Online' },
  { presence: 'away', label: '$(clock) Away' },
  { presence: 'busy', label: '$(circle-slash) Busy' },
  { presence: 'collaborating', label: '$(live-share) Collaborating' },
  { presence: 'offline', label: '$(circle-outline) Appear offline' },
];

/** Resolves with the presence that was set, if one was. */
async function setPresence(ctx: Ctx): Promise<PresenceState | undefined> {
  const picked = await vscode.window.showQuickPick(presenceChoices, { title: 'Persona Mesh: Set Presence' });
  if (!picked) return undefined;
  const statusText = await vscode.window.showInputBox({ title: 'Persona Mesh: Set Presence', prompt: 'Optional status text (Enter to skip)', placeHolder: 'reviewing the parser' });
  if (statusText === undefined) return undefined;
  await ctx.sendRequest(SetPresenceRequest.type, { presence: picked.presence, ...(statusText.trim() ? { statusText: statusText.trim() } : {}) });
  return picked.presence;
}

/** Posts the selection as a code attachment with an optional question, then opens the room. */
async function askRoomAboutSelection(ctx: Ctx, chat: ChatPanel): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.selection.isEmpty) {
    void vscode.window.showInformationMessage('Select some code first, then run "Ask Room About Selection".');
    return;
  }
  const attachment = selectionAttachment(editor);
  if (Buffer.byteLength(attachment.content) > roomLimits.maxAttachmentBytes) {
    throw new Error(`the selection is ${(Buffer.byteLength(attachment.content) / 1024).toFixed(1)} KiB; a room accepts up to ${roomLimits.maxAttachmentBytes / 1024} KiB: select less`);
  }
  const question = await vscode.window.showInputBox({
    title: `Ask the room about ${attachment.path}:${attachment.startLine}-${attachment.endLine}`,
    prompt: 'Your question (optional)',
    placeHolder: 'Why does this loop never end?',
  });
  if (question === undefined) return;
  const roomId = chat.currentRoomId ?? defaultRoomId;
  await ctx.sendRequest(SendMessageRequest.type, { roomId, text: question.trim(), attachment });
  chat.show(roomId);
}

export function selectionAttachment(editor: vscode.TextEditor): CodeAttachment {
  const { document, selection } = editor;
  // A selection ending at column 0 of a line does not include that line.
  const endLine = selection.end.character === 0 && selection.end.line > selection.start.line ? selection.end.line - 1 : selection.end.line;
  const path = vscode.workspace.asRelativePath(document.uri, false).replace(/\\/g, '/');
  return { path, language: document.languageId, startLine: selection.start.line + 1, endLine: endLine + 1, content: document.getText(selection) };
}
