/**
 * stdin ops of `persona-mesh node` for challenges and the academy (scripts and multi-process tests
 * drive a headless node with them), and the `challenge` events it prints:
 *
 *   {"op":"personas"}                                  → {"event":"personas","personas":[PersonaSummary]}
 *   {"op":"challenge.start","spec":ChallengeSpec,"id"} → {"event":"challenge.started","ref","challenge"} | error
 *   {"op":"challenge.score","challengeId","scores"}    → {"event":"challenge.scored","challengeId"} | error
 *   {"op":"challenges"}                                → {"event":"challenges","challenges":[ChallengeView]}
 *   {"op":"leaderboard"}                               → {"event":"leaderboard","leaderboard":Leaderboard}
 *
 * Every change of a challenge this node holds prints {"event":"challenge","challenge":ChallengeView}.
 */
import type { MeshNode } from '../node/meshNode';
import type { ChallengeSpec, SubmitScoresParams } from '../../../protocol/challenges';
import type { CliOutput } from './output';

export const challengeOpNames = ['personas', 'challenge.start', 'challenge.score', 'challenges', 'leaderboard'] as const;

export function isChallengeOp(op: unknown): boolean {
  return (challengeOpNames as readonly unknown[]).includes(op);
}

export function reportChallenges(node: MeshNode, output: CliOutput): void {
  node.challenges?.on('changed', (challenge) => output.event({ event: 'challenge', challenge }));
}

export function runChallengeOp(node: MeshNode, command: { op?: unknown } & Record<string, unknown>, output: CliOutput): void {
  const ref = command.id ?? null;
  try {
    switch (command.op) {
      case 'personas':
        output.event({ event: 'personas', personas: node.personas?.directory.all() ?? [] });
        return;
      case 'challenges':
        output.event({ event: 'challenges', challenges: require(node.challenges, 'challenges').list() });
        return;
      case 'leaderboard':
        output.event({ event: 'leaderboard', leaderboard: require(node.academy, 'the academy').leaderboard() });
        return;
      case 'challenge.start': {
        const challenge = require(node.challenges, 'challenges').create(command.spec as ChallengeSpec);
        output.event({ event: 'challenge.started', ref, challenge });
        return;
      }
      case 'challenge.score': {
        require(node.challenges, 'challenges').submitScores({ challengeId: command.challengeId, scores: command.scores } as SubmitScoresParams);
        output.event({ event: 'challenge.scored', ref, challengeId: command.challengeId });
        return;
      }
    }
  } catch (error) {
    output.event({ event: 'error', ref, reason: `${String(command.op)}: ${(error as Error).message}` });
  }
}

function require<T>(value: T | undefined, what: string): T {
  if (!value) throw new Error(`${what} are not available (see the error logged at start)`);
  return value;
}
