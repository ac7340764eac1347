/**
 * The `vscode-lm` brain: the server asks for a chat on one of the editor's language models and
 * gets the reply streamed back. Guarded at run time: editors without `vscode.lm` (or with no model
 * installed) answer with a one-line reason, and the persona shows as degraded.
 */
import * as vscode from 'vscode';
import { LanguageModelCancelNotification, LanguageModelChatRequest, LanguageModelChunkNotification, type LanguageModelChatParams } from '../../protocol/personas';
import type { Ctx } from './ctx';

export function registerLanguageModelBridge(ctx: Ctx): vscode.Disposable[] {
  const running = new Map<string, vscode.CancellationTokenSource>();
  return [
    ctx.onRequest(LanguageModelChatRequest.type, (params) => startChat(ctx, params, running)),
    ctx.onNotification(LanguageModelCancelNotification.type, ({ requestId }) => running.get(requestId)?.cancel()),
    new vscode.Disposable(() => {
      for (const source of running.values()) source.cancel();
    }),
  ];
}

async function startChat(ctx: Ctx, params: LanguageModelChatParams, running: Map<string, vscode.CancellationTokenSource>): Promise<{ model: string }> {
  const lm = (vscode as Partial<typeof vscode>).lm;
  if (!lm?.selectChatModels) throw new Error('this editor has no language model API (vscode.lm): use another brain for this persona');
  const selector = params.model ? { family: params.model } : {};
  let models = await lm.selectChatModels(selector);
  if (models.length === 0 && params.model) models = await lm.selectChatModels({ id: params.model });
  const model = models[0];
  if (!model) throw new Error(params.model ? `no language model "${params.model}" in this editor (install or sign in to a provider, or change the persona's model)` : 'this editor has no language model (install or sign in to a provider such as GitHub Copilot)');
  const source = new vscode.CancellationTokenSource();
  running.set(params.requestId, source);
  // vscode.lm has no system role: the system prompt leads as the first user message.
  const messages = params.messages.map((m) => (m.role === 'assistant' ? vscode.LanguageModelChatMessage.Assistant(m.content) : vscode.LanguageModelChatMessage.User(m.content)));
  const chunk = (text: string, extra: { done?: boolean; error?: string } = {}) => ctx.sendNotification(LanguageModelChunkNotification.type, { requestId: params.requestId, text, ...extra });
  void (async () => {
    try {
      const response = await model.sendRequest(messages, { justification: 'A Persona Mesh persona answers in a chat room with this model.' }, source.token);
      for await (const text of response.text) await chunk(text);
      await chunk('', { done: true });
    } catch (error) {
      await chunk('', { error: error instanceof Error ? error.message : String(error) });
    } finally {
      running.delete(params.requestId);
      source.dispose();
    }
  })();
  return { model: `${model.vendor}/${model.family}` };
}
