import * as vscode from 'vscode';
import { PeersRequest } from '../../../server/src/protocol/extension';
import type { NodeStatus, PeerSummary } from '../../../server/src/protocol/status';
import type { Ctx } from '../ctx';

export type PeerItem =
  | { kind: 'node'; status: NodeStatus }
  | { kind: 'peer'; peer: PeerSummary }
  | { kind: 'detail'; label: string; value: string; icon: string; tooltip?: string };

const peerIcons: Record<PeerSummary['state'], string> = { up: 'vm-running', connecting: 'loading~spin', discovered: 'vm-outline', down: 'vm-outline' };

/**
 * The Peers view: this node first (like Syncthing's "This Device"), then every peer it knows with
 * state, address and RTT. Empty while the server is down, so the welcome content explains what to do.
 */
export class PeersView implements vscode.TreeDataProvider<PeerItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<PeerItem | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscriptions: vscode.Disposable[] = [];
  private peers: PeerSummary[] = [];
  private refreshTimer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly ctx: Ctx) {
    this.subscriptions.push(ctx.onDidChangeStatus(() => void this.refresh()));
  }

  /** Polls while visible, for RTT and last-seen; peer up/down arrive as status changes at once. */
  setVisible(visible: boolean): void {
    if (visible && !this.refreshTimer) {
      this.refreshTimer = setInterval(() => void this.refresh(), 5000);
      void this.refresh();
    } else if (!visible && this.refreshTimer) {
      clearInterval(this.refreshTimer);
      this.refreshTimer = undefined;
    }
  }

  async refresh(): Promise<void> {
    try {
      this.peers = this.ctx.status ? await this.ctx.sendRequest(PeersRequest.type) : [];
    } catch {
      this.peers = [];
    }
    this.changed.fire(undefined);
  }

  getChildren(element?: PeerItem): PeerItem[] {
    const status = this.ctx.status;
    if (!status) return [];
    if (!element) {
      const order: Record<PeerSummary['state'], number> = { up: 0, connecting: 1, discovered: 2, down: 3 };
      const peers = [...this.peers].sort((a, b) => order[a.state] - order[b.state] || a.name.localeCompare(b.name));
      return [{ kind: 'node', status }, ...peers.map((peer): PeerItem => ({ kind: 'peer', peer }))];
    }
    if (element.kind === 'node') return nodeDetails(element.status);
    if (element.kind === 'peer') return peerDetails(element.peer);
    return [];
  }

  getTreeItem(element: PeerItem): vscode.TreeItem {
    switch (element.kind) {
      case 'node': {
        const { status } = element;
        const item = new vscode.TreeItem(status.name, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `node:${status.nodeId}`;
        item.description = `this node · ${status.peers} peer${status.peers === 1 ? '' : 's'}${status.listen ? ` · ${status.listen}` : ''}`;
        item.iconPath = new vscode.ThemeIcon(status.problems.length > 0 ? 'warning' : 'home');
        item.contextValue = 'personaMesh.localNode';
        item.tooltip = `${status.name} (this node)\n${status.nodeIdDisplay}`;
        return item;
      }
      case 'peer': {
        const { peer } = element;
        const item = new vscode.TreeItem(peer.name || peer.nodeIdDisplay.slice(0, 7), vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `peer:${peer.nodeId}`;
        const rtt = peer.rttMs !== undefined ? ` · ${formatRtt(peer.rttMs)}` : '';
        // Only a clock far enough off to matter is news (the problem list says what to do).
        const clock = peer.clockOffsetMs !== undefined && Math.abs(peer.clockOffsetMs) > 30_000 ? ` · clock ${peer.clockOffsetMs > 0 ? '+' : '−'}${Math.round(Math.abs(peer.clockOffsetMs) / 1000)} s` : '';
        item.description = `${peer.state}${peer.addr ? ` · ${peer.addr}` : ''}${rtt}${clock}`;
        item.iconPath = new vscode.ThemeIcon(peerIcons[peer.state]);
        item.contextValue = peer.state === 'up' ? 'personaMesh.peer.up' : 'personaMesh.peer';
        item.tooltip = `${peer.name}\n${peer.nodeIdDisplay}\n${peer.state}${peer.downReason ? ` (${peer.downReason})` : ''}`;
        item.accessibilityInformation = { label: `Peer ${peer.name}, ${peer.state}${rtt ? `, round trip ${formatRtt(peer.rttMs!)}` : ''}` };
        return item;
      }
      case 'detail': {
        const item = new vscode.TreeItem(element.label);
        item.description = element.value;
        item.tooltip = element.tooltip ?? `${element.label}: ${element.value}`;
        item.iconPath = new vscode.ThemeIcon(element.icon);
        return item;
      }
    }
  }

  dispose(): void {
    this.setVisible(false);
    for (const subscription of this.subscriptions) subscription.dispose();
    this.changed.dispose();
  }
}

function nodeDetails(status: NodeStatus): PeerItem[] {
  return [
    { kind: 'detail', label: 'Node id', value: status.nodeIdDisplay, icon: 'key' },
    { kind: 'detail', label: 'State', value: status.state, icon: status.state === 'running' ? 'pass' : 'warning' },
    { kind: 'detail', label: 'Mesh key', value: status.meshKeySet ? 'set' : 'not set', icon: status.meshKeySet ? 'lock' : 'unlock' },
    { kind: 'detail', label: 'Data', value: status.dataDir, icon: 'database' },
    ...status.problems.map((problem): PeerItem => ({ kind: 'detail', label: 'Problem', value: problem.message, icon: 'error', tooltip: problem.message })),
  ];
}

function peerDetails(peer: PeerSummary): PeerItem[] {
  return [
    { kind: 'detail', label: 'Node id', value: peer.nodeIdDisplay, icon: 'key' },
    ...(peer.addr ? [{ kind: 'detail' as const, label: 'Address', value: peer.addr, icon: 'plug' }] : []),
    ...(peer.rttMs !== undefined ? [{ kind: 'detail' as const, label: 'Round trip', value: formatRtt(peer.rttMs), icon: 'pulse' }] : []),
    { kind: 'detail', label: 'Last seen', value: new Date(peer.lastSeen).toLocaleTimeString(), icon: 'clock' },
    ...(peer.downReason ? [{ kind: 'detail' as const, label: 'Down because', value: peer.downReason, icon: 'debug-disconnect' }] : []),
  ];
}

export function formatRtt(ms: number): string {
  return ms < 1 ? `${Math.round(ms * 1000)} µs` : `${ms.toFixed(1)} ms`;
}
