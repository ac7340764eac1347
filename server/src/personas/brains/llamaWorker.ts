/**
 * The model process of the `llama` brain: node-llama-cpp (llama.cpp on the CPU) in a child
 * process, because a malformed model can abort llama.cpp and with it the whole process. Started
 * by llamaRuntime.ts with node:child_process fork (bundled: server/out/llamaWorker.js; tests: this file
 * under `--import tsx`). One `Llama` per process; one `LlamaModel` per model file, shared by every
 * persona that uses it; one context per reply, created with the reply's LoRA adapters (LoRA is
 * fixed at context creation). Replies run one at a time. Exits when the parent goes away.
 */
import type { Llama, LlamaModel } from 'node-llama-cpp';
import { loadNodeLlamaCpp } from '../../models/nodeLlamaCpp';
import type { LlamaGenerateRequest, LlamaParentMessage, LlamaWorkerMessage } from './llamaWorkerProtocol';

let llama: Promise<Llama> | undefined;
const models = new Map<string, Promise<LlamaModel>>();
const controllers = new Map<number, AbortController>();
/** The last llama.cpp error lines (the reason behind "Failed to load model"). */
let lastErrors: string[] = [];
let queue: Promise<void> = Promise.resolve();

function send(message: LlamaWorkerMessage): void {
  process.send?.(message);
}

function getLlamaOnce(): Promise<Llama> {
  llama ??= loadNodeLlamaCpp().then((lib) =>
    lib.getLlama({
      gpu: false,
      build: 'never',
      logLevel: lib.LlamaLogLevel.warn,
      logger: (level, message) => {
        const line = message.trim();
        if (!line) return;
        if (level === lib.LlamaLogLevel.error || level === lib.LlamaLogLevel.fatal || /error/i.test(line)) {
          lastErrors.push(line);
          if (lastErrors.length > 5) lastErrors.shift();
        }
      },
    }),
  );
  return llama;
}

function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const detail = lastErrors.find((line) => /error loading model|not within the file bounds|failed to/i.test(line) && !/failed to load model$/i.test(line)) ?? lastErrors[0];
  return detail && !message.includes(detail) ? `${message}: ${detail.replace(/^llama_model_load: /, '')}` : message;
}

async function loadModel(request: LlamaGenerateRequest): Promise<LlamaModel> {
  let model = models.get(request.model);
  if (!model) {
    send({ type: 'loading', id: request.id, model: request.model });
    lastErrors = [];
    model = getLlamaOnce().then((instance) => instance.loadModel({ modelPath: request.model, gpuLayers: 0 }));
    models.set(request.model, model);
    model.catch(() => models.delete(request.model));
    await model;
    send({ type: 'loaded', id: request.id, model: request.model });
  }
  return model;
}

async function generate(request: LlamaGenerateRequest, controller: AbortController): Promise<void> {
  const lib = await loadNodeLlamaCpp();
  let model: LlamaModel;
  try {
    model = await loadModel(request);
  } catch (error) {
    send({ type: 'error', id: request.id, code: 'missing-model', message: `could not load ${request.model}: ${reason(error)}` });
    return;
  }
  if (controller.signal.aborted) throw abortError();
  let context;
  try {
    lastErrors = [];
    context = await model.createContext({
      contextSize: Math.min(request.contextSize, model.trainContextSize),
      threads: request.threads,
      ...(request.adapters.length ? { lora: { adapters: request.adapters.map((a) => ({ filePath: a.path, scale: a.scale })) } } : {}),
    });
  } catch (error) {
    const code = request.adapters.length ? 'bad-adapter' : 'failed';
    send({ type: 'error', id: request.id, code, message: `could not start ${request.model}${request.adapters.length ? ' with its LoRA adapters' : ''}: ${reason(error)}` });
    return;
  }
  try {
    const session = new lib.LlamaChatSession({ contextSequence: context.getSequence(), systemPrompt: request.systemPrompt });
    if (request.history.length) {
      const history = session.getChatHistory();
      for (const turn of request.history) {
        history.push(turn.role === 'user' ? { type: 'user', text: turn.content } : { type: 'model', response: [turn.content] });
      }
      session.setChatHistory(history);
    }
    // Built per reply: a grammar is cheap next to a context, and schemas differ per challenge.
    const grammar = request.jsonSchema ? await (await getLlamaOnce()).createGrammarForJsonSchema(request.jsonSchema as Parameters<Llama['createGrammarForJsonSchema']>[0]) : undefined;
    await session.prompt(request.prompt, {
      ...(grammar ? { grammar } : {}),
      maxTokens: request.maxTokens,
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(request.seed !== undefined ? { seed: request.seed } : {}),
      signal: controller.signal,
      stopOnAbortSignal: true,
      onTextChunk: (text) => {
        if (!controller.signal.aborted && text) send({ type: 'chunk', id: request.id, text });
      },
    });
    if (controller.signal.aborted) throw abortError();
    send({ type: 'done', id: request.id });
  } finally {
    await context.dispose();
  }
}

function abortError(): Error {
  const error = new Error('the reply was cancelled');
  error.name = 'AbortError';
  return error;
}

function run(request: LlamaGenerateRequest): void {
  const controller = new AbortController();
  controllers.set(request.id, controller);
  queue = queue.then(async () => {
    try {
      if (controller.signal.aborted) throw abortError();
      await generate(request, controller);
    } catch (error) {
      if (controller.signal.aborted) send({ type: 'error', id: request.id, code: 'cancelled', message: 'the reply was cancelled' });
      else send({ type: 'error', id: request.id, code: 'failed', message: `the llama brain failed: ${reason(error)}` });
    } finally {
      controllers.delete(request.id);
    }
  });
}

process.on('message', (message: LlamaParentMessage) => {
  if (message.type === 'generate') run(message);
  else if (message.type === 'cancel') controllers.get(message.id)?.abort();
});
process.on('disconnect', () => process.exit(0));
