/**
 * Makes the brain a persona's file asks for. Only `librarian` exists so far; the other providers
 * give a brain that fails with a one-line reason, so the persona shows as degraded with it.
 */
import * as path from 'node:path';
import type { PersonaDefinition } from '../../protocol/personas';
import { BrainError, type Brain, type BrainRequest } from './brain';
import { LibrarianBrain, type LibrarianOptions } from './librarian';

export interface BrainFactoryOptions {
  /** The workspace folders (read at each brain's creation). */
  workspaceFolders: () => readonly string[];
  librarian?: Omit<LibrarianOptions, 'roots' | 'knowledge'>;
}

export function createBrainFactory(options: BrainFactoryOptions): (persona: PersonaDefinition) => Brain {
  return (persona) => {
    switch (persona.brain.provider) {
      case 'librarian':
        return new LibrarianBrain({
          ...options.librarian,
          roots: [...options.workspaceFolders()],
          knowledge: persona.knowledge.map((k) => path.resolve(path.dirname(persona.file), k)),
        });
      default:
        return new UnavailableBrain(persona.brain.provider, `the ${persona.brain.provider} brain is not available in this version yet`);
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
