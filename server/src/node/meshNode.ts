/**
 * The composition root of a mesh node: data dir, identity, database, and (when a mesh key is
 * set) the network. Both entry points use it: the IPC server under VS Code and the headless CLI.
 *
 * A node without a usable database or mesh key still starts, in state `degraded`, with a problem
 * that says what to do: under VS Code a crash-and-restart loop would help nobody.
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { version } from '../../../package.json';
import { scaledInboundLimits } from '../net/inboundLimits';
import { MeshNetwork } from '../net/meshNetwork';
import { clusterLabel } from '../net/overlay/clusters';
import { Academy } from '../academy/academy';
import { Evolution, type EvolutionOptions } from '../academy/evolution';
import type { EvolutionPolicy } from '../../../protocol/evolution';
import { roomLimits } from '../../../protocol/rooms';
import { mentions } from '../personas/mentions';
import { ModelDownloads } from '../personas/modelDownloads';
import { ChallengeService } from '../challenges/service';
import { GenomeApplier } from '../genomes/apply';
import { genomeMarket } from './genomeMarket';
import { GenomeService } from '../genomes/service';
import { disabledPersonasIn } from '../personas/disabledPersonas';
import { PersonaService, type PersonaServiceOptions } from '../personas/service';
import { NetworkMeshPort } from './networkPort';
import { registerRoomRemoteMethods } from '../rooms/remoteMethods';
import { registerReviewRemoteMethod } from '../review/rpcHandlers';
import { identityAuthenticator } from '../rooms/signing';
import { Rooms } from '../rooms/rooms';
import { SwitchableMeshPort } from '../kernel/switchablePort';
import { clockSkewProblem, duplicateIdentityProblem, type NetworkSettings, type NodeProblem, type NodeRole, type NodeState, type NodeStatus, type PeerSummary } from '../../../protocol/status';
import { StoreError } from '../store/errors';
import { Store } from '../store/database';
import { readNodeMeta, writeNodeMeta } from '../store/nodeMeta';
import { systemClock, type Clock } from '../kernel/clock';
import { prepareDataDir } from './dataDir';
import { makePrivateTree } from '../kernel/privateFiles';
import { claimDataDir } from './dataDirClaim';
import { displayNodeId, identityFileName, loadOrCreateIdentity, moveIdentityAside, shortNodeId, type Identity } from '../kernel/identity';
import { NetworkHost } from './networkHost';
import { overlaySummary, peerSummaries } from './status';
import { ComponentStartError, Lifecycle, describeError, type Component } from '../kernel/lifecycle';
import type { Logger } from '../kernel/log';
import { MeshKeyError, parseMeshKey, type MeshKey } from '../kernel/meshKey';

export interface MeshNodeOptions {
  dataDir: string;
  /**
   * Under VS Code, where every window runs a node on the same global storage: when the data dir
   * is in use, the node takes the first free `window-2` … `window-N` folder inside it (its own
   * identity). Default 1: a data dir in use is an error.
   */
  dataDirSlots?: number;
  /**
   * What this node belongs to (the VS Code window's workspace). A data dir held by a node of the
   * same owner is this window's previous node, still stopping after a reload: it is waited for
   * (up to `dataDirWaitMs`, default 3 s) rather than left for a window folder and its other identity.
   */
  dataDirOwner?: string;
  dataDirWaitMs?: number;
  meshKey: string;
  name?: string;
  logger: Logger;
  /** Folders whose `.mesh/personas/` holds persona files, and extra persona folders (the CLI's --personas). */
  personaFolders?: { workspaceFolders: string[]; extraFolders: string[] };
  /** A node without VS Code: `vscode-lm` personas are degraded. */
  headless?: boolean;
  /** Under VS Code: the editor's language models, for `vscode-lm` personas. */
  languageModels?: PersonaServiceOptions['languageModels'];
  /** How long nodes taking part wait for a departed challenge coordinator before cancelling. Default 30 s. */
  challengeCoordinatorTimeoutMs?: number;
  /** Under VS Code: API keys of `openai` personas, from the editor's SecretStorage. */
  apiKey?: PersonaServiceOptions['apiKey'];
  /** How to join the mesh; without it the node stays local (no sockets). */
  network?: NetworkSettings;
  /** Evolution policy (default: `ask` under VS Code, `off` headless) and how to ask the user. */
  evolution?: { policy?: EvolutionPolicy; ask?: EvolutionOptions['ask'] };
  /** Where `hf:` models of llama personas go (default: `models/` in the data dir) and a Hugging Face mirror. */
  models?: { folder?: string; huggingFaceEndpoint?: string };
  clock?: Clock;
  /** Genome exchange limits (settings personaMesh.genomes.*, CLI --genome-*). */
  genomes?: { maxGenomeBytes?: number; maxBytesPerSecond?: number };
  /**
   * Messages per participant per minute this node sends and stores (default 60; the CLI's
   * --max-messages-per-minute, for bots and load tests). Every other limit scales with it.
   */
  maxMessagesPerMinute?: number;
  /** Sessions kept at least and accepted at most (CLI --sessions, --role hub); default 6-12, role node. */
  overlay?: { activeTarget: number; activeMax: number; role?: NodeRole };
}

