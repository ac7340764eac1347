/**
 * Start Challenge (a multi-step quick input) and Challenge History. Both answer with a clear
 * message while the server is down (Ctx.sendRequest throws a ServerNotRunningError that says so).
 */
import * as vscode from 'vscode';
import type { PersonaRef } from '../../protocol/academy';
import { challengeDifficulties, challengeTypes, ListChallengesRequest, StartChallengeRequest, type ChallengeSpec, type ChallengeType, type JudgeRef } from '../../protocol/challenges';
import { PeersRequest } from '../../protocol/extension';
import { ListPersonasRequest, type PersonaSummary } from '../../protocol/personas';
import { defaultRoomId } from '../../protocol/rooms';
import { defaultWeights, historyMarkdown, parseSeconds, parseWeights, weightsText } from './challenge/format';
import type { ChatPanel } from './chatPanel';
import type { Ctx } from './ctx';
import { back, inputStep, pickManyStep, pickStep, runSteps, type StepResult } from './multiStepInput';

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

  const self = ctx.status;
  const language = editor?.document.languageId ?? '';
  type Item<T> = vscode.QuickPickItem & { value: T };
  const typeItems: Item<ChallengeType>[] = challengeTypes.map((t) => ({ label: t, description: typeDescriptions[t], value: t }));
  const difficultyItems: Item<ChallengeSpec['difficulty']>[] = challengeDifficulties.map((d) => ({ label: d, value: d }));
  const participantItems: Item<PersonaRef>[] = personas.map((p) => ({ label: p.name, description: `${p.id} · ${p.provider}${p.local ? ' · this node' : ''}`, value: { nodeId: p.nodeId, personaId: p.id, name: p.name } }));
  // The answers so far: going Back shows each step with what was answered there.
  const answers: {
    name: string;
    task: string;
    type?: Item<ChallengeType>;
    difficulty?: Item<ChallengeSpec['difficulty']>;
    seconds?: string;
    participants: Item<PersonaRef>[];
    judges?: Item<JudgeRef>[];
    weights?: string;
    weightsFor?: ChallengeType;
  } = { name: firstLine, task: selection ? 'Improve this.' : '', participants: participantItems };
  const judgeItems = (): Item<JudgeRef>[] => {
    const taken = new Set(answers.participants.map((p) => `${p.value.nodeId}/${p.value.personaId}`));
    return [
      ...(self ? [{ label: `You (${self.name})`, description: 'person', value: { kind: 'human' as const, nodeId: self.nodeId, participantId: 'user', name: self.name } }] : []),
      ...peers.map((p) => ({ label: p.name, description: 'person on the mesh', value: { kind: 'human' as const, nodeId: p.nodeId, participantId: 'user', name: p.name } })),
      ...personas
        .filter((p) => !taken.has(`${p.nodeId}/${p.id}`))
        .map((p) => ({ label: p.name, description: `AI judge · ${p.provider}`, value: { kind: 'persona' as const, nodeId: p.nodeId, participantId: p.id, name: p.name } })),
    ];
  };
  const key = (judge: JudgeRef) => `${judge.kind}/${judge.nodeId}/${judge.participantId}`;
  const keep = <T>(result: StepResult<T>, save: (value: T) => void): StepResult<T> => {
    if (result !== undefined && result !== back) save(result);
    return result;
  };
  const completed = await runSteps([
    async (canGoBack) =>
      keep(await inputStep({ title: title(1), canGoBack, prompt: 'Title of the challenge', value: answers.name, validate: (v) => (v.trim() ? undefined : 'A title, please') }), (v) => (answers.name = v)),
    async (canGoBack) =>
      keep(
        await inputStep({ title: title(2), canGoBack, prompt: selection ? 'What should the personas do? (the selected text is attached below it)' : 'What should the personas do?', value: answers.task }),
        (v) => (answers.task = v),
      ),
    async (canGoBack) => keep(await pickStep({ title: title(3), canGoBack, placeholder: 'Type of challenge', items: typeItems, ...(answers.type ? { active: answers.type } : {}) }), (v) => (answers.type = v)),
    async (canGoBack) =>
      keep(await pickStep({ title: title(4), canGoBack, placeholder: 'Difficulty', items: difficultyItems, ...(answers.difficulty ? { active: answers.difficulty } : {}) }), (v) => (answers.difficulty = v)),
    async (canGoBack) =>
      keep(
        await inputStep({
          title: title(5),
          canGoBack,
          prompt: 'Time limit for the answers, in seconds',
          value: answers.seconds ?? (answers.type?.value === 'speed' ? '30' : '120'),
          validate: (v) => {
            const parsed = parseSeconds(v);
            return typeof parsed === 'string' ? parsed : undefined;
          },
        }),
        (v) => (answers.seconds = v),
      ),
    async (canGoBack) =>
      keep(await pickManyStep({ title: title(6), canGoBack, placeholder: 'Participants (at least two)', items: participantItems, selected: answers.participants, min: 2 }), (v) => (answers.participants = v)),
    async (canGoBack) => {
      const items = judgeItems();
      // By default the person here judges; after Back, the judges picked before (if still offered).
      const chosen = answers.judges ? new Set(answers.judges.map((j) => key(j.value))) : new Set(self ? [key(items[0]!.value)] : []);
      return keep(await pickManyStep({ title: title(7), canGoBack, placeholder: 'Judges: people on the mesh and AI judge personas', items, selected: items.filter((i) => chosen.has(key(i.value))), min: 1 }), (v) => (answers.judges = v));
    },
    async (canGoBack) => {
      const type = answers.type!.value;
      // The default weights follow the type; what was typed stays if the type did not change.
      const value = answers.weights !== undefined && answers.weightsFor === type ? answers.weights : weightsText(defaultWeights[type]);
      return keep(
        await inputStep({
          title: title(8),
          canGoBack,
          prompt: 'Criteria weights: technical collaborative innovative reliable (they must sum to 1)',
          value,
          validate: (v) => {
            const parsed = parseWeights(v);
            return typeof parsed === 'string' ? parsed : undefined;
          },
        }),
        (v) => {
          answers.weights = v;
          answers.weightsFor = type;
        },
      );
    },
  ]);
  if (!completed) return undefined;
  const weights = parseWeights(answers.weights!);
  const seconds = parseSeconds(answers.seconds!);
  if (typeof weights === 'string' || typeof seconds === 'string') return undefined;
  const description = selection ? `${answers.task.trim()}\n\n\`\`\`${language}\n${selection}\n\`\`\``.slice(0, 8000) : answers.task.trim();
  const timeLimitMs = seconds * 1000;
  return {
    title: answers.name.trim(),
    description,
    type: answers.type!.value,
    difficulty: answers.difficulty!.value,
    roomId,
    timeLimitMs,
    // People need longer than the personas: at least five minutes to read and score.
    judgingMs: Math.min(3_600_000, Math.max(300_000, 2 * timeLimitMs)),
    participants: answers.participants.map((p) => p.value),
    judges: answers.judges!.map((j) => j.value),
    weights,
  };
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
