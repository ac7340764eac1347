/**
 * Remote commands: JSON-RPC 2.0 (json-rpc-2.0's server and request/response helpers) carried in
 * addressed envelopes, `/remote/{nodeId}/commands/{method}` for requests and
 * `/remote/{caller}/replies` for responses.
 *
 * - Per-peer allow-list: a peer may call only the methods allowed for it (or for everyone,
 *   `'*'`); by default `ping`, `node.info`, `rooms.list`, `personas.list`, `genomes.list`.
 *   Anything else answers the JSON-RPC error {@link rpcNotAllowedCode} "not allowed".
 * - At most once: request ids are remembered (bounded); a repeated request gets the first
 *   answer again without running the method again.
 * - Per-call timeout (injected clock); retries, with the same request id, only for idempotent
 *   methods.
 */
import {
  createJSONRPCErrorResponse,
  createJSONRPCRequest,
  isJSONRPCRequest,
  isJSONRPCResponse,
  JSONRPCErrorCode,
  JSONRPCServer,
  type JSONRPCResponse,
} from 'json-rpc-2.0';
import type { Clock, TimerHandle } from '../kernel/clock';
import type { Logger } from '../kernel/log';
import { defaultAllowedMethods, rpcNotAllowedCode, rpcNotAllowedMessage, topics, type Envelope } from '../../../protocol/mesh';
import { BoundedMap } from './boundedMap';
import type { Counters } from './counters';

export interface CallContext {
  /** Node id of the caller (verified by its session). */
  from: string;
}

export type MethodHandler = (params: unknown, context: CallContext) => unknown;

export interface CallOptions {
  /** Default 5000 ms. */
  timeoutMs?: number;
  /** Retries after a timeout; only used when the method is idempotent. Default 2 for idempotent. */
  retries?: number;
  /** Default: true for the read-only default methods. */
  idempotent?: boolean;
}

export class RemoteCallError extends Error {
  constructor(readonly code: number, message: string, readonly data?: unknown) {
    super(message);
    this.name = 'RemoteCallError';
  }
}

/** Error codes of local failures (no answer). */
export const rpcTimeoutCode = -32010;
export const rpcNoRouteCode = -32011;
export const rpcPeerDownCode = -32012;

export interface RemoteCommandsOptions {
  nodeId: string;
  instance: string;
  clock: Clock;
  logger: Logger;
  counters: Counters;
  /** Sends an addressed envelope; false if there is no route to `to`. */
  send: (to: string, topic: string, body: unknown) => boolean;
  maxRemembered?: number;
}

interface Pending {
  to: string;
  method: string;
  request: ReturnType<typeof createJSONRPCRequest>;
  attemptsLeft: number;
  timeoutMs: number;
  timer?: TimerHandle;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

const readOnlyDefaults = new Set(defaultAllowedMethods);

export class RemoteCommands {
  private readonly server = new JSONRPCServer<CallContext>();
  private readonly allowed = new Map<string, Set<string>>([['*', new Set(defaultAllowedMethods)]]);
  private readonly idempotent = new Set<string>();
  private readonly answered: BoundedMap<string, Promise<JSONRPCResponse | null>>;
  private readonly pending = new Map<string, Pending>();
  private nextId = 0;

  constructor(private readonly options: RemoteCommandsOptions) {
    this.answered = new BoundedMap(options.maxRemembered ?? 4096);
  }

  registerMethod(name: string, handler: MethodHandler, flags: { idempotent?: boolean } = {}): void {
    this.server.addMethod(name, (params: unknown, context: CallContext): unknown => handler(params, context));
    if (flags.idempotent) this.idempotent.add(name);
  }

  /** Allows `methods` for `nodeId` (or `'*'` for every peer), on top of what is allowed. */
  allow(nodeId: string, methods: readonly string[]): void {
    const set = this.allowed.get(nodeId) ?? new Set<string>();
    for (const method of methods) set.add(method);
    this.allowed.set(nodeId, set);
  }

  /** Replaces the allow-list of `nodeId` (or `'*'`). */
  setAllowed(nodeId: string, methods: readonly string[]): void {
    this.allowed.set(nodeId, new Set(methods));
  }

  isAllowed(nodeId: string, method: string): boolean {
    return (this.allowed.get(nodeId)?.has(method) ?? false) || (this.allowed.get('*')?.has(method) ?? false);
  }

