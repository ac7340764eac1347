/**
 * The composition root of a mesh node: data dir, identity, database, and (when a mesh key is
 * set) the network. Both entry points use it: the IPC server under VS Code and the headless CLI.
 *
 * A node without a usable database or mesh key still starts, in state `degraded`, with a problem
 * that says what to do: under VS Code a crash-and-restart loop would help nobody.
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { version } from '../../../package.json';
import type { NodeProblem, NodeState, NodeStatus } from '../protocol/status';
import { StoreError } from '../store/errors';
import { Store } from '../store/database';
import { prepareDataDir } from './dataDir';
import { displayNodeId, loadOrCreateIdentity, type Identity } from './identity';
import { ComponentStartError, Lifecycle, describeError } from './lifecycle';
import type { Logger } from './log';
import { MeshKeyError, parseMeshKey, type MeshKey } from './meshKey';

export interface MeshNodeOptions {
  dataDir: string;
  meshKey: string;
  name?: string;
  logger: Logger;
}

export interface MeshNodeEvents {
  status: [NodeStatus];
}

export class MeshNode extends EventEmitter<MeshNodeEvents> {
  readonly name: string;
  private state: NodeState = 'starting';
  private problems: NodeProblem[] = [];
  private dataDir: string;
  private identityValue: Identity | undefined;
  private meshKeyValue: MeshKey | undefined;
  private storeValue: Store | undefined;
  private readonly lifecycle = new Lifecycle();
  private readonly startedAt = Date.now();

  constructor(private readonly options: MeshNodeOptions) {
    super();
    this.name = options.name?.trim() || hostname();
    this.dataDir = options.dataDir;
  }

  get identity(): Identity {
    if (!this.identityValue) throw new Error('the node has not started');
    return this.identityValue;
  }

  get store(): Store | undefined {
    return this.storeValue;
  }

  get meshKey(): MeshKey | undefined {
    return this.meshKeyValue;
  }

  /** Throws only when the node cannot exist at all (no usable data dir or identity). */
  async start(): Promise<void> {
    const log = this.options.logger;
    let created: boolean;
    try {
      this.dataDir = prepareDataDir(this.options.dataDir);
      const loaded = loadOrCreateIdentity(this.dataDir);
      this.identityValue = loaded.identity;
      created = loaded.created;
    } catch (error) {
      // Thrown to the caller, who reports it: recorded here only for status requests.
      this.problems.push({ code: (error as { code?: string }).code ?? 'identity-unusable', message: describeError(error) });
      this.setState('degraded');
      throw error;
    }
    const identity = this.identityValue;
    log.info(`${created ? 'created' : 'loaded'} identity ${displayNodeId(identity.nodeId)} in ${this.dataDir}`);

    const store = new Store(this.dataDir, log.child('store'));
    try {
      await this.lifecycle.startComponent(store);
      this.storeValue = store;
      recordStart(store, this.name);
    } catch (error) {
      const reason = error instanceof ComponentStartError && error.reason instanceof StoreError ? error.reason : new StoreError('database-error', describeError(error));
      this.addProblem({ code: reason.code, message: reason.message });
    }

    this.applyMeshKey(this.options.meshKey);
    this.setState(this.problems.length > 0 ? 'degraded' : 'running');
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.setState('stopping');
    const errors = await this.lifecycle.stop();
    for (const error of errors) this.options.logger.error(error.message);
    this.setState('stopped');
  }

  /** Applies a new mesh key at run time (the user ran Set Mesh Key). */
  setMeshKey(text: string): NodeStatus {
    this.problems = this.problems.filter((p) => !p.code.startsWith('mesh-key'));
    this.applyMeshKey(text);
    this.setState(this.problems.length > 0 ? 'degraded' : 'running');
    return this.status();
  }

  status(): NodeStatus {
    const nodeId = this.identityValue?.nodeId ?? '';
    return {
      state: this.state,
      nodeId,
      nodeIdDisplay: nodeId ? displayNodeId(nodeId) : '',
      name: this.name,
      version,
      dataDir: this.dataDir,
      meshKeySet: this.meshKeyValue !== undefined,
      peers: 0,
      startedAt: this.startedAt,
      pid: process.pid,
      problems: [...this.problems],
    };
  }

  private applyMeshKey(text: string): void {
    try {
      this.meshKeyValue = parseMeshKey(text);
      this.options.logger.info(`mesh key set (fingerprint ${this.meshKeyValue.fingerprint})`);
    } catch (error) {
      this.meshKeyValue = undefined;
      if (!(error instanceof MeshKeyError)) throw error;
      this.addProblem({ code: error.code, message: error.message });
    }
  }

  private addProblem(problem: NodeProblem): void {
    this.problems.push(problem);
    this.options.logger.error(problem.message);
  }

  private setState(state: NodeState): void {
    if (this.state === state && state !== 'running' && state !== 'degraded') return;
    this.state = state;
    this.emit('status', this.status());
  }
}

/** Counts starts in node_meta: cheap, and it shows a write survived an unclean stop. */
function recordStart(store: Store, name: string): void {
  const upsert = store.db.prepare('INSERT INTO node_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  store.db.transaction(() => {
    const row = store.db.prepare("SELECT value FROM node_meta WHERE key = 'start_count'").get() as { value: string } | undefined;
    upsert.run('start_count', String(Number(row?.value ?? 0) + 1));
    upsert.run('name', name);
  })();
}
