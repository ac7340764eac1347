/**
 * Code review on the server: the extension ↔ server methods of protocol/review.ts, and the remote
 * command `review.run` by which the node hosting a persona runs its brain for a peer.
 *
 *   registerReviewHandlers(connection, async () => reviewNodeOf(await startedNode))
 *   registerReviewRemoteMethod(network, () => node.personas?.participation)
 */
import { randomBytes } from 'node:crypto';
import type { Disposable } from 'vscode-languageserver';
import { describeError } from '../kernel/lifecycle';
import type { Logger } from '../kernel/log';
import { requestHandlers, type HandlerConnection } from '../kernel/requestHandlers';
import type { PersonaRef, RecordSignalInput, Signal } from '../../../protocol/academy';
import {
  ReviewFeedbackRequest,
  ReviewOutcomeRequest,
  ReviewRequest,
  reviewLimits,
  reviewParams,
  reviewRemoteMethod,
  type RemoteReviewParams,
  type ReviewInput,
  type ReviewOutput,
  type ReviewParams,
  type ReviewResult,
} from '../../../protocol/review';
import { ServiceError } from '../../../protocol/errors';
import { parseReview } from './parse';
import { checkReviewInput, reviewWith, type ReviewBrains } from './reviewer';
import { feedbackSignal, outcomeSignal } from './signals';

/** What review needs of the node. */
export interface ReviewNode {
  nodeId: string;
  /** Local personas' brains. */
  brains?: ReviewBrains;
  /** Display name of a persona known on the mesh (`nodeId/personaId`). */
  personaName(key: string): string | undefined;
  /** Where review signals are recorded (the Academy fits). */
  academy?: { record(input: RecordSignalInput): Signal };
  /** A remote command to a peer (absent without a network). */
  call?(nodeId: string, method: string, params: unknown, options: { timeoutMs: number }): Promise<unknown>;
}

export type ReviewNodeSource = () => ReviewNode | undefined | Promise<ReviewNode | undefined>;

/** Reviews this node runs for peers at once: a model is slow, and peers must not queue it up without bound. */
export const maxRemoteReviews = 2;

export function registerReviewRemoteMethod(mesh: { registerMethod(name: string, handler: (params: unknown) => unknown): void; allowMethods(nodeId: string, methods: readonly string[]): void }, brains: () => ReviewBrains | undefined): void {
  let running = 0;
  mesh.registerMethod(reviewRemoteMethod, async (params: unknown): Promise<ReviewOutput> => {
    const personaId = (params as Partial<RemoteReviewParams> | null)?.personaId;
    if (typeof personaId !== 'string') throw new Error('personaId is missing');
    const local = brains();
    if (!local) throw new Error('personas are not available on this node');
    if (running >= maxRemoteReviews) throw new Error(`the node is busy with ${running} reviews for peers; try again in a moment`);
    running++;
    try {
      return await reviewWith(local, personaId, checkReviewInput(params));
    } catch (error) {
      throw new Error(describeError(error), { cause: error });
    } finally {
      running--;
    }
  });
  // Every node of the mesh (they hold the mesh key) may ask this node's personas for a review.
  mesh.allowMethods('*', [reviewRemoteMethod]);
}

/** A peer's answer is untrusted: comments are checked again against the input. */
function checkRemoteOutput(value: unknown, input: ReviewParams): ReviewOutput {
  const output = value as Partial<ReviewOutput> | null;
  if (typeof output !== 'object' || output === null || !Array.isArray(output.comments)) throw new ServiceError('unavailable', 'the persona\'s node sent no review comments');
  const parsed = parseReview(JSON.stringify({ comments: output.comments }), input);
  const dropped = Array.isArray(output.dropped) ? output.dropped.filter((d): d is string => typeof d === 'string').slice(0, 50) : [];
  return { comments: parsed.comments, attempts: typeof output.attempts === 'number' ? output.attempts : 1, dropped: [...dropped, ...parsed.dropped] };
}

/** Runs a review the extension asked for; `params` passed reviewParams.run. */
export async function runReview(node: ReviewNode, params: ReviewParams, signal?: AbortSignal): Promise<ReviewResult> {
  const key = params.persona;
  const slash = key.indexOf('/');
  const nodeId = key.slice(0, slash);
  const personaId = key.slice(slash + 1);
  // What the persona sees has \n line ends, whichever node runs it (as checkReviewInput gives a peer's input).
  const input: ReviewInput = { path: params.path, language: params.language, code: params.code.replace(/\r\n/g, '\n'), firstLine: params.firstLine };
  const persona: PersonaRef = { nodeId, personaId, name: node.personaName(key) ?? personaId };
  let output: ReviewOutput;
  if (nodeId === node.nodeId) {
    if (!node.brains) throw new ServiceError('unavailable', 'personas are not available on this node');
    output = await reviewWith(node.brains, personaId, input, signal);
  } else {
    if (!node.call) throw new ServiceError('unavailable', `${persona.name} is hosted by another node, and this node is not on a mesh (set the mesh key)`);
    const remote: RemoteReviewParams = { ...input, personaId };
    let answer: unknown;
    try {
      answer = await node.call(nodeId, reviewRemoteMethod, remote, { timeoutMs: reviewLimits.remoteTimeoutMs });
    } catch (error) {
      throw new ServiceError('unavailable', `${persona.name}'s node could not review: ${describeError(error)}`);
    }
    output = checkRemoteOutput(answer, { ...input, persona: key });
  }
  return { ...output, reviewId: randomBytes(9).toString('base64url'), persona };
}

export function registerReviewHandlers(connection: HandlerConnection, source: ReviewNodeSource, logger?: Logger): Disposable {
  const record = (node: ReviewNode, input: RecordSignalInput): Signal => {
    if (!node.academy) throw new ServiceError('unavailable', 'the academy is not available on this node (see Persona Mesh: Show Status)');
    return node.academy.record(input);
  };
  const handlers = requestHandlers(connection, {
    scope: 'review',
    service: source,
    unavailable: 'review is not available: the mesh node has not started (see Persona Mesh: Show Status)',
    ...(logger ? { logger } : {}),
  });
  handlers.request(ReviewRequest.type, reviewParams.run, async (node, params, token) => {
    // A cancelled request ($/cancelRequest) stops the brain.
    const controller = new AbortController();
    const subscription = token.onCancellationRequested(() => controller.abort());
    try {
      return await runReview(node, params, controller.signal);
    } finally {
      subscription.dispose();
    }
  });
  // feedbackSignal and outcomeSignal add the rules across fields (an edited outcome carries the edit).
  handlers.request(ReviewFeedbackRequest.type, reviewParams.feedback, (node, params) => record(node, feedbackSignal(params)));
  handlers.request(ReviewOutcomeRequest.type, reviewParams.outcome, (node, params) => record(node, outcomeSignal(params)));
  return { dispose: () => handlers.dispose() };
}