export interface MeshNodeEvents {
  status: [NodeStatus];
  'peer.up': [{ nodeId: string; name: string; addr: string }];
  'peer.down': [{ nodeId: string; reason: string }];
  /** Another node runs on this identity and started earlier: this one left the mesh for good (until restarted). */
  'identity.duplicate': [NodeProblem];
}

export class MeshNode extends EventEmitter<MeshNodeEvents> {
  private nameValue: string;
  private state: NodeState = 'starting';
  private problems: NodeProblem[] = [];
  private dataDir: string;
  /** The data dir asked for; `dataDir` may be a window folder inside it. */
  private baseDataDir: string;
  private identityValue: Identity | undefined;
  private meshKeyValue: MeshKey | undefined;
  private storeValue: Store | undefined;
  private networkHost: NetworkHost | undefined;
  private roomsValue: Rooms | undefined;
  private transport: SwitchableMeshPort | undefined;
  private personasValue: PersonaService | undefined;
  private academyValue: Academy | undefined;
  private modelDownloadsValue: ModelDownloads | undefined;
  private evolutionValue: Evolution | undefined;
  private challengesValue: ChallengeService | undefined;
  private genomesValue: GenomeService | undefined;
  private applierValue: GenomeApplier | undefined;
  private readonly lifecycle = new Lifecycle();
  private readonly clock: Clock;
  private readonly startedAt = Date.now();
  /** Set once the mesh refused this node as a later copy of another: its network stays off. */
  private refusedAsDuplicate = false;

  constructor(private readonly options: MeshNodeOptions) {
    super();
    this.nameValue = options.name?.trim() || hostname();
    this.clock = options.clock ?? systemClock;
    this.dataDir = options.dataDir;
    this.baseDataDir = options.dataDir;
  }