  call(to: string, method: string, params: unknown, options: CallOptions = {}): Promise<unknown> {
    const id = `${this.options.instance}-${(++this.nextId).toString(36)}`;
    const idempotent = options.idempotent ?? (readOnlyDefaults.has(method) || this.idempotent.has(method));
    const request = createJSONRPCRequest(id, method, params ?? null);
    return new Promise((resolve, reject) => {
      const pending: Pending = {
        to,
        method,
        request,
        attemptsLeft: 1 + (idempotent ? (options.retries ?? 2) : 0),
        timeoutMs: options.timeoutMs ?? 5000,
        resolve,
        reject,
      };
      this.pending.set(id, pending);
      this.options.counters.add('rpc.calls');
      this.attempt(id, pending);
    });
  }

  private attempt(id: string, pending: Pending): void {
    pending.attemptsLeft--;
    if (!this.options.send(pending.to, topics.remoteCommand(pending.to, pending.method), pending.request)) {
      this.settle(id, new RemoteCallError(rpcNoRouteCode, `no route to node ${pending.to.slice(0, 7)}`));
      return;
    }
    pending.timer = this.options.clock.setTimeout(() => {
      pending.timer = undefined;
      if (pending.attemptsLeft > 0) {
        this.options.counters.add('rpc.retries');
        this.attempt(id, pending);
      } else {
        this.options.counters.add('rpc.timeouts');
        this.settle(id, new RemoteCallError(rpcTimeoutCode, `${pending.method} on ${pending.to.slice(0, 7)} timed out after ${pending.timeoutMs} ms`));
      }
    }, pending.timeoutMs);
  }

  private settle(id: string, outcome: Error | { result: unknown }): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    pending.timer?.cancel();
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome.result);
  }

  /** Handles an addressed `rpc` envelope for this node. Never throws. */
  receive(envelope: Envelope, from: string): void {
    const body = envelope.body;
    if (isJSONRPCRequest(body) && envelope.topic.startsWith(topics.remotePrefix(this.options.nodeId))) {
      this.serve(envelope.origin, body);
      return;
    }
    if (isJSONRPCResponse(body) && typeof body.id === 'string') {
      const pending = this.pending.get(body.id);
      // Only the node we called may answer.
      if (!pending || pending.to !== envelope.origin) {
        this.options.counters.add('rpc.unexpected-response');
        return;
      }
      if (body.error) this.settle(body.id, new RemoteCallError(body.error.code, body.error.message, body.error.data));
      else this.settle(body.id, { result: body.result });
      return;
    }
    this.options.counters.add('rpc.malformed');
    this.options.logger.debug(`malformed rpc envelope from ${from.slice(0, 7)}`);
  }

  private serve(caller: string, request: ReturnType<typeof createJSONRPCRequest>): void {
    const id = request.id;
    if (typeof id !== 'string' && typeof id !== 'number') {
      this.options.counters.add('rpc.malformed');
      return;
    }
    const key = `${caller}/${String(id)}`;
    let answer = this.answered.get(key);
    if (answer) {
      this.options.counters.add('rpc.repeated');
    } else {
      if (!this.isAllowed(caller, request.method)) {
        this.options.counters.add('rpc.not-allowed');
        this.options.logger.info(`refused ${request.method} from ${caller.slice(0, 7)}: not allowed`);
        answer = Promise.resolve(createJSONRPCErrorResponse(id, rpcNotAllowedCode, rpcNotAllowedMessage));
      } else {
        this.options.counters.add('rpc.served');
        answer = Promise.resolve(this.server.receive(request, { from: caller })).catch((error: unknown) =>
          createJSONRPCErrorResponse(id, JSONRPCErrorCode.InternalError, error instanceof Error ? error.message : String(error)),
        );
      }
      this.answered.set(key, answer);
    }
    answer.then(
      (response) => {
        if (response) this.options.send(caller, topics.remoteReply(caller), response);
      },
      () => undefined,
    );
  }

  /** Fails the calls waiting on a peer that went away. */
  peerDown(nodeId: string): void {
    for (const [id, pending] of this.pending) {
      if (pending.to === nodeId) this.settle(id, new RemoteCallError(rpcPeerDownCode, `node ${nodeId.slice(0, 7)} went down`));
    }
  }

  stop(): void {
    for (const id of [...this.pending.keys()]) this.settle(id, new RemoteCallError(rpcPeerDownCode, 'the mesh network stopped'));
  }
}
