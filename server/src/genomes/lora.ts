/**
 * LoRA layers are checked with node-llama-cpp's GGUF reader (through the llama brain's
 * inspectGguf, pure JS, nothing loaded): the file must be a LoRA adapter, and its architecture
 * the base model's. A peer's adapter is checked before any persona can use it.
 */
import { GgufError, inspectGguf } from '../models/gguf';
import { GenomeError } from './errors';

/** Returns the adapter's architecture; throws `bad-adapter` naming the problem. */
export async function checkLoraAdapter(file: string, display: string, baseArchitecture?: string): Promise<string> {
  let architecture: string;
  try {
    ({ architecture } = await inspectGguf(file, display, 'adapter'));
  } catch (error) {
    if (error instanceof GgufError) throw new GenomeError('bad-adapter', error.message);
    throw error;
  }
  if (baseArchitecture !== undefined && architecture !== baseArchitecture) {
    throw new GenomeError('bad-adapter', `the LoRA adapter ${display} is for ${architecture} models, but the base model is a ${baseArchitecture} model`);
  }
  return architecture;
}

/** The architecture of a base model file. */
export async function modelArchitecture(file: string): Promise<string> {
  try {
    return (await inspectGguf(file, file, 'model')).architecture;
  } catch (error) {
    if (error instanceof GgufError) throw new GenomeError('bad-adapter', `the base model: ${error.message}`);
    throw error;
  }
}
