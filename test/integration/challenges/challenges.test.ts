/**
 * Challenges across real processes (`persona-mesh node --jsonl`, server/out/cli.js from `npm run
 * build`) on loopback: three nodes hosting personas with real brains (the librarian over the
 * fixture workspace, and the llama brain on a tiny generated GGUF model for a participant and the
 * AI judge), a person judging through stdin (as the chat panel does through the LSP request).
 * A challenge runs to a ranking; a participant's node killed mid-challenge forfeits; the
 * coordinator killed mid-challenge leads to a cancellation on every other node; the ratings after
 * a challenge equal the Elo computed here by hand with the K and initial rating of scores.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Leaderboard } from '../../../protocol/academy';
import { challengeCriteria, type ChallengeSpec, type ChallengeView, type JudgeRef } from '../../../protocol/challenges';
import type { PersonaSummary } from '../../../protocol/personas';
import { writeTinyFixture } from '../../fixtures/gguf/writer';
import { until } from '../../support/until';
import { CliProcess, cliPath } from '../cli/support';

const group = '239.255.77.77';
const meshKey = 'challenge tests mesh key';
const workspace = join(__dirname, '../../fixtures/personas/workspace');
let nextPort = 36000 + Math.floor(Math.random() * 5000);

/** `until`, with what the nodes said added when it times out. */
async function waitUntil<T>(what: string, probe: () => T | undefined, timeoutMs: number, diagnostics: () => string = () => ''): Promise<T> {
  try {
    return await until(what, probe, timeoutMs);
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith('timed out'))) throw error;
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${diagnostics()}`, { cause: error });
  }
}

/** The newest state of a challenge a node printed. */
function latest(cli: CliProcess, id: string): ChallengeView | undefined {
  let view: ChallengeView | undefined;
  for (const event of cli.events) {
    if (event.event !== 'challenge') continue;
    const challenge = event.challenge as ChallengeView;
    if (challenge.id === id && (!view || challenge.version >= view.version)) view = challenge;
  }
  return view;
}

function llamaPersona(id: string, seed: number, extra = ''): string {
  return `---\nid: ${id}\nname: ${id}\nbrain:\n  provider: llama\n  model: ./tiny.gguf\n  threads: 1\n  seed: ${seed}\n  temperature: 0.8\n  maxTokens: 40\n  contextSize: 4096\n${extra}---\nYou are ${id}. Be brief.\n`;
}

describe('challenges across three node processes (librarian and tiny llama brains)', function () {
  this.timeout(120_000);
  let dir = '';
  const running: CliProcess[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pm-challenges-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    for (const cli of running.splice(0)) {
      cli.kill();
      await cli.exited;
    }
  });

  /** A personas folder with the tiny model beside the persona files. */
  function personasFolder(name: string, files: Record<string, string>): string {
    const folder = join(dir, `${name}-personas`);
    mkdirSync(folder, { recursive: true });
    writeTinyFixture(folder, { contextLength: 4096 });
    for (const [id, text] of Object.entries(files)) writeFileSync(join(folder, `${id}.persona.md`), text);
    return folder;
  }

  function start(name: string, port: number, options: { personas?: string; workspace?: string; timeoutMs?: number } = {}): CliProcess {
    const args = ['node', '--name', name, '--data-dir', join(dir, `${name}-${port}`), '--jsonl', '--listen', '127.0.0.1:0', '--interface', '127.0.0.1', '--multicast', `${group}:${port}`, '--interval-ms', '300', '--room', 'arena'];
    if (options.personas) args.push('--personas', options.personas);
    if (options.workspace) args.push('--workspace', options.workspace);
    if (options.timeoutMs) args.push('--challenge-timeout-ms', String(options.timeoutMs));
    const cli = new CliProcess(args, { PERSONA_MESH_KEY: meshKey });
    running.push(cli);
    return cli;
  }

  /** A workspace of C's own, so its librarian answers from other documents than A's. */
  function otherWorkspace(): string {
    const folder = join(dir, `gamma-workspace-${nextPort}`);
    mkdirSync(join(folder, '.mesh/personas'), { recursive: true });
    mkdirSync(join(folder, 'docs'), { recursive: true });
    writeFileSync(join(folder, '.mesh/personas/librarian.persona.md'), readFileSync(join(workspace, '.mesh/personas/librarian.persona.md')));
    writeFileSync(join(folder, 'docs/retry.md'), '# Retry\n\nA client should retry a failed request with exponential backoff and jitter, and give up after a few attempts.\n');
    return folder;
  }

  /** Three nodes: A (coordinator, the person judging, a librarian), B (tiny llama), C (librarian and the llama critic). */
  async function threeNodes(timeoutMs?: number) {
    nextPort += 7;
    const a = start('alpha', nextPort, { workspace });
    const b = start('beta', nextPort, { personas: personasFolder(`beta-${nextPort}`, { tiny: llamaPersona('tiny', 42) }), ...(timeoutMs ? { timeoutMs } : {}) });
    const c = start('gamma', nextPort, { workspace: otherWorkspace(), personas: personasFolder(`gamma-${nextPort}`, { critic: llamaPersona('critic', 7) }), ...(timeoutMs ? { timeoutMs } : {}) });
    const ids = await Promise.all([a, b, c].map(async (cli) => String((await cli.waitFor('ready', 30_000)).nodeId)));
    const [ida, idb, idc] = ids as [string, string, string];
    // A full mesh: every node has a session to both others.
    for (const [cli, others] of [
      [a, [idb, idc]],
      [b, [ida, idc]],
      [c, [ida, idb]],
    ] as const) {
      await waitUntil('sessions to both peers', () => (others.every((id) => cli.events.some((e) => e.event === 'peer.up' && e.nodeId === id)) ? true : undefined), 30_000, () => cli.stderr.slice(-2000));
    }
    // Wait until A sees every persona of the mesh (announcements travel after the sessions are up).
    const wanted = [`${ida}/librarian`, `${idb}/tiny`, `${idc}/librarian`, `${idc}/critic`];
    const personas = await waitUntil(
      'every persona on the mesh',
      () => {
        a.send({ op: 'personas' });
        const list = [...a.events].reverse().find((e) => e.event === 'personas')?.personas as PersonaSummary[] | undefined;
        return list && wanted.every((key) => list.some((p) => `${p.nodeId}/${p.id}` === key)) ? list : undefined;
      },
      30_000,
      () => a.stderr.slice(-3000),
    );
    const ref = (nodeId: string, id: string) => {
      const p = personas.find((x) => x.nodeId === nodeId && x.id === id)!;
      return { nodeId, personaId: p.id, name: p.name };
    };
    return { a, b, c, ida, idb, idc, ref };
  }

  function startChallenge(cli: CliProcess, spec: ChallengeSpec): Promise<ChallengeView> {
    const id = `start-${Math.random()}`;
    cli.send({ op: 'challenge.start', spec, id });
    return waitUntil(
      'challenge.started',
      () => {
        const error = cli.events.find((e) => e.event === 'error' && e.ref === id);
        if (error) throw new Error(String(error.reason));
        return cli.events.find((e) => e.event === 'challenge.started' && e.ref === id)?.challenge as ChallengeView | undefined;
      },
      10_000,
    );
  }

  const weights = { technical: 0.4, collaborative: 0.1, innovative: 0.2, reliable: 0.3 };

  function baseSpec(participants: ChallengeSpec['participants'], judges: JudgeRef[], fields: Partial<ChallengeSpec> = {}): ChallengeSpec {
    return { title: 'Retry with backoff', description: 'How should a client retry a failed request?', type: 'technical', difficulty: 'easy', roomId: 'arena', timeLimitMs: 60_000, judgingMs: 60_000, participants, judges, weights, ...fields };
  }

  /** The person on A scores answer i (in label order) 9, 5, 1, … on every criterion. */
  function judgeAsPerson(a: CliProcess, view: ChallengeView): void {
    const scores = Object.fromEntries(view.answers!.map((answer, i) => [answer.label, Object.fromEntries(challengeCriteria.map((c) => [c, Math.max(0, 9 - 4 * i)]))]));
    a.send({ op: 'challenge.score', challengeId: view.id, scores });
  }

  it('runs a challenge to a ranking revealed on every node; the ratings equal the Elo computed by hand; DPO pairs are exported', async () => {
    const { a, b, c, ida, idb, idc, ref } = await threeNodes();
    const participants = [ref(ida, 'librarian'), ref(idb, 'tiny'), ref(idc, 'librarian')];
    const judges: JudgeRef[] = [
      { kind: 'human', nodeId: ida, participantId: 'user', name: 'alpha' },
      { kind: 'persona', nodeId: idc, participantId: 'critic', name: 'critic' },
    ];
    const started = await startChallenge(a, baseSpec(participants, judges));
    const judging = await waitUntil('judging on A', () => (latest(a, started.id)?.state === 'judging' ? latest(a, started.id) : undefined), 60_000, () => a.stderr.slice(-3000));
    assert.equal(judging.answers!.length, 3, `forfeits: ${JSON.stringify(judging.forfeits)}`);
    // Blind: what judges get names nobody next to an answer.
    assert.deepEqual(judging.answers!.map((x) => Object.keys(x).sort()), [['label', 'text'], ['label', 'text'], ['label', 'text']]);
    judgeAsPerson(a, judging);

    const revealed = await Promise.all(
      [a, b, c].map((cli) => waitUntil('the reveal', () => (latest(cli, started.id)?.state === 'revealed' ? latest(cli, started.id) : undefined), 60_000, () => `${a.stderr.slice(-2000)}\n${c.stderr.slice(-2000)}`)),
    );
    const view = revealed[0]!;
    for (const other of revealed) assert.deepEqual(other.results, view.results);
    // Both judges scored (the critic through the JSON-schema grammar of the llama brain).
    assert.deepEqual(view.scores!.map((s) => s.judge.participantId).sort(), ['critic', 'user']);
    // The totals are the weighted means of the two cards, by hand.
    for (const result of view.results!) {
      const byHand = challengeCriteria.reduce((sum, c) => sum + weights[c] * (view.scores!.reduce((s, card) => s + card.scores[result.label!]![c], 0) / view.scores!.length), 0);
      assert.ok(Math.abs(result.total! - byHand) < 1e-6, `${result.persona.name}: ${result.total} vs ${byHand}`);
    }
    const ranked = [...view.results!].sort((x, y) => y.total! - x.total!);
    assert.deepEqual(view.results!.map((r) => r.total), ranked.map((r) => r.total));
    // The reveal is posted in the room with names, and reaches B as a room message.
    const reveal = await waitUntil('the reveal message on B', () => b.events.find((e) => e.event === 'message' && String(e.text).startsWith('🏆 Results of **Retry with backoff**')), 20_000);
    for (const result of view.results!) assert.ok(String(reveal.text).includes(result.persona.name));

    // Elo by hand: K = 32, 1000 at start, pairs played in ranking order (1st–2nd, 1st–3rd, 2nd–3rd).
    const key = (r: (typeof ranked)[number]) => `${r.persona.nodeId}/${r.persona.personaId}`;
    const elo = new Map(ranked.map((r) => [key(r), 1000]));
    for (let i = 0; i < ranked.length; i++) {
      for (let j = i + 1; j < ranked.length; j++) {
        const [x, y] = [ranked[i]!, ranked[j]!];
        const score = x.rank === y.rank ? 0.5 : 1;
        const ex = 1 / (1 + 10 ** ((elo.get(key(y))! - elo.get(key(x))!) / 400));
        elo.set(key(x), elo.get(key(x))! + 32 * (score - ex));
        elo.set(key(y), elo.get(key(y))! - 32 * (score - ex));
      }
    }
    // On B, from the signals A signed and the mesh carried.
    const board = await waitUntil(
      'the leaderboard on B',
      () => {
        b.send({ op: 'leaderboard' });
        const last = [...b.events].reverse().find((e) => e.event === 'leaderboard')?.leaderboard as Leaderboard | undefined;
        return last && last.personas.filter((p) => p.games === 2).length === 3 ? last : undefined;
      },
      20_000,
    );
    for (const [persona, rating] of elo) assert.ok(Math.abs(board.personas.find((p) => p.key === persona)!.elo - rating) < 1e-9, `${persona}: ${board.personas.find((p) => p.key === persona)!.elo} vs ${rating}`);

    // DPO pairs from C's database: the winner's answer chosen over each loser's, for the same task.
    const out = join(dir, 'dpo.jsonl');
    const exported = spawnSync(process.execPath, [cliPath, 'export', '--format', 'dpo', '--data-dir', String(c.events.find((e) => e.event === 'ready')!.dataDir), '--out', out], { encoding: 'utf8' });
    assert.equal(exported.status, 0, exported.stderr);
    const pairs = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { prompt: string; chosen: string; rejected: string });
    const prompt = 'Challenge (technical, easy): Retry with backoff\n\nHow should a client retry a failed request?';
    const expected = ranked.flatMap((x, i) => ranked.slice(i + 1).filter((y) => x.rank < y.rank).map((y) => ({ prompt, chosen: x.text, rejected: y.text })));
    assert.deepEqual(pairs, expected);
  });

  it('a participant whose node is killed mid-challenge forfeits with the reason', async () => {
    const { a, b, c, ida, idb, idc, ref } = await threeNodes();
    const participants = [ref(ida, 'librarian'), ref(idb, 'tiny'), ref(idc, 'librarian')];
    const started = await startChallenge(a, baseSpec(participants, [{ kind: 'human', nodeId: ida, participantId: 'user', name: 'alpha' }]));
    const judging = await waitUntil('judging on A', () => (latest(a, started.id)?.state === 'judging' ? latest(a, started.id) : undefined), 60_000);
    b.kill('SIGKILL');
    await b.exited;
    await waitUntil('the forfeit on A', () => latest(a, started.id)?.forfeits[`${idb}/tiny`], 20_000);
    judgeAsPerson(a, judging);
    const view = await waitUntil('the reveal on C', () => (latest(c, started.id)?.state === 'revealed' ? latest(c, started.id) : undefined), 30_000);
    const tiny = view.results!.find((r) => r.persona.personaId === 'tiny')!;
    assert.match(tiny.forfeit!, /left the challenge: its node left the mesh/);
    assert.equal(tiny.rank, 3);
    assert.deepEqual(view.results!.slice(0, 2).map((r) => r.forfeit), [undefined, undefined]);
  });

  it('the coordinator killed mid-challenge leads to a cancellation with the reason on every other node', async () => {
    const { a, b, c, ida, idb, idc, ref } = await threeNodes(2000);
    const participants = [ref(idb, 'tiny'), ref(idc, 'librarian')];
    const started = await startChallenge(a, baseSpec(participants, [{ kind: 'human', nodeId: ida, participantId: 'user', name: 'alpha' }]));
    for (const cli of [b, c]) await waitUntil('the challenge on a participant', () => latest(cli, started.id), 20_000);
    a.kill('SIGKILL');
    await a.exited;
    for (const cli of [b, c]) {
      const view = await waitUntil('the cancellation', () => (latest(cli, started.id)?.state === 'cancelled' ? latest(cli, started.id) : undefined), 20_000, () => cli.stderr.slice(-2000));
      assert.match(view.cancelReason!, /the coordinator left the mesh: nothing heard from it for 2 s/);
    }
  });
});
