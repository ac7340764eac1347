import * as vscode from 'vscode';
import { PeersRequest } from '../../../protocol/extension';
import type { PeerSummary } from '../../../protocol/status';
import type { Ctx } from '../ctx';
import { childrenOf, rootItems, sessionsText, viewOf, type PeerItem, type Tooltip } from './peersTree';

const collapsible = {
  none: vscode.TreeItemCollapsibleState.None,
  collapsed: vscode.TreeItemCollapsibleState.Collapsed,
  expanded: vscode.TreeItemCollapsibleState.Expanded,
} as const;

/**
 * The Peers view (peersTree.ts says what it shows): this node, then its peers by route. Empty
 * while the server is down, so the welcome content explains what to do; the view's description
 * gives this node's sessions against its watermarks.
 */
export class PeersView implements vscode.TreeDataProvider<PeerItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<PeerItem | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly view: vscode.TreeView<PeerItem>;
  private readonly subscriptions: vscode.Disposable[] = [];
  private peers: PeerSummary[] = [];
  private refreshTimer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly ctx: Ctx) {
    this.view = vscode.window.createTreeView('personaMesh.peers', { treeDataProvider: this, showCollapseAll: true });
    this.subscriptions.push(
      this.view,
      this.view.onDidChangeVisibility(({ visible }) => this.setVisible(visible)),
      ctx.onDidChangeStatus(() => void this.refresh()),
    );
    // Visible from the start (the sidebar was open): no visibility change says so.
    if (this.view.visible) this.setVisible(true);
  }

  /** Polls while visible, for RTT, routes and last-seen; peer up/down arrive as status changes at once. */
  private setVisible(visible: boolean): void {
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
    this.view.description = this.ctx.status && sessionsText(this.ctx.status);
    this.changed.fire(undefined);
  }

  getChildren(element?: PeerItem): PeerItem[] {
    const status = this.ctx.status;
    if (!status) return [];
    return element ? childrenOf(element, Date.now()) : rootItems(status, this.peers);
  }

  getTreeItem(element: PeerItem): vscode.TreeItem {
    const view = viewOf(element, Date.now());
    const item = new vscode.TreeItem(view.label, collapsible[view.state]);
    if (view.id) item.id = view.id;
    item.description = view.description;
    item.iconPath = new vscode.ThemeIcon(view.icon);
    item.contextValue = view.contextValue;
    item.tooltip = typeof view.tooltip === 'string' ? view.tooltip : markdown(view.tooltip);
    if (view.accessibilityLabel) item.accessibilityInformation = { label: view.accessibilityLabel };
    return item;
  }

  dispose(): void {
    this.setVisible(false);
    for (const subscription of this.subscriptions) subscription.dispose();
    this.changed.dispose();
  }
}

/** Peer names and problem texts come from the mesh: appended as text, never as Markdown. */
function markdown(tooltip: Tooltip): vscode.MarkdownString {
  const text = new vscode.MarkdownString();
  text.appendMarkdown('**');
  text.appendText(tooltip.title);
  text.appendMarkdown('**');
  for (const { label, value } of tooltip.lines) {
    text.appendMarkdown(`  \n${label}: `);
    text.appendText(value);
  }
  return text;
}
