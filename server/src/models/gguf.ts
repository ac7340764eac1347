/**
 * Reading GGUF files (models and LoRA adapters) before llama.cpp opens them, in pure JS
 * (node-llama-cpp's readGgufFileInfo): the common mistakes get their own one-line error (missing
 * file, not a GGUF file, truncated or corrupt, an adapter instead of a model, not a LoRA adapter).
 * The llama brain checks a persona's model and adapters with it; genomes check a published
 * adapter against its base model's architecture.
 */
import { open, stat } from 'node:fs/promises';
import { loadNodeLlamaCpp } from './nodeLlamaCpp';

/** `missing-model`: the model file is unusable; `bad-adapter`: the adapter file is. */
export class GgufError extends Error {
  constructor(readonly code: 'missing-model' | 'bad-adapter', message: string) {
    super(message);
    this.name = 'GgufError';
  }
}

function oneLine(value: string): string {
  return value.replace(/\s+/g, ' ').trim().slice(0, 300);
}

export interface GgufSummary {
  architecture: string;
  type: string | undefined;
  adapterType: string | undefined;
}

/** Checks a GGUF file in pure JS; throws a GgufError naming the problem. */
export async function inspectGguf(file: string, display: string, kind: 'model' | 'adapter'): Promise<GgufSummary & { key: string }> {
  const code = kind === 'model' ? 'missing-model' : 'bad-adapter';
  const what = kind === 'model' ? 'model file' : 'LoRA adapter';
  let size: number;
  let key: string;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new GgufError(code, `the ${what} ${display} is not a file`);
    size = info.size;
    key = `${file}:${info.size}:${info.mtimeMs}`;
  } catch (error) {
    if (error instanceof GgufError) throw error;
    throw new GgufError(code, `the ${what} ${display} does not exist`);
  }
  const summary = inspected.get(key) ?? (await parseGguf(file, display, size, kind));
  if (inspected.size > 256) inspected.clear();
  inspected.set(key, summary);
  if (kind === 'model' && summary.type === 'adapter') throw new GgufError('missing-model', `${display} is a ${summary.adapterType ?? ''} adapter, not a model`.replace('  ', ' '));
  if (kind === 'adapter' && (summary.type !== 'adapter' || summary.adapterType !== 'lora')) {
    throw new GgufError('bad-adapter', `${display} is not a LoRA adapter (general.type ${summary.type ?? 'missing'}, adapter.type ${summary.adapterType ?? 'missing'})`);
  }
  return { ...summary, key };
}

async function parseGguf(file: string, display: string, size: number, kind: 'model' | 'adapter'): Promise<GgufSummary> {
  const code = kind === 'model' ? 'missing-model' : 'bad-adapter';
  const what = kind === 'model' ? 'model file' : 'LoRA adapter';
  const head = Buffer.alloc(4);
  const handle = await open(file, 'r');
  try {
    await handle.read(head, 0, 4, 0);
  } finally {
    await handle.close();
  }
  if (size < 4 || head.toString('latin1') !== 'GGUF') throw new GgufError(code, `the ${what} ${display} is not a GGUF file`);
  try {
    const lib = await loadNodeLlamaCpp();
    const info = await lib.readGgufFileInfo(file, {
      readTensorInfo: true,
      logWarnings: false,
      ignoreKeys: ['tokenizer.ggml.tokens', 'tokenizer.ggml.scores', 'tokenizer.ggml.token_type', 'tokenizer.ggml.merges'],
    });
    const metadata = info.metadata as unknown as { general?: { architecture?: unknown; type?: unknown }; adapter?: { type?: unknown } } | undefined;
    const architecture = metadata?.general?.architecture;
    if (typeof architecture !== 'string' || !architecture) throw new Error('no general.architecture');
    const end = tensorDataEnd(info.tensorInfo ?? []);
    if (end > size) throw new GgufError(code, `the ${what} ${display} is a truncated GGUF file (its tensors need ${end} bytes, the file has ${size})`);
    return {
      architecture,
      type: typeof metadata?.general?.type === 'string' ? metadata.general.type : undefined,
      adapterType: typeof metadata?.adapter?.type === 'string' ? metadata.adapter.type : undefined,
    };
  } catch (error) {
    if (error instanceof GgufError) throw error;
    throw new GgufError(code, `the ${what} ${display} is a corrupt GGUF file (${oneLine(error instanceof Error ? error.message : String(error))})`);
  }
}

const inspected = new Map<string, GgufSummary>();

/** Bytes per element of the unquantized GGML types (F32, F16, I8, I16, I32, I64, F64, BF16). */
const elementBytes: Record<number, number> = { 0: 4, 1: 2, 24: 1, 25: 2, 26: 4, 27: 8, 28: 8, 30: 2 };

/** Where the tensor data ends in the file: exact for unquantized tensors, the start of the last tensor otherwise. */
function tensorDataEnd(tensors: readonly { dimensions: readonly (number | bigint)[]; ggmlType: number; fileOffset: number | bigint }[]): number {
  let end = 0;
  for (const tensor of tensors) {
    const bytes = elementBytes[tensor.ggmlType];
    const count = tensor.dimensions.reduce<number>((product, n) => product * Number(n), 1);
    end = Math.max(end, Number(tensor.fileOffset) + (bytes ? bytes * count : 1));
  }
  return end;
}
