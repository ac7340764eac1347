/**
 * Personas on this node as one component: the registry of persona files, the directory of
 * personas mesh-wide, and participation in rooms. MeshNode creates it once Rooms is up:
 *
 *   const personas = new PersonaService({ rooms, transport, headless, clock, logger });
 *   await lifecycle.startComponent(personas);
 */
import { systemClock, type Clock } from '../kernel/clock';
import { Lifecycle, type Component } from '../kernel/lifecycle';
import { silentLogger, type Logger } from '../kernel/log';
import type { PersonaDefinition } from '../../../protocol/personas';
import type { Rooms } from '../rooms/rooms';
import type { MeshPort } from '../kernel/meshPort';
import type { PersonaLanguageDeps } from './languageDeps';
import type { Brain } from './brains/brain';
import type { LlamaAdapterSpec } from '../models/loraAdapter';
import { createBrainFactory } from './brains';
import type { LanguageModelBridge } from './brains/vscodeLm';
import type { LlamaModelsOptions } from './brains/modelDownload';
import { PersonaDirectory } from './directory';
import type { DisabledPersonas } from './disabledPersonas';
import { Participation, type ParticipationOptions } from './participation';
import { PersonaRegistry } from './registry';

export interface PersonaServiceOptions {
  rooms: Rooms;
  /** The node's room transport (persona announcements travel beside room presence). */
  transport: MeshPort;
  /** Workspace folders and `personaMesh.personaFolders`; the client can change them later. */
  workspaceFolders?: string[];
  extraFolders?: string[];
  /** A node without VS Code (the CLI): `vscode-lm` personas are degraded. */
  headless?: boolean;
  clock?: Clock;
  logger?: Logger;
  /** The API key of an `openai` persona's endpoint (from SecretStorage through the client). */
  apiKey?: (persona: PersonaDefinition) => Promise<string | undefined> | string | undefined;
  /** The client's language models for `vscode-lm` personas (`new LanguageModelBridge(connection)`); absent in a headless node. */
  languageModels?: () => LanguageModelBridge | undefined;
  /** Where llama personas' `hf:` models are downloaded (ModelDownloads.llamaModels()). */
  llamaModels?: LlamaModelsOptions;
  /** Replaces the brain factory (tests). */
  createBrain?: (persona: PersonaDefinition) => Brain;
  participation?: Partial<Omit<ParticipationOptions, 'rooms' | 'personas' | 'createBrain' | 'clock' | 'logger'>>;
  /** Persona announcement period. Default 10 s. */
  announceIntervalMs?: number;
  /** What adopted genomes add to a persona (genomes/apply.ts): prompt and knowledge, LoRA adapters. */
  genomes?: { adopt: (persona: PersonaDefinition) => PersonaDefinition; llamaAdapters: (persona: PersonaDefinition) => LlamaAdapterSpec[] };
  /** Keeps the user's disabled personas across restarts (the node's database). */
  disabled?: DisabledPersonas;
}

export class PersonaService implements Component {
  readonly name = 'personas';
  readonly registry: PersonaRegistry;
  readonly directory: PersonaDirectory;
  readonly participation: Participation;
  private readonly lifecycle: Lifecycle;

  constructor(private readonly options: PersonaServiceOptions) {
    const clock = options.clock ?? systemClock;
    const logger = options.logger ?? silentLogger;
    this.registry = new PersonaRegistry({
      workspaceFolders: options.workspaceFolders ?? [],
      extraFolders: options.extraFolders ?? [],
      headless: options.headless ?? false,
      clock,
      logger,
      ...(options.genomes ? { adopt: options.genomes.adopt } : {}),
      ...(options.disabled ? { disabled: options.disabled } : {}),
    });
    this.directory = new PersonaDirectory({ transport: options.transport, registry: this.registry, clock, logger, ...(options.announceIntervalMs ? { intervalMs: options.announceIntervalMs } : {}) });
    this.participation = new Participation({
      ...options.participation,
      rooms: options.rooms,
      transport: options.transport,
      personas: this.registry,
      profiles: () => this.directory.all(),
      createBrain: options.createBrain ?? createBrainFactory({
          workspaceFolders: () => this.registry.workspace,
          ...(options.apiKey ? { apiKey: options.apiKey } : {}),
          ...(options.languageModels ? { languageModels: options.languageModels } : {}),
          ...(options.llamaModels ? { llamaModels: options.llamaModels } : {}),
          ...(options.genomes ? { llamaAdapters: (persona: PersonaDefinition) => () => options.genomes!.llamaAdapters(persona) } : {}),
        }),
      clock,
      logger,
    });
    this.lifecycle = new Lifecycle([this.registry, this.directory, this.participation]);
  }

  start(): Promise<void> {
    return this.lifecycle.start();
  }

  async stop(): Promise<void> {
    const errors = await this.lifecycle.stop();
    if (errors.length > 0) throw errors[0]!;
  }

  /** Asks a persona hosted here one question outside any room (challenges); see Participation.prompt. */
  prompt(personaId: string, question: string, options: { signal?: AbortSignal; jsonSchema?: Record<string, unknown> } = {}): Promise<string> {
    return this.participation.prompt(personaId, question, options);
  }

  /** Ids of the personas hosted here that can be asked (not disabled). */
  localPersonaIds(): string[] {
    return this.registry
      .list()
      .filter((p) => p.state !== 'disabled')
      .map((p) => p.persona.id);
  }

  /** What the persona language features need from the node. */
  languageDeps(): PersonaLanguageDeps {
    return {
      personaFiles: () => this.registry.parsedFiles(),
      roomNames: () => this.options.rooms.list().map((r) => r.id),
      capabilityNames: () => this.directory.capabilityNames(),
      headless: this.options.headless ?? false,
    };
  }
}
