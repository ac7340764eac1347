/** What the language features of *.persona.md files learn from the running node (the persona service gives it). */
import type { ParsedPersonaFile } from './personaFile';

export interface PersonaLanguageDeps {
  /** Persona files known on disk (the registry's last load), for duplicate-id checks. */
  personaFiles?: () => readonly ParsedPersonaFile[];
  /** Rooms this node knows (joined or seen on the mesh). */
  roomNames?: () => readonly string[];
  /** Capability names seen on the mesh (local and remote personas, genomes). */
  capabilityNames?: () => readonly string[];
  /** Genome ids known on the mesh. */
  genomeIds?: () => readonly string[];
  /** A node without VS Code: `vscode-lm` personas get a warning. */
  headless?: boolean;
  fileExists?: (absolutePath: string) => boolean;
}
