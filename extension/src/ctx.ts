/**
 * Owns the language client that runs the mesh server (the rust-analyzer `Ctx` pattern). Commands
 * go through here, so they keep answering while the server is down or restarting.
 */
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import {
  CloseAction,
  type NotificationType,
  type RequestType,
  type RequestType0,
  ErrorAction,
  LanguageClient,
  State,
  TransportKind,
  WorkDoneProgress,
  type LanguageClientOptions,
  type ServerOptions,
  type WorkDoneProgressBegin,
  type WorkDoneProgressEnd,
  type WorkDoneProgressParams,
  type WorkDoneProgressReport,
} from 'vscode-languageclient/node';
import { meshKeyEnvVariable } from '../../server/src/kernel/meshKey';
import { LogNotification, SetLogLevelNotification, StatusNotification, StatusRequest, type ServerInitOptions } from '../../protocol/extension';
import type { NodeStatus } from '../../protocol/status';
import type { Log } from './log';
import type { MeshKeyStore } from './meshKeyStore';
import { readNetworkSettings } from './settings';

/**
 * A small young generation (1 MiB semi-spaces): a node holding hundreds of sessions keeps ~35 KiB
 * of RSS per session instead of ~50 (the young generation grown by a burst of handshakes is never
 * given back), and scavenges get shorter, which shows in the tail latency (bench: npm run bench).
 */
const serverNodeFlags = ['--max-semi-space-size=1'];

export type ServerState = 'stopped' | 'starting' | 'running';

/** Restarts allowed within the window before we stop trying and ask the user. */
const maxRestarts = 5;
const restartWindowMs = 3 * 60_000;

