import * as vscode from 'vscode';
import type { NodeStatus } from '../../../server/src/protocol/status';
import type { Ctx } from '../ctx';

type PeerItem = { kind: 'node'; status: NodeStatus } | { kind: 'detail'; label: string; value: string; icon: string; tooltip?: string };

/**
 * The Peers view: this node first (like Syncthing's "This Device"), then its peers. Empty while
 * the server is down, so the view's welcome content explains what to do.
 */
export class PeersView implements vscode.TreeDataProvider<PeerItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<PeerItem | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly ctx: Ctx) {
    this.subscription = ctx.onDidChangeStatus(() => this.changed.fire(undefined));
  }

  getChildren(element?: PeerItem): PeerItem[] {
    const status = this.ctx.status;
    if (!status) return [];
    if (!element) return [{ kind: 'node', status }];
    if (element.kind !== 'node') return [];
    return [
      { kind: 'detail', label: 'Node id', value: status.nodeIdDisplay, icon: 'key' },
      { kind: 'detail', label: 'State', value: status.state, icon: status.state === 'running' ? 'pass' : 'warning' },
      { kind: 'detail', label: 'Mesh key', value: status.meshKeySet ? 'set' : 'not set', icon: status.meshKeySet ? 'lock' : 'unlock' },
      { kind: 'detail', label: 'Data', value: status.dataDir, icon: 'database' },
      ...status.problems.map((problem): PeerItem => ({ kind: 'detail', label: 'Problem', value: problem.message, icon: 'error', tooltip: problem.message })),
    ];
  }

  getTreeItem(element: PeerItem): vscode.TreeItem {
    if (element.kind === 'node') {
      const item = new vscode.TreeItem(element.status.name, vscode.TreeItemCollapsibleState.Expanded);
      item.description = `this node · ${element.status.peers} peer${element.status.peers === 1 ? '' : 's'}`;
      item.iconPath = new vscode.ThemeIcon(element.status.problems.length > 0 ? 'warning' : 'vm-active');
      item.contextValue = 'personaMesh.localNode';
      item.tooltip = `${element.status.name}\n${element.status.nodeIdDisplay}`;
      return item;
    }
    const item = new vscode.TreeItem(element.label);
    item.description = element.value;
    item.tooltip = element.tooltip ?? `${element.label}: ${element.value}`;
    item.iconPath = new vscode.ThemeIcon(element.icon);
    return item;
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