  get name(): string {
    return this.nameValue;
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

  /** Rooms, once the database is open (they work offline and sync when the network comes). */
  get rooms(): Rooms | undefined {
    return this.roomsValue;
  }

  /** Training signals, scores and export, once rooms are up. */
  get academy(): Academy | undefined {
    return this.academyValue;
  }

  /** Genomes held here and exchanged with peers, once the database is open. */
  get genomes(): GenomeService | undefined {
    return this.genomesValue;
  }

  /** Applies genomes to the personas hosted here, once genomes and personas are up. */
  get genomeApplier(): GenomeApplier | undefined {
    return this.applierValue;
  }

  /** Personas hosted here and seen on the mesh, once rooms are up. */
  get personas(): PersonaService | undefined {
    return this.personasValue;
  }

  /** Evolution of the personas hosted here, once the academy and personas are up. */
  get evolution(): Evolution | undefined {
    return this.evolutionValue;
  }

  /** The `hf:` model downloads of llama personas, once personas are up. */
  get modelDownloads(): ModelDownloads | undefined {
    return this.modelDownloadsValue;
  }

  /** Challenges coordinated here or taken part in, once personas are up. */
  get challenges(): ChallengeService | undefined {
    return this.challengesValue;
  }

  /** The running network, once a mesh key is set and the sockets are up. */
  get network(): MeshNetwork | undefined {
    return this.networkHost?.network;
  }

  /** Throws only when the node cannot exist at all (no usable data dir or identity). */
  async start(): Promise<void> {
    const log = this.options.logger;
    let created: boolean;
    try {
      this.baseDataDir = prepareDataDir(this.options.dataDir, this.options.logger);
      const claimed = await claimDataDir(this.baseDataDir, {
        slots: this.options.dataDirSlots ?? 1,
        ...(this.options.dataDirOwner !== undefined ? { owner: this.options.dataDirOwner } : {}),
        waitMs: this.options.dataDirWaitMs ?? 3000,
        lifecycle: this.lifecycle,
        clock: this.clock,
        logger: this.options.logger,
      });
      this.dataDir = claimed.dir;
      if (claimed.slot > 1) {
        if (!this.options.name?.trim()) this.nameValue = `${hostname()}-${claimed.slot}`;
        this.options.logger.info(`${this.baseDataDir} is in use by another node (another VS Code window): this one runs in ${claimed.dir} as "${this.name}"`);
      }
      const loaded = loadOrCreateIdentity(this.dataDir, this.options.logger);
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

    const database = new Store(this.dataDir, log.child('store'));
    try {
      await this.lifecycle.startComponent(database);
      this.storeValue = database;
      recordStart(database, this.name);
    } catch (error) {
      const reason = error instanceof ComponentStartError && error.reason instanceof StoreError ? error.reason : new StoreError('database-error', describeError(error));
      this.addProblem({ code: reason.code, message: reason.message });
    }
    // The services in order, each built from those before it. One that cannot start is a problem
    // of the node (shown in its status), not its end: the rest start without it.
    const store = this.storeValue;
    if (!store) return this.finishStart();
    const transport = new SwitchableMeshPort(identity.nodeId);
    const rooms = await this.startService(this.buildRooms(store, identity, transport), 'rooms-unavailable', 'the rooms could not start');
    if (!rooms) return this.finishStart();
    this.roomsValue = rooms;
    this.transport = transport;
    const academy = await this.startService(this.buildAcademy(store, identity, rooms, transport), 'academy-unavailable', 'the academy could not start');
    this.academyValue = academy;
    this.genomesValue = await this.startService(this.buildGenomes(store, identity, transport), 'genomes-unavailable', 'the genome store could not start');
    const personas = await this.startService(this.buildPersonas(rooms, transport), 'personas-unavailable', 'the personas could not start');
    this.personasValue = personas;
    if (academy && personas) this.evolutionValue = await this.startService(this.buildEvolution(store, identity, rooms, transport, academy, personas), 'evolution-unavailable', 'evolution could not start');
    if (personas) this.challengesValue = await this.startService(this.buildChallenges(store, personas, transport), 'challenges-unavailable', 'challenges could not start');
    await this.finishStart();
  }

  /** The mesh key and the network, then the state: they start also when the services could not (a node others still reach). */
  private async finishStart(): Promise<void> {
    this.applyMeshKey(this.options.meshKey);
    await this.startNetwork();
    this.updateState();
  }

  /** Starts one service; a failure becomes the node's problem `code` and leaves the service out. */
  private async startService<T extends Component>(service: T, code: string, failure: string): Promise<T | undefined> {
    try {
      await this.lifecycle.startComponent(service);
      return service;
    } catch (error) {
      this.addProblem({ code, message: `${failure}: ${describeError(error)}` });
      return undefined;
    }
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.setState('stopping');
    await this.stopNetwork();
    const errors = await this.lifecycle.stop();
    for (const error of errors) this.options.logger.error(error.message);
    this.setState('stopped');
  }

  status(): NodeStatus {
    const nodeId = this.identityValue?.nodeId ?? '';
    const overlay = overlaySummary(this.network, this.options.overlay?.role ?? 'node');
    return {
      state: this.state,
      nodeId,
      nodeIdDisplay: nodeId ? displayNodeId(nodeId) : '',
      name: this.name,
      version,
      dataDir: this.dataDir,
      meshKeySet: this.meshKeyValue !== undefined,
      peers: this.network?.upPeers().length ?? 0,
      ...(overlay ? { overlay } : {}),
      ...(this.network ? { listen: this.network.listenAddress } : {}),
      startedAt: this.startedAt,
      pid: process.pid,
      problems: [...this.problems],
    };
  }

  /**
   * Moves this node's identity key aside (kept as a .bak file) so that its next start creates a new
   * identity: the way out for a copy of another node's data folder. Returns where the key went.
   */
  moveIdentityAside(): string {
    const aside = moveIdentityAside(this.dataDir, this.clock.now());
    this.options.logger.info(`moved the identity key aside to ${aside}: the next start creates a new identity`);
    return aside;
  }

  peers(): PeerSummary[] {
    return peerSummaries(this.network, () => this.roomsValue?.humanNames());
  }

  private buildRooms(store: Store, identity: Identity, transport: SwitchableMeshPort): Rooms {
    // Signed events: a member of the mesh cannot pass off events as another node's through sync.
    return new Rooms({
      store,
      transport,
      displayName: this.name,
      clock: this.clock,
      logger: this.options.logger,
      authenticator: identityAuthenticator(identity),
      ...(this.options.maxMessagesPerMinute ? { maxMessagesPerMinute: this.options.maxMessagesPerMinute } : {}),
    });
  }

  private buildAcademy(store: Store, identity: Identity, rooms: Rooms, transport: SwitchableMeshPort): Academy {
    return new Academy({ store, transport, identity, rooms, clock: this.clock, logger: this.options.logger });
  }

  private buildGenomes(store: Store, identity: Identity, transport: SwitchableMeshPort): GenomeService {
    return new GenomeService({ dataDir: this.dataDir, store, identity, transport, clock: this.clock, logger: this.options.logger.child('genomes'), ...this.options.genomes });
  }

  private genomeHooks(genomes: GenomeService): NonNullable<PersonaServiceOptions['genomes']> {
    const applier = new GenomeApplier(genomes, this.options.logger.child('genomes'));
    this.applierValue = applier;
    // A genome downloaded or deleted changes the personas that list it: rebuild them.
    genomes.on('changed', () => void this.personasValue?.registry.reload().catch((error: Error) => this.options.logger.warn(`reloading personas after a genome change: ${error.message}`)));
    return { adopt: (persona) => applier.adopt(persona), llamaAdapters: (persona) => applier.adapters(persona) };
  }

  private buildPersonas(rooms: Rooms, transport: SwitchableMeshPort): PersonaService {
    const models = this.options.models;
    // Shared by the window folders: a model is downloaded once per machine.
    const ownModels = join(this.baseDataDir, 'models');
    // Private like the rest of the data dir; the user's --models-dir stays as they keep it.
    if (!models?.folder) makePrivateTree(ownModels, this.options.logger.child('models'));
    const downloads = new ModelDownloads({
      folder: models?.folder ?? ownModels,
      ...(models?.huggingFaceEndpoint ? { huggingFaceEndpoint: models.huggingFaceEndpoint } : {}),
      clock: this.clock,
      logger: this.options.logger.child('models'),
    });
    this.modelDownloadsValue = downloads;
    return new PersonaService({
      llamaModels: downloads.llamaModels(),
      rooms,
      transport,
      workspaceFolders: this.options.personaFolders?.workspaceFolders ?? [],
      extraFolders: this.options.personaFolders?.extraFolders ?? [],
      headless: this.options.headless ?? false,
      ...(this.options.languageModels ? { languageModels: this.options.languageModels } : {}),
      ...(this.options.apiKey ? { apiKey: this.options.apiKey } : {}),
      ...(this.genomesValue ? { genomes: this.genomeHooks(this.genomesValue) } : {}),
      ...(this.storeValue ? { disabled: disabledPersonasIn(this.storeValue, this.options.logger.child('personas')) } : {}),
      clock: this.clock,
      logger: this.options.logger,
    });
  }

  private buildEvolution(store: Store, identity: Identity, rooms: Rooms, transport: SwitchableMeshPort, academy: Academy, personas: PersonaService): Evolution {
    return new Evolution({
      store,
      nodeId: identity.nodeId,
      transport,
      academy: { on: (e, l) => academy.on(e, l), off: (e, l) => academy.off(e, l), signalsOf: (key) => academy.store.query({ personaKey: key }) },
      rooms: { on: (e, l) => rooms.on(e, l), off: (e, l) => rooms.off(e, l), joinedRooms: () => rooms.list().filter((r) => r.joined).map((r) => r.id), send: (p, as) => rooms.send(p, as) },
      personas: () =>
        personas.registry
          .list()
          .filter((entry) => entry.state !== 'disabled' && !entry.problems.some((p) => p.severity === 'error'))
          .map(({ persona }) => ({ id: persona.id, name: persona.name, capabilities: persona.capabilities, genomes: persona.genomes, rooms: Object.keys(persona.rooms) })),
      addressedTo: (message, personaId) => mentions(message, identity.nodeId, personaId),
      knownCapabilities: () => personas.directory.capabilityNames(),
      setEvolving: (personaId, text) => personas.participation.setEvolving(personaId, text),
      market: () => (this.genomesValue && this.applierValue ? genomeMarket(this.genomesValue, this.applierValue, () => this.personasValue) : undefined),
      ...(this.options.evolution?.ask ? { ask: this.options.evolution.ask } : {}),
      policy: this.options.evolution?.policy ?? (this.options.headless ? 'off' : 'ask'),
      clock: this.clock,
      logger: this.options.logger.child('evolution'),
    });
  }

  private buildChallenges(store: Store, personas: PersonaService, transport: SwitchableMeshPort): ChallengeService {
    return new ChallengeService({
      store,
      transport,
      prompt: (personaId, prompt, options) => personas.prompt(personaId, prompt, options),
      localPersonas: () => personas.localPersonaIds(),
      knownPersonas: () => personas.directory.all(),
      ...(this.roomsValue ? { rooms: this.roomsValue } : {}),
      academy: () => this.academyValue,
      ...(this.options.challengeCoordinatorTimeoutMs !== undefined ? { coordinatorTimeoutMs: this.options.challengeCoordinatorTimeoutMs } : {}),
      clock: this.clock,
      logger: this.options.logger,
    });
  }

  private async startNetwork(): Promise<void> {
    const settings = this.options.network;
    if (!settings || !this.meshKeyValue || !this.identityValue || this.refusedAsDuplicate) return;
    this.networkHost ??= this.createNetworkHost(this.identityValue, settings);
    await this.networkHost.start(settings, this.meshKeyValue);
  }

  private createNetworkHost(identity: Identity, settings: NetworkSettings): NetworkHost {
    return new NetworkHost({
      identity,
      name: () => this.name,
      startedAt: this.startedAt,
      tuning: () => {
        const cluster = clusterLabel(settings.cluster);
        return {
          ...(this.options.maxMessagesPerMinute ? { inboundLimits: scaledInboundLimits(this.options.maxMessagesPerMinute / roomLimits.maxMessagesPerMinute) } : {}),
          ...(this.options.overlay || cluster !== undefined ? { overlay: { ...this.options.overlay, ...(cluster !== undefined ? { cluster } : {}) } } : {}),
        };
      },
      clock: this.clock,
      logger: this.options.logger,
      onStarting: () => this.clearProblems('network'),
      onUp: (network) => this.networkUp(network),
      onDown: () => this.transport?.detach(),
      onDuplicate: (report) => void this.leaveAsDuplicate(report),
      onProblem: (problem) => this.addProblem(problem),
      onMoved: () => this.updateState(),
      halting: () => this.halting(),
    });
  }

  /** Wires a network that just started: status, the services' mesh port, the remote methods. */
  private networkUp(network: MeshNetwork): void {
    network.on('peer.up', (peer) => {
      this.emit('peer.up', peer);
      this.emitStatus();
    });
    network.on('peer.down', (peer) => {
      this.emit('peer.down', peer);
      this.emitStatus();
    });
    network.on('peer.clock', ({ nodeId, name, offsetMs, skewed }) => {
      const code = `${clockSkewProblem}:${nodeId}`;
      this.problems = this.problems.filter((problem) => problem.code !== code);
      if (skewed) {
        const seconds = Math.round(Math.abs(offsetMs) / 1000);
        this.problems.push({
          code,
          message: `The clock of ${name || displayNodeId(nodeId)} is ${seconds} s ${offsetMs > 0 ? 'ahead of' : 'behind'} this machine's: set both machines to network time (messages stay in the right order, but their times look wrong).`,
        });
      }
      this.updateState();
    });
    this.transport?.attach(new NetworkMeshPort(network));
    if (this.roomsValue) registerRoomRemoteMethods(network, this.roomsValue);
    registerReviewRemoteMethod(network, () => this.personasValue?.participation);
  }

  /** The mesh refused this node: another node runs on its identity and started earlier. */
  private async leaveAsDuplicate({ running, reportedBy }: { running: string; reportedBy: string }): Promise<void> {
    if (this.refusedAsDuplicate || this.halting()) return;
    this.refusedAsDuplicate = true;
    const identity = this.identity;
    this.options.logger.info(reportedBy === identity.nodeId ? 'the other instance of this node said so itself' : `peer ${shortNodeId(reportedBy)} holds a session with the other instance and refused this one`);
    const remedy = this.options.headless
      ? `start it with another --data-dir, or move ${identityFileName} out of ${this.dataDir} to give it a new identity (a new node id)`
      : `create a new identity for this window's node (its node id changes; the old key is kept as a .bak file)`;
    const problem = {
      code: duplicateIdentityProblem,
      message: `this data folder (${this.dataDir}) is a copy of a running node's (${shortNodeId(identity.nodeId)}, at ${running}): two nodes cannot share one identity, so this one left the mesh. To run both, ${remedy}`,
    };
    this.addProblem(problem);
    await this.stopNetwork();
    this.updateState();
    this.emit('identity.duplicate', problem);
  }

  private halting(): boolean {
    return this.state === 'stopping' || this.state === 'stopped';
  }

  private async stopNetwork(): Promise<void> {
    await this.networkHost?.stop();
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

  private clearProblems(codePrefix: string): void {
    this.problems = this.problems.filter((p) => !p.code.startsWith(codePrefix));
  }

  private updateState(): void {
    this.setState(this.problems.length > 0 ? 'degraded' : 'running');
  }

  private setState(state: NodeState): void {
    this.state = state;
    this.emitStatus();
  }

  private emitStatus(): void {
    this.emit('status', this.status());
  }
}

/** Counts starts in node_meta: cheap, and it shows a write survived an unclean stop. */
function recordStart(store: Store, name: string): void {
  store.db.transaction(() => {
    writeNodeMeta(store.db, 'start_count', String(Number(readNodeMeta(store.db, 'start_count') ?? 0) + 1));
    writeNodeMeta(store.db, 'name', name);
  })();
}
