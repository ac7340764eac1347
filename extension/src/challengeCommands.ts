/**
 * Start Challenge (a multi-step quick input) and Challenge History. Both answer with a clear
 * message while the server is down (Ctx.sendRequest throws a ServerNotRunningError that says so).
 */
import * as vscode from 'vscode';
import type { PersonaRef } from '../../server/src/protocol/academy';
import { challengeDifficulties, challengeTypes, ListChallengesRequest, StartChallengeRequest, type ChallengeSpec, type ChallengeType, type JudgeRef } from '../../server/src/protocol/challenges';
import { PeersRequest } from '../../server/src/protocol/extension';
import { ListPersonasRequest, type PersonaSummary } from '../../server/src/protocol/personas';
import { defaultRoomId } from '../../server/src/protocol/rooms';
import { defaultWeights, historyMarkdown, parseSeconds, parseWeights, weightsText } from './challenge/format';
import type { ChatPanel } from './chatPanel';
import type { Ctx } from './ctx';

const steps = 8;
const title = (step: number) => `Persona Mesh: Start Challenge (${step}/${steps})`;

const typeDescriptions: Record<ChallengeType, string> = {
  technical: 'correctness and depth',
  collaborative: 'working with others, clear communication',
  creative: 'original ideas',
  speed: 'a good answer, fast',
};

export function registerChallengeCommands(ctx: Ctx, chat: ChatPanel): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('personaMesh.startChallenge', () => startChallenge(ctx, chat)),
    vscode.commands.registerCommand('personaMesh.challengeHistory', () => challengeHistory(ctx)),
  ];
}

function fail(what: string, error: unknown): undefined {
  void vscode.window.showWarningMessage(`${what}: ${(error as Error).message}`);
  return undefined;
}

/** The parts of a challenge the person chooses; undefined when they cancel a step. */
async function askSpec(ctx: Ctx, roomId: string): Promise<ChallengeSpec | undefined> {
  let personas: PersonaSummary[];
  let peers: { nodeId: string; name: string }[];
  try {
    personas = (await ctx.sendRequest(ListPersonasRequest.type)).filter((p) => p.state !== 'disabled');
    peers = (await ctx.sendRequest(PeersRequest.type)).filter((p) => p.state === 'up');
  } catch (error) {
    return fail('Start Challenge', error);
  }
  if (personas.length < 2) {
    void vscode.window.showInformationMessage('Start Challenge: a challenge needs at least two personas on the mesh (see the Personas view).');
    return undefined;
  }
  const editor = vscode.window.activeTextEditor;
  const selection = editor && !editor.selection.isEmpty ? editor.document.getText(editor.selection) : '';
  const firstLine = selection.split(/\r?\n/).find((line) => line.trim())?.trim().slice(0, 200) ?? '';

  const name = await vscode.window.showInputBox({ title: title(1), prompt: 'Title of the challenge', value: firstLine, ignoreFocusOut: true, validateInput: (v) => (v.trim() ? undefined : 'A title, please') });
  if (name === undefined) return undefined;
  const typed = await vscode.window.showInputBox({
    title: title(2),
    prompt: selection ? 'What should the personas do? (the selected text is attached below it)' : 'What should the personas do?',
    value: selection ? 'Improve this.' : '',
    ignoreFocusOut: true,
  });
  if (typed === undefined) return undefined;
  const language = editor?.document.languageId ?? '';
  const description = selection ? `${typed.trim()}\n\n\`\`\`${language}\n${selection}\n\`\`\``.slice(0, 8000) : typed.trim();
  const type = await vscode.window.showQuickPick(
    challengeTypes.map((t) => ({ label: t, description: typeDescriptions[t] })),
    { title: title(3), placeHolder: 'Type of challenge', ignoreFocusOut: true },
  );
  if (!type) return undefined;
  const difficulty = await vscode.window.showQuickPick(challengeDifficulties.map((d) => ({ label: d })), { title: title(4), placeHolder: 'Difficulty', ignoreFocusOut: true });
  if (!difficulty) return undefined;
  const seconds = await vscode.window.showInputBox({
    title: title(5),
    prompt: 'Time limit for the answers, in seconds',
    value: type.label === 'speed' ? '30' : '120',
    ignoreFocusOut: true,
    validateInput: (v) => {
      const parsed = parseSeconds(v);
      return typeof parsed === 'string' ? parsed : undefined;
    },
  });
  if (seconds === undefined) return undefined;
  const participants = await pickMany(
    personas.map((p) => ({ label: p.name, description: `${p.id} · ${p.provider}${p.local ? ' · this node' : ''}`, picked: true, value: { nodeId: p.nodeId, personaId: p.id, name: p.name } satisfies PersonaRef })),
    title(6),
    'Participants (at least two)',
    2,
  );
  if (!participants) return undefined;
  const self = ctx.status;
  const taken = new Set(participants.map((p) => `${p.nodeId}/${p.personaId}`));
  const judgeItems: (vscode.QuickPickItem & { value: JudgeRef })[] = [
    ...(self ? [{ label: `You (${self.name})`, description: 'person', picked: true, value: { kind: 'human' as const, nodeId: self.nodeId, participantId: 'user', name: self.name } }] : []),
    ...peers.map((p) => ({ label: p.name, description: 'person on the mesh', picked: false, value: { kind: 'human' as const, nodeId: p.nodeId, participantId: 'user', name: p.name } })),
    ...personas
      .filter((p) => !taken.has(`${p.nodeId}/${p.id}`))
      .map((p) => ({ label: p.name, description: `AI judge · ${p.provider}`, picked: false, value: { kind: 'persona' as const, nodeId: p.nodeId, participantId: p.id, name: p.name } })),
  ];
  const judges = await pickMany(judgeItems, title(7), 'Judges: people on the mesh and AI judge personas', 1);
  if (!judges) return undefined;
  const weightsInput = await vscode.window.showInputBox({
    title: title(8),
    prompt: 'Criteria weights: technical collaborative innovative reliable (they must sum to 1)',
    value: weightsText(defaultWeights[type.label]),
    ignoreFocusOut: true,
    validateInput: (v) => {
      const parsed = parseWeights(v);
      return typeof parsed === 'string' ? parsed : undefined;
    },
  });
  if (weightsInput === undefined) return undefined;
  const weights = parseWeights(weightsInput);
  if (typeof weights === 'string') return undefined;
  const timeLimitMs = (parseSeconds(seconds) as number) * 1000;
  return {
    title: name.trim(),
    description,
    type: type.label,
    difficulty: difficulty.label,
    roomId,
    timeLimitMs,
    // People need longer than the personas: at least five minutes to read and score.
    judgingMs: Math.min(3_600_000, Math.max(300_000, 2 * timeLimitMs)),
    participants,
    judges,
    weights,
  };
}

