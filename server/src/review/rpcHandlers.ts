/**
 * Code review on the server: the extension ↔ server methods of protocol/review.ts, and the remote
 * command `review.run` by which the node hosting a persona runs its brain for a peer.
 *
 *   registerReviewHandlers(connection, async () => reviewNodeOf(await startedNode))
 *   registerReviewRemoteMethod(network, () => node.personas?.participation)
 */
import { randomBytes } from 'node:crypto';
import type { CancellationToken, Connection, Disposable } from 'vscode-languageserver';
import type { Academy } from '../academy/academy';
import { describeError } from '../kernel/lifecycle';
import type { Logger } from '../kernel/log';
import type { PersonaRef, Signal } from '../../../protocol/academy';
import {
  ReviewFeedbackRequest,
  ReviewOutcomeRequest,
  ReviewRequest,
  reviewLimits,
  reviewRemoteMethod,
  type RemoteReviewParams,
  type ReviewOutput,
  type ReviewParams,
  type ReviewResult,
} from '../../../protocol/review';
import { ServiceError } from '../../../protocol/errors';
import { toResponseError } from '../kernel/responseError';
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
  academy?: Pick<Academy, 'record'>;
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

export async function runReview(node: ReviewNode, value: unknown, signal?: AbortSignal): Promise<ReviewResult> {
  if (typeof value !== 'object' || value === null) throw new ServiceError('invalid', 'the review has no parameters');
  const key = (value as Partial<ReviewParams>).persona;
  const slash = typeof key === 'string' ? key.indexOf('/') : -1;
  if (typeof key !== 'string' || slash <= 0 || slash === key.length - 1 || key.length > 300) throw new ServiceError('invalid', 'persona must be a persona key (nodeId/personaId)');
  const nodeId = key.slice(0, slash);
  const personaId = key.slice(slash + 1);
  const input = checkReviewInput(value);
  const persona: PersonaRef = { nodeId, personaId, name: node.personaName(key) ?? personaId };
  let output: ReviewOutput;
  if (nodeId === node.nodeId) {
    if (!node.brains) throw new ServiceError('unavailable', 'personas are not available on this node');
    output = await reviewWith(node.brains, personaId, input, signal);
  } else {
    if (!node.call) throw new ServiceError('unavailable', `${persona.name} is hosted by another node, and this node is not on a mesh (set the mesh key)`);
    const params: RemoteReviewParams = { ...input, personaId };
    let answer: unknown;
    try {
      answer = await node.call(nodeId, reviewRemoteMethod, params, { timeoutMs: reviewLimits.remoteTimeoutMs });
    } catch (error) {
      throw new ServiceError('unavailable', `${persona.name}'s node could not review: ${describeError(error)}`);
    }
    output = checkRemoteOutput(answer, { ...input, persona: key });
  }
  return { ...output, reviewId: randomBytes(9).toString('base64url'), persona };
}

export function registerReviewHandlers(connection: Pick<Connection, 'onRequest'>, source: ReviewNodeSource, logger?: Logger): Disposable {
  const resolve = async (): Promise<ReviewNode> => {
    const node = await source();
    if (!node) throw new ServiceError('unavailable', 'review is not available: the mesh node has not started (see Persona Mesh: Show Status)');
    return node;
  };
  const record = (node: ReviewNode, input: Parameters<Academy['record']>[0]): Signal => {
    if (!node.academy) throw new ServiceError('unavailable', 'the academy is not available on this node (see Persona Mesh: Show Status)');
    return node.academy.record(input);
  };
  const guard = <R>(run: () => Promise<R> | R): Promise<R> =>
    Promise.resolve()
      .then(run)
      .catch((error: unknown) => {
        if (!(error instanceof ServiceError)) logger?.error(`review request failed: ${describeError(error)}`);
        throw toResponseError(error, 'review');
      });
  const disposables: Disposable[] = [
    connection.onRequest(ReviewRequest.type, (params: ReviewParams, token: CancellationToken) =>
      guard(async () => {
        const controller = new AbortController();
        const subscription = token.onCancellationRequested(() => controller.abort());
        try {
          return await runReview(await resolve(), params, controller.signal);
        } finally {
          subscription.dispose();
        }
      }),
    ),
    connection.onRequest(ReviewFeedbackRequest.type, (params) => guard(async () => record(await resolve(), feedbackSignal(params)))),
    connection.onRequest(ReviewOutcomeRequest.type, (params) => guard(async () => record(await resolve(), outcomeSignal(params)))),
  ];
  return { dispose: () => disposables.forEach((d) => d.dispose()) };
}
