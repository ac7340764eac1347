import * as vscode from 'vscode';
import { ListPersonasRequest, PersonasChangedNotification, type PersonaSummary } from '../../../protocol/personas';
import type { Ctx } from '../ctx';

export type PersonaItem = { kind: 'group'; local: boolean; personas: PersonaSummary[] } | { kind: 'persona'; persona: PersonaSummary };

const stateIcons: Record<PersonaSummary['state'], string> = { online: 'hubot', busy: 'loading~spin', degraded: 'warning', disabled: 'circle-slash' };

/** Personas on this node and on the mesh: brain, state (with the reason when degraded), host. */
export class PersonasView implements vscode.TreeDataProvider<PersonaItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<PersonaItem | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private personas: PersonaSummary[] = [];
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly ctx: Ctx) {
    this.subscriptions = [
      ctx.onNotification(PersonasChangedNotification.type, (personas) => this.set(personas)),
      ctx.onDidChangeStatus((status) => (status ? void this.refresh() : this.set([]))),
    ];
  }

  /** Every persona known, for pickers (mention, challenges). */
  get all(): readonly PersonaSummary[] {
    return this.personas;
  }

  async refresh(): Promise<void> {
    try {
      this.set(await this.ctx.sendRequest(ListPersonasRequest.type));
    } catch {
      this.set([]);
    }
  }

  private set(personas: PersonaSummary[]): void {
    this.personas = personas;
    this.changed.fire(undefined);
  }

  getChildren(element?: PersonaItem): PersonaItem[] {
    if (element?.kind === 'group') return element.personas.map((persona) => ({ kind: 'persona', persona }));
    if (element) return [];
    const byName = (a: PersonaSummary, b: PersonaSummary) => a.name.localeCompare(b.name);
    const local = this.personas.filter((p) => p.local).sort(byName);
    const remote = this.personas.filter((p) => !p.local).sort(byName);
    // Empty list: no root items, so the welcome content explains personas.
    if (local.length === 0 && remote.length === 0) return [];
    return [
      { kind: 'group', local: true, personas: local },
      { kind: 'group', local: false, personas: remote },
    ];
  }

  getTreeItem(element: PersonaItem): vscode.TreeItem {
    if (element.kind === 'group') {
      const item = new vscode.TreeItem(element.local ? 'On this node' : 'On the mesh', vscode.TreeItemCollapsibleState.Expanded);
      item.description = String(element.personas.length);
      item.id = element.local ? 'personas:local' : 'personas:remote';
      return item;
    }
    const { persona } = element;
    const item = new vscode.TreeItem(persona.name);
    item.id = `persona:${persona.nodeId}:${persona.id}`;
    const brain = persona.model ? `${persona.provider} (${persona.model})` : persona.provider;
    item.description = `${brain} · ${persona.state}`;
    item.iconPath = new vscode.ThemeIcon(stateIcons[persona.state]);
    item.tooltip = new vscode.MarkdownString(
      [
        `**${persona.name}** (\`${persona.id}\`)${persona.description ? ` — ${persona.description}` : ''}`,
        `Brain: ${brain}; ${persona.state}${persona.reason ? `: ${persona.reason}` : ''}`,
        persona.capabilities.length ? `Capabilities: ${persona.capabilities.join(', ')}` : '',
        persona.rooms.length ? `Rooms: ${persona.rooms.map((r) => `#${r}`).join(', ')}` : '',
        persona.local ? `File: ${persona.file ?? ''}` : `Hosted by node ${persona.nodeId.slice(0, 7)}`,
      ]
        .filter(Boolean)
        .join('\n\n'),
    );
    item.contextValue = persona.local ? (persona.state === 'disabled' ? 'personaMesh.persona.local.disabled' : 'personaMesh.persona.local') : 'personaMesh.persona.remote';
    if (persona.local && persona.file) item.command = { command: 'personaMesh.openPersonaFile', title: 'Open Persona File', arguments: [element] };
    item.accessibilityInformation = { label: `${persona.name}, ${persona.local ? 'on this node' : 'on the mesh'}, ${persona.state}${persona.reason ? `, ${persona.reason}` : ''}` };
    return item;
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    this.changed.dispose();
  }
}