/** A multi-select that asks again until at least `min` items are picked. */
async function pickMany<T>(items: (vscode.QuickPickItem & { value: T })[], stepTitle: string, placeHolder: string, min: number): Promise<T[] | undefined> {
  for (;;) {
    const picked = await vscode.window.showQuickPick(items, { title: stepTitle, placeHolder, canPickMany: true, ignoreFocusOut: true });
    if (!picked) return undefined;
    if (picked.length >= min) return picked.map((item) => item.value);
    void vscode.window.showWarningMessage(`Pick at least ${min}.`);
    for (const item of items) item.picked = picked.includes(item);
  }
}

async function startChallenge(ctx: Ctx, chat: ChatPanel): Promise<void> {
  const roomId = chat.currentRoomId ?? defaultRoomId;
  const spec = await askSpec(ctx, roomId);
  if (!spec) return;
  try {
    const view = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Starting challenge "${spec.title}"…` }, () => ctx.sendRequest(StartChallengeRequest.type, spec));
    ctx.log.info(`challenge ${view.id.slice(0, 8)} "${spec.title}" started in #${roomId}`);
    chat.show(roomId);
    void vscode.window.showInformationMessage(`Challenge "${spec.title}" started in #${roomId}: answers are due in ${Math.round(spec.timeLimitMs / 1000)} s.`);
  } catch (error) {
    fail('Start Challenge', error);
  }
}

async function challengeHistory(ctx: Ctx): Promise<void> {
  let list;
  try {
    list = await ctx.sendRequest(ListChallengesRequest.type);
  } catch (error) {
    fail('Challenge History', error);
    return;
  }
  if (list.length === 0) {
    void vscode.window.showInformationMessage('Challenge History: no challenge yet. Run "Persona Mesh: Start Challenge".');
    return;
  }
  const picked = await vscode.window.showQuickPick(
    list.map((view) => ({
      label: view.spec.title,
      description: `${view.state}${view.results?.[0] && view.results[0].forfeit === undefined ? ` · won by ${view.results[0].persona.name}` : ''}`,
      detail: `${new Date(view.createdAt).toLocaleString()} · ${view.spec.participants.length} participants · judges: ${view.spec.judges.map((j) => j.name).join(', ')}`,
      view,
    })),
    { title: 'Persona Mesh: Challenge History', placeHolder: 'A challenge to show with its answers, scores and judges', matchOnDetail: true },
  );
  if (!picked) return;
  const document = await vscode.workspace.openTextDocument({ language: 'markdown', content: historyMarkdown(picked.view) });
  await vscode.window.showTextDocument(document, { preview: true });
}
