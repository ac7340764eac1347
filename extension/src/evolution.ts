/**
 * Evolution in VS Code: the `personaMesh.evolution.policy` setting for the server, the question
 * "may this persona adopt that genome?" (policy `ask`), lineage events in the log, and "Show
 * Evolution History" as a Markdown document.
 */
import * as vscode from 'vscode';
import {
  EvolutionEventNotification,
  EvolutionHistoryRequest,
  EvolutionProposalRequest,
  SetEvolutionPolicyNotification,
  evolutionPolicies,
  type EvolutionPolicy,
  type PersonaEvolutionEvent,
} from '../../protocol/evolution';
import type { Ctx } from './ctx';

function policy(): EvolutionPolicy {
  const value = vscode.workspace.getConfiguration('personaMesh').get<string>('evolution.policy', 'ask');
  return (evolutionPolicies as readonly string[]).includes(value) ? (value as EvolutionPolicy) : 'ask';
}

export function registerEvolution(ctx: Ctx): vscode.Disposable[] {
  const sendPolicy = () => void ctx.sendNotification(SetEvolutionPolicyNotification.type, { policy: policy() }).catch(() => undefined);
  return [
    ctx.onDidStartServer(sendPolicy),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('personaMesh.evolution.policy')) sendPolicy();
    }),
    ctx.onRequest(EvolutionProposalRequest.type, async (proposal) => {
      const adopt = 'Adopt';
      const answer = await vscode.window.showInformationMessage(
        `Persona ${proposal.personaName} could evolve: ${proposal.reason}. Adopt the genome "${proposal.genome.name}" (${proposal.genome.capabilities.join(', ') || 'no capabilities listed'}) from the mesh? It is measured and rolled back if the persona does worse.`,
        adopt,
        'Not Now',
      );
      return { adopt: answer === adopt };
    }),
    ctx.onNotification(EvolutionEventNotification.type, (event) => ctx.log.info(`evolution: ${describe(event)}`)),
    vscode.commands.registerCommand('personaMesh.showEvolutionHistory', async () => {
      let events: PersonaEvolutionEvent[];
      try {
        events = await ctx.sendRequest(EvolutionHistoryRequest.type);
      } catch (error) {
        void vscode.window.showErrorMessage(`Persona Mesh: no evolution history: ${error instanceof Error ? error.message : String(error)}`);
        return;
      }
      const document = await vscode.workspace.openTextDocument({ language: 'markdown', content: historyMarkdown(events) });
      await vscode.window.showTextDocument(document, { preview: true });
    }),
  ];
}

function describe(event: PersonaEvolutionEvent): string {
  const measured = event.measured.after === undefined ? `${event.measured.category} ${event.measured.before.toFixed(2)} before` : `${event.measured.category} ${event.measured.before.toFixed(2)} → ${event.measured.after.toFixed(2)}`;
  return `${event.persona.name} ${event.outcome} genome ${event.genome.name} (${measured})${event.reason ? `: ${event.reason}` : ''}`;
}

export function historyMarkdown(events: readonly PersonaEvolutionEvent[]): string {
  const lines = ['# Persona evolution', ''];
  if (events.length === 0) {
    lines.push('No persona on this mesh has evolved yet. A persona evolves when its score in a category stays low or it is asked for a capability it lacks (setting `personaMesh.evolution.policy`).');
    return `${lines.join('\n')}\n`;
  }
  lines.push('| When | Persona | Outcome | Genome | Trigger | Measured | Capabilities after |', '| --- | --- | --- | --- | --- | --- | --- |');
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  for (const event of events) {
    const trigger = event.trigger.kind === 'falling-score' ? `${event.trigger.category} score ${event.trigger.mean.toFixed(2)} over ${event.trigger.count}` : `asked about ${event.trigger.capability}`;
    const measured = `${event.measured.category}: ${event.measured.before.toFixed(2)} (${event.measured.beforeCount})${event.measured.after === undefined ? '' : ` → ${event.measured.after.toFixed(2)} (${event.measured.afterCount ?? 0})`}`;
    lines.push(`| ${new Date(event.ts).toISOString().replace('T', ' ').slice(0, 16)} | ${cell(event.persona.name)} | ${event.outcome}${event.reason ? `: ${cell(event.reason)}` : ''} | ${cell(event.genome.name)} | ${cell(trigger)} | ${measured} | ${cell(event.capabilitiesAfter.join(', '))} |`);
  }
  return `${lines.join('\n')}\n`;
}
