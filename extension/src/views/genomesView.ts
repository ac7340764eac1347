import * as vscode from 'vscode';
import { GenomeChangedNotification, GenomeListRequest, GenomeProgressNotification, type GenomeSummary } from '../../../protocol/genomes';
import type { Ctx } from '../ctx';

export type GenomeItem =
  | { kind: 'section'; section: 'network' | 'local'; genomes: GenomeSummary[] }
  | { kind: 'capability'; capability: string; genomes: GenomeSummary[] }
  | { kind: 'genome'; genome: GenomeSummary };

/**
 * Genomes on the mesh (grouped by capability: size, seeders, score, whether held here) and those
 * held on this node. A refresh shows at once what the node knows (the node asks the mesh in the
 * background now and then, and says when answers change the list); Refresh Genomes waits for
 * every peer's answer.
 */
export class GenomesView implements vscode.TreeDataProvider<GenomeItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<GenomeItem | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private local: GenomeSummary[] = [];
  private network: GenomeSummary[] = [];
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly ctx: Ctx) {
    this.subscriptions = [
      ctx.onNotification(GenomeChangedNotification.type, () => void this.refresh()),
      ctx.onNotification(GenomeProgressNotification.type, (progress) => {
        if (progress.state !== 'active') void this.refresh();
      }),
      ctx.onDidChangeStatus((status) => (status ? void this.refresh() : this.set([], []))),
    ];
  }

  /** Every genome the view shows (local first), for pickers and tests. */
  get all(): readonly GenomeSummary[] {
    return [...this.local, ...this.network];
  }

  /** `ask`: wait for a fresh answer from every peer (a second or two) instead of what the node knows. */
  async refresh(options: { ask?: boolean } = {}): Promise<void> {
    try {
      const { local, network } = await this.ctx.sendRequest(GenomeListRequest.type, options.ask ? { ask: true } : {});
      this.set(local, network);
    } catch {
      this.set([], []);
    }
  }

  private set(local: GenomeSummary[], network: GenomeSummary[]): void {
    this.local = local;
    this.network = network;
    this.changed.fire(undefined);
  }

  getChildren(element?: GenomeItem): GenomeItem[] {
    if (!element) {
      // No genomes at all: no root items, so the welcome content explains genomes.
      if (this.local.length === 0 && this.network.length === 0) return [];
      return [
        { kind: 'section', section: 'network', genomes: [...this.network, ...this.local.filter((g) => g.seeders > 0)] },
        { kind: 'section', section: 'local', genomes: this.local },
      ];
    }
    if (element.kind === 'section' && element.section === 'local') return element.genomes.map((genome) => ({ kind: 'genome', genome }));
    if (element.kind === 'section') {
      const groups = new Map<string, GenomeSummary[]>();
      for (const genome of element.genomes) {
        for (const capability of genome.capabilities.length > 0 ? genome.capabilities : ['(no capability)']) groups.set(capability, [...(groups.get(capability) ?? []), genome]);
      }
      return [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([capability, genomes]) => ({ kind: 'capability', capability, genomes }));
    }
    if (element.kind === 'capability') return element.genomes.map((genome) => ({ kind: 'genome', genome }));
    return [];
  }

  getTreeItem(element: GenomeItem): vscode.TreeItem {
    if (element.kind === 'section') {
      const item = new vscode.TreeItem(element.section === 'network' ? 'On the mesh' : 'On this node', vscode.TreeItemCollapsibleState.Expanded);
      item.id = `genomes:${element.section}`;
      item.description = String(element.genomes.length);
      return item;
    }
    if (element.kind === 'capability') {
      const item = new vscode.TreeItem(element.capability, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `genomes:capability:${element.capability}`;
      item.iconPath = new vscode.ThemeIcon('tag');
      item.description = String(element.genomes.length);
      return item;
    }
    const { genome } = element;
    const item = new vscode.TreeItem(genome.name, vscode.TreeItemCollapsibleState.None);
    const parts = [formatSize(genome.size), `${genome.seeders} seeder${genome.seeders === 1 ? '' : 's'}`];
    if (genome.score !== undefined) parts.push(`score ${genome.score.toFixed(2)}`);
    if (genome.progress !== undefined) parts.push(`${Math.round(genome.progress * 100)}%`);
    else if (genome.local) parts.push('local');
    item.description = parts.join(' · ');
    item.tooltip = new vscode.MarkdownString(
      `**${escape(genome.name)}**\n\n${escape(genome.description)}\n\nLayers: ${genome.layers.join(', ')}  \nCapabilities: ${escape(genome.capabilities.join(', ') || 'none')}  \nPublisher: \`${genome.publisher.slice(0, 7)}\`  \nId: \`${genome.id}\``,
    );
    item.iconPath = new vscode.ThemeIcon(genome.local ? 'package' : 'cloud');
    item.contextValue = genome.local ? 'personaMesh.genome.local' : 'personaMesh.genome.network';
    return item;
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    this.changed.dispose();
  }
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function escape(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
