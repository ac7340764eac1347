/**
 * The node's network while it runs: builds the MeshNetwork from the settings (a free port when the
 * asked one is taken: several VS Code windows on one machine each run a node), watches the machine's
 * best address for discovery and starts the network again there when it changes (retrying every
 * 5 s until the new address works), and stops it. What the network means to the rest of the node
 * (the mesh port, remote methods, status, problems) is the owner's, through `onUp`/`onDown`.
 */
import type { Clock, TimerHandle } from '../kernel/clock';
import type { Identity } from '../kernel/identity';
import { describeError } from '../kernel/lifecycle';
import type { Logger } from '../kernel/log';
import type { MeshKey } from '../kernel/meshKey';
import { MeshNetwork, type MeshNetworkOptions } from '../net/meshNetwork';
import type { NetworkSettings, NodeProblem } from '../../../protocol/status';
import { InterfaceWatch } from './interfaceWatch';
import { parseHostPort, pickInterfaceAddress, validateNodeIds } from './networkOptions';

export interface NetworkHostOptions {
  identity: Identity;
  name: () => string;
  /** The node's start, not the network's: a network that restarts (a new address) is no later copy. */
  startedAt: number;
  /** Read at each start (it may throw: a bad setting is a problem of that start). */
  tuning: () => MeshNetworkOptions['tuning'];
  clock: Clock;
  logger: Logger;
  /** A start begins: the problems of the last one are over. */
  onStarting(): void;
  /** A network is up: the owner wires it (listeners, mesh port, remote methods) before anyone uses it. */
  onUp(network: MeshNetwork): void;
  /** The network is about to stop. */
  onDown(network: MeshNetwork): void;
  /** The mesh refused this node as a later copy of a running one (before start: it can come with the first sessions). */
  onDuplicate(report: { running: string; reportedBy: string }): void;
  /** The network could not start: what to show the user. */
  onProblem(problem: NodeProblem): void;
  /** The network started again on a new address (or failed to: see onProblem). */
  onMoved(): void;
  /** Whether the node is stopping (a move or retry then does nothing). */
  halting(): boolean;
}

export class NetworkHost {
  private current: MeshNetwork | undefined;
  private interfaceWatch: InterfaceWatch | undefined;
  /** A network that failed to start again after a move is retried (a new address not ready yet). */
  private retry: TimerHandle | undefined;

  constructor(private readonly options: NetworkHostOptions) {}

  get network(): MeshNetwork | undefined {
    return this.current;
  }

  /** Starts the network; a failure is reported through `onProblem` and leaves it off. */
  async start(settings: NetworkSettings, meshKey: MeshKey): Promise<void> {
    const { logger } = this.options;
    this.options.onStarting();
    try {
      const tuning = this.options.tuning();
      const listen = parseHostPort(settings.listen, 'the listen address');
      const discovery = settings.discovery && { ...settings.discovery, interface: pickInterfaceAddress(settings.discovery.interface) };
      const staticPeers = settings.staticPeers.map((peer) => (parseHostPort(peer, 'the static peer'), peer.trim()));
      const trustedNodes = settings.trustedNodes.length > 0 ? validateNodeIds(settings.trustedNodes, 'trusted nodes') : undefined;
      const create = (port: number) => {
        const network = new MeshNetwork({
          identity: this.options.identity,
          meshKey,
          name: this.options.name(),
          listen: { host: listen.host, port },
          discovery,
          staticPeers,
          trustedNodes,
          started: this.options.startedAt,
          clock: this.options.clock,
          logger,
          tuning,
        });
        network.once('identity.duplicate', (report) => this.options.onDuplicate(report));
        return network;
      };
      let network = create(listen.port);
      try {
        await network.start();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || listen.port === 0) throw error;
        logger.info(`port ${listen.port} is taken (another node on this machine?); listening on a free port instead`);
        network = create(0);
        await network.start();
      }
      this.current = network;
      this.options.onUp(network);
      logger.info(`listening on ${network.listenAddress}${discovery ? `, discovery ${discovery.group}:${discovery.port} on ${discovery.interface}` : ', discovery off'}`);
      if (discovery) {
        const from = discovery.interface;
        this.interfaceWatch = new InterfaceWatch({
          requested: settings.discovery ? settings.discovery.interface : '',
          current: from,
          clock: this.options.clock,
          onChange: (to) => void this.move(settings, meshKey, from, to),
        });
        await this.interfaceWatch.start();
      }
    } catch (error) {
      this.options.onProblem({ code: 'network-unavailable', message: `the network could not start: ${describeError(error)}. Check the Persona Mesh network settings (listen address, discovery interface, peers).` });
    }
  }

  async stop(): Promise<void> {
    this.retry?.cancel();
    this.retry = undefined;
    await this.interfaceWatch?.stop();
    this.interfaceWatch = undefined;
    const network = this.current;
    this.current = undefined;
    if (!network) return;
    this.options.onDown(network);
    network.removeAllListeners();
    await network.stop();
  }

  /** The machine's best address changed (another network): the sessions and discovery start again there. */
  private async move(settings: NetworkSettings, meshKey: MeshKey, from: string, to: string): Promise<void> {
    if (this.options.halting()) return;
    this.options.logger.info(`the network changed (${from} → ${to}): discovery and sessions start again on ${to}`);
    await this.stop();
    // The node may have been told to stop meanwhile.
    if (this.options.halting()) return;
    await this.start(settings, meshKey);
    this.options.onMoved();
    if (!this.current && !this.options.halting()) {
      this.options.logger.warn('the network did not start on the new address; trying again in 5 s');
      this.retry = this.options.clock.setTimeout(() => {
        this.retry = undefined;
        void this.move(settings, meshKey, from, to);
      }, 5000);
    }
  }
}
