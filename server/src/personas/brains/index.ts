/**
 * Makes the brain a persona's file asks for: `librarian`, `openai`, `llama` (the node's shared
 * model process) and `vscode-lm` (through the client; absent in a headless node).
 */
import * as path from 'node:path';
import type { PersonaDefinition } from '../../../../protocol/personas';
import { BrainError, type Brain, type BrainRequest } from './brain';
import { LibrarianBrain, LibrarianIndex, type LibrarianOptions } from './librarian';
import { LlamaBrain, type LlamaBrainOptions } from './llama';
import type { LlamaModelsOptions } from './modelDownload';
import { OpenAiBrain } from './openai';
import { VscodeLmBrain, type LanguageModelBridge } from './vscodeLm';

export interface BrainFactoryOptions {
  /** The workspace folders (read at each brain's creation). */
  workspaceFolders: () => readonly string[];
  librarian?: Omit<LibrarianOptions, 'roots' | 'knowledge'>;
  /** The API key of an `openai` persona's endpoint (SecretStorage, through the client). */
  apiKey?: (persona: PersonaDefinition) => Promise<string | undefined> | string | undefined;
  /** The client's language models (absent in a headless node). */
  languageModels?: () => LanguageModelBridge | undefined;
  /** LoRA adapters of a llama persona (from its genomes, once genomes exist). */
  llamaAdapters?: (persona: PersonaDefinition) => LlamaBrainOptions['adapters'];
  /** Where llama personas' `hf:` models are downloaded; without it they must name a file. */
  llamaModels?: LlamaModelsOptions;
}

export function createBrainFactory(options: BrainFactoryOptions): (persona: PersonaDefinition) => Brain {
  // Librarian personas over the same folders share one index.
  const indexes = new Map<string, LibrarianIndex>();
  return (persona) => {
    switch (persona.brain.provider) {
      case 'librarian': {
        const librarian: LibrarianOptions = {
          ...options.librarian,
          roots: [...options.workspaceFolders()],
          knowledge: persona.knowledge.map((k) => path.resolve(path.dirname(persona.file), k)),
        };
        const key = JSON.stringify([librarian.roots, librarian.knowledge]);
        let index = indexes.get(key);
        if (!index) {
          if (indexes.size >= 16) indexes.clear();
          index = new LibrarianIndex(librarian);
          indexes.set(key, index);
        }
        return new LibrarianBrain(librarian, index);
      }
      case 'openai':
        return new OpenAiBrain({ config: persona.brain, apiKey: () => options.apiKey?.(persona) });
      case 'llama': {
        const adapters = options.llamaAdapters?.(persona);
        return new LlamaBrain(persona, { ...(adapters ? { adapters } : {}), ...(options.llamaModels ? { models: options.llamaModels } : {}) });
      }
      case 'vscode-lm':
        return new VscodeLmBrain(persona.brain, options.languageModels?.());
      default: {
        // A provider this version does not know (a newer peer's file): degraded with the reason.
        const provider = String(persona.brain.provider);
        return new UnavailableBrain(persona.brain.provider, `the ${provider} brain is not available in this version`);
      }
    }
  };
}

class UnavailableBrain implements Brain {
  constructor(readonly provider: PersonaDefinition['brain']['provider'], private readonly reason: string) {}
  // eslint-disable-next-line require-yield
  async *reply(_request: BrainRequest): AsyncIterable<string> {
    await Promise.resolve();
    throw new BrainError('unavailable', this.reason);
  }
  dispose(): Promise<void> {
    return Promise.resolve();
  }
}