export class Ctx implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private lastStatus: NodeStatus | undefined;
  private serverStateValue: ServerState = 'stopped';
  private readonly crashes: number[] = [];
  private readonly statusEmitter = new vscode.EventEmitter<NodeStatus | undefined>();
  private readonly disposables: vscode.Disposable[] = [];
  private clientDisposables: vscode.Disposable[] = [];
  private meshKey = '';
  private readonly requestHandlers: { type: RequestType<unknown, unknown, void>; handler: (params: unknown) => Promise<unknown>; registration: vscode.Disposable | undefined }[] = [];
  private readonly notificationHandlers: { type: NotificationType<unknown>; handler: (params: unknown) => void; registration?: vscode.Disposable }[] = [];

  readonly onDidChangeStatus = this.statusEmitter.event;
  private readonly runningEmitter = new vscode.EventEmitter<void>();
  /** The server (re)started and answers requests: a moment to send it what it needs from the client. */
  readonly onDidStartServer = this.runningEmitter.event;

  constructor(
    private readonly extension: vscode.ExtensionContext,
    readonly log: Log,
    private readonly meshKeys: MeshKeyStore,
  ) {
    this.disposables.push(
      this.statusEmitter,
      this.runningEmitter,
      log.channel.onDidChangeLogLevel(() => {
        if (this.client?.state === State.Running) void this.client.sendNotification(SetLogLevelNotification.type, { level: log.level });
      }),
    );
  }

  get status(): NodeStatus | undefined {
    return this.lastStatus;
  }

  get serverState(): ServerState {
    return this.serverStateValue;
  }

  async start(): Promise<void> {
    if (this.client) return;
    // Starting from the first await on, so commands say "starting" rather than "not running".
    this.serverStateValue = 'starting';
    this.meshKey = await this.meshKeys.get();
    const dataDir = this.extension.globalStorageUri.fsPath;
    // Only its parent: the server creates the data dir itself, private to the user.
    await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(this.extension.globalStorageUri, '..'));

    const module = this.extension.asAbsolutePath('server/out/server.js');
    // The key goes into the server's environment, not the JSON-RPC traffic, which the trace
    // prints. The client reuses these options when it restarts a crashed server, which keeps the
    // key: a changed key makes a new client (see applyMeshKey).
    const env = { [meshKeyEnvVariable]: this.meshKey };
    const serverOptions: ServerOptions = {
      run: { module, transport: TransportKind.ipc, options: { execArgv: serverNodeFlags, env } },
      debug: { module, transport: TransportKind.ipc, options: { execArgv: [...serverNodeFlags, '--nolazy', '--inspect=6011'], env } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ language: 'persona-markdown' }, { scheme: 'file', pattern: '**/*.persona.md' }],
      outputChannel: this.log.channel,
      // A function, so a restart of a crashed server picks up settings changed meanwhile.
      initializationOptions: (): ServerInitOptions => ({
        dataDir,
        nodeName: vscode.workspace.getConfiguration('personaMesh').get<string>('nodeName', ''),
        logLevel: this.log.level,
        network: readNetworkSettings(),
        genomeMaxSizeMB: vscode.workspace.getConfiguration('personaMesh').get<number>('genomes.maxSizeMB', 2048),
        // An empty window has none: it never waits for a predecessor.
        workspaceKey: (vscode.workspace.workspaceFile ?? vscode.workspace.workspaceFolders?.[0]?.uri)?.toString() ?? '',
      }),
      errorHandler: {
        error: () => ({ action: ErrorAction.Continue }),
        closed: () => this.onServerClosed(),
      },
    };
    const client = new LanguageClient('personaMesh', 'Persona Mesh', serverOptions, clientOptions);
    this.client = client;
    this.clientDisposables.push(
      client.onNotification(LogNotification.type, ({ level, scope, message }) => this.log.write(level, `[${scope}] ${message}`)),
      client.onNotification(StatusNotification.type, (status) => this.setStatus(status)),
      ...this.notificationHandlers.map((entry) => (entry.registration = client.onNotification(entry.type, entry.handler))),
      ...this.requestHandlers.map((entry) => (entry.registration = client.onRequest(entry.type, entry.handler))),
      client.onDidChangeState(({ newState }) => {
        if (newState === State.Running) {
          this.serverStateValue = 'running';
          this.runningEmitter.fire();
          void this.refreshStatus();
        } else {
          this.serverStateValue = newState === State.Starting ? 'starting' : 'stopped';
          this.setStatus(undefined);
        }
      }),
    );
    this.serverStateValue = 'starting';
    try {
      await client.start();
    } catch (error) {
      this.log.error(`the mesh server did not start: ${(error as Error).message}`);
      this.serverStateValue = 'stopped';
      this.setStatus(undefined);
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.serverStateValue = 'stopped';
    this.setStatus(undefined);
    for (const disposable of this.clientDisposables.splice(0)) disposable.dispose();
    if (client?.needsStop()) await client.stop(5000).catch((error: unknown) => this.log.warn(`stopping the mesh server: ${(error as Error).message}`));
    await client?.dispose().catch(() => undefined);
  }

  async restart(): Promise<void> {
    this.log.info('restarting the mesh server');
    this.crashes.length = 0;
    await this.stop();
    await this.start();
  }

  /** Resolves once the server runs and has reported a status, or with false after `timeoutMs`. */
  whenRunning(timeoutMs: number): Promise<boolean> {
    if (this.serverStateValue === 'running' && this.lastStatus) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        subscription.dispose();
        resolve(false);
      }, timeoutMs);
      const subscription = this.onDidChangeStatus((status) => {
        if (!status) return;
        clearTimeout(timer);
        subscription.dispose();
        resolve(true);
      });
    });
  }

  /** Asks the server; undefined (never an exception) when it is not running. */
  async refreshStatus(): Promise<NodeStatus | undefined> {
    const client = this.client;
    if (!client || client.state !== State.Running) return undefined;
    try {
      const status = await client.sendRequest(StatusRequest.type);
      this.setStatus(status);
      return status;
    } catch (error) {
      this.log.warn(`mesh/status failed: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** Stores the key; true when the server was restarted with it (else it takes it at its next start). */
  async setMeshKey(key: string): Promise<boolean> {
    this.meshKey = key;
    await this.meshKeys.set(key);
    return this.applyMeshKey();
  }

  /** The secret changed, possibly in another window of this machine: apply it here too. */
  async reloadMeshKey(): Promise<void> {
    const key = await this.meshKeys.get();
    if (key === this.meshKey) return;
    this.meshKey = key;
    await this.applyMeshKey();
  }

  /** The server reads the key only when it starts: one that runs (or is starting) restarts. */
  private async applyMeshKey(): Promise<boolean> {
    if (!this.client || this.serverStateValue === 'stopped') return false;
    this.log.info('the mesh key changed: restarting the mesh server with it');
    await this.restart();
    return true;
  }

  /**
   * Sends a request to the server. Rejects with ServerNotRunningError (a message for the user)
   * while the server is down, instead of hanging until it comes back.
   */
  async sendRequest<P, R>(type: RequestType<P, R, void>, params: P): Promise<R>;
  async sendRequest<R>(type: RequestType0<R, void>): Promise<R>;
  async sendRequest(type: RequestType<unknown, unknown, void> | RequestType0<unknown, void>, params?: unknown): Promise<unknown> {
    const client = this.client;
    if (!client || client.state !== State.Running) throw new ServerNotRunningError(this.serverStateValue);
    return params === undefined ? client.sendRequest(type as RequestType0<unknown, void>) : client.sendRequest(type as RequestType<unknown, unknown, void>, params);
  }

  /**
   * A long request: the server reports its progress as LSP work-done progress on a token made
   * here (`$/progress`, given to `onProgress`), and cancelling `token` cancels the request
   * (`$/cancelRequest`), which stops the work on the server.
   */
  async sendLongRequest<P extends WorkDoneProgressParams, R>(
    type: RequestType<P, R, void>,
    params: Omit<P, 'workDoneToken'>,
    options: { token: vscode.CancellationToken; onProgress: (value: WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd) => void },
  ): Promise<R> {
    const client = this.client;
    if (!client || client.state !== State.Running) throw new ServerNotRunningError(this.serverStateValue);
    const workDoneToken = randomUUID();
    const listening = client.onProgress(WorkDoneProgress.type, workDoneToken, options.onProgress);
    try {
      return await client.sendRequest(type, { ...params, workDoneToken } as P, options.token);
    } finally {
      listening.dispose();
    }
  }

  /** Sends a notification; dropped (it is only a hint, like typing) while the server is down. */
  async sendNotification<P>(type: NotificationType<P>, params: P): Promise<void> {
    const client = this.client;
    if (client?.state === State.Running) await client.sendNotification(type, params);
  }

  /** Answers a server → client request across restarts of the server. */
  onRequest<P, R>(type: RequestType<P, R, void>, handler: (params: P) => Promise<R> | R): vscode.Disposable {
    const entry = { type: type as RequestType<unknown, unknown, void>, handler: handler as (params: unknown) => Promise<unknown>, registration: undefined as vscode.Disposable | undefined };
    entry.registration = this.client?.onRequest(entry.type, entry.handler);
    this.requestHandlers.push(entry);
    return new vscode.Disposable(() => {
      entry.registration?.dispose();
      this.requestHandlers.splice(this.requestHandlers.indexOf(entry), 1);
    });
  }

  /** Listens to a server notification across restarts of the server. */
  onNotification<P>(type: NotificationType<P>, handler: (params: P) => void): vscode.Disposable {
    const entry: (typeof this.notificationHandlers)[number] = { type: type, handler: handler as (params: unknown) => void };
    entry.registration = this.client?.onNotification(entry.type, entry.handler);
    this.notificationHandlers.push(entry);
    return new vscode.Disposable(() => {
      entry.registration?.dispose();
      this.notificationHandlers.splice(this.notificationHandlers.indexOf(entry), 1);
    });
  }

  /** The server's process id, known from its status. */
  get serverPid(): number | undefined {
    return this.lastStatus?.pid;
  }

  private onServerClosed() {
    const now = Date.now();
    this.crashes.push(now);
    while (this.crashes.length > 0 && now - this.crashes[0]! > restartWindowMs) this.crashes.shift();
    if (this.crashes.length <= maxRestarts) {
      this.log.warn(`the mesh server stopped unexpectedly; restarting it (attempt ${this.crashes.length} of ${maxRestarts} in 3 minutes)`);
      return { action: CloseAction.Restart, handled: true };
    }
    const message = `The Persona Mesh server stopped ${maxRestarts + 1} times in 3 minutes and was not restarted. See "Persona Mesh: Show Logs", then run "Persona Mesh: Restart Mesh Server".`;
    this.log.error(message);
    return { action: CloseAction.DoNotRestart, message };
  }

  private setStatus(status: NodeStatus | undefined): void {
    this.lastStatus = status;
    this.statusEmitter.fire(status);
  }

  dispose(): void {
    for (const disposable of [...this.clientDisposables, ...this.disposables]) disposable.dispose();
  }
}

export class ServerNotRunningError extends Error {
  constructor(state: ServerState) {
    super(state === 'starting' ? 'The Persona Mesh server is starting; try again in a moment.' : 'The Persona Mesh server is not running: run "Persona Mesh: Restart Mesh Server".');
    this.name = 'ServerNotRunningError';
  }
}
