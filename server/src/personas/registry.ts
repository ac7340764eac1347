/**
 * The personas hosted by this node: loaded from `*.persona.md` files in the workspace folders'
 * `.mesh/personas/` and in extra folders the client names (`personaMesh.personaFolders`), kept
 * live with fs.watch (debounced; a folder that does not exist yet is watched through its nearest
 * existing parent), each with its state: online, busy (answering), degraded (with the reason:
 * a broken file, a failing brain) or disabled by the user.
 */
import { EventEmitter } from 'node:events';
import { statSync, watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { systemClock, type Clock, type TimerHandle } from '../kernel/clock';
import type { Component } from '../kernel/lifecycle';
import { silentLogger, type Logger } from '../kernel/log';
import { overLimit } from '../../../protocol/sizeLimit';
import type { PersonaDefinition, PersonaFoldersParams, PersonaProblem, PersonaState, PersonaSummary } from '../../../protocol/personas';
import type { DisabledPersonas } from './disabledPersonas';
import { duplicateIdProblems, parsePersonaFile, personaFileSuffix, type ParsedPersonaFile } from './personaFile';

export interface PersonaRegistryOptions {
  workspaceFolders?: string[];
  extraFolders?: string[];
  clock?: Clock;
  logger?: Logger;
  /** Quiet time after the last file change before reloading. Default 150 ms. */
  debounceMs?: number;
  /** A node without VS Code (`vscode-lm` personas are degraded). */
  headless?: boolean;
  /** Bigger files are refused. Default 256 KiB. */
  maxFileBytes?: number;
  /** Files read per folder at most. Default 200. */
  maxFilesPerFolder?: number;
  /** Adds what the persona's genomes bring (genomes/apply.ts) to the persona of the file. */
  adopt?: (persona: PersonaDefinition) => PersonaDefinition;
  /** Where the user's disabled personas are kept across restarts (none: until the node stops). */
  disabled?: DisabledPersonas;
}

export interface LocalPersona {
  persona: PersonaDefinition;
  state: PersonaState;
  /** Why degraded or disabled. */
  reason?: string;
  /** Problems of its file (duplicates included). */
  problems: PersonaProblem[];
}

export interface PersonaRegistryEvents {
  /** The set of personas, or one's state, changed. */
  changed: [LocalPersona[]];
  /** A reload finished: every file parsed (for diagnostics of files that are not open). */
  loaded: [ParsedPersonaFile[]];
}

/** The folder under a workspace folder that holds its persona files. */
export const workspacePersonaFolder = path.join('.mesh', 'personas');

interface RuntimeState {
  busy: boolean;
  /** A brain failure, set by whoever runs the brain; cleared when it works again. */
  brainProblem?: string;
  disabled: boolean;
}

export class PersonaRegistry extends EventEmitter<PersonaRegistryEvents> implements Component {
  readonly name = 'personas';
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly debounceMs: number;
  private workspaceFolders: string[];
  private extraFolders: string[];
  private files: ParsedPersonaFile[] = [];
  private personas = new Map<string, LocalPersona>();
  private readonly runtime = new Map<string, RuntimeState>();
  private readonly watchers = new Map<string, FSWatcher>();
  private debounce: TimerHandle | undefined;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  private running = false;

  constructor(private readonly options: PersonaRegistryOptions = {}) {
    super();
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger).child('personas');
    this.debounceMs = options.debounceMs ?? 150;
    this.workspaceFolders = options.workspaceFolders ?? [];
    this.extraFolders = options.extraFolders ?? [];
    for (const id of this.loadDisabled()) this.runtime.set(id, { busy: false, disabled: true });
  }

  async start(): Promise<void> {
    this.running = true;
    await this.reload();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.debounce?.cancel();
    this.debounce = undefined;
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
    await this.reloading;
  }

  /** The workspace folders (the librarian indexes them). */
  get workspace(): readonly string[] {
    return this.workspaceFolders;
  }

  /** The folders persona files are read from, in order. */
  folders(): string[] {
    const all = [...this.workspaceFolders.map((w) => path.join(w, workspacePersonaFolder)), ...this.extraFolders].map((f) => path.resolve(f));
    return [...new Set(all)];
  }

  /** The client's folders changed: reload from the new set. */
  async setFolders(params: PersonaFoldersParams): Promise<void> {
    this.workspaceFolders = [...params.workspaceFolders];
    this.extraFolders = [...params.extraFolders];
    if (this.running) await this.reload();
  }

  list(): LocalPersona[] {
    return [...this.personas.values()];
  }

  get(id: string): LocalPersona | undefined {
    return this.personas.get(id);
  }

  /** Every persona file of the last load, parsed (for diagnostics and duplicate checks). */
  parsedFiles(): readonly ParsedPersonaFile[] {
    return this.files;
  }

  summaries(nodeId: string): PersonaSummary[] {
    return this.list().map(({ persona, state, reason }) => ({
      id: persona.id,
      name: persona.name,
      ...(persona.description ? { description: persona.description } : {}),
      nodeId,
      local: true,
      provider: persona.brain.provider,
      ...(persona.brain.model ? { model: persona.brain.model } : {}),
      capabilities: persona.capabilities,
      rooms: Object.keys(persona.rooms),
      state,
      ...(reason ? { reason } : {}),
      file: persona.file,
    }));
  }

  /** Marks a persona busy while it answers. */
  setBusy(id: string, busy: boolean): void {
    this.updateRuntime(id, (r) => (r.busy = busy));
  }

  /** Records a brain failure (undefined = the brain works again). */
  setBrainProblem(id: string, reason: string | undefined): void {
    this.updateRuntime(id, (r) => (reason === undefined ? delete r.brainProblem : (r.brainProblem = reason)));
  }

  setEnabled(id: string, enabled: boolean): LocalPersona {
    if (!this.personas.has(id)) throw new Error(`there is no local persona "${id}"`);
    this.updateRuntime(id, (r) => (r.disabled = !enabled));
    try {
      this.options.disabled?.save([...this.runtime].filter(([, r]) => r.disabled).map(([disabledId]) => disabledId));
    } catch (error) {
      this.logger.warn(`${enabled ? 'enabled' : 'disabled'} ${id} until the node stops: it could not be recorded (${(error as Error).message})`);
    }
    return this.personas.get(id)!;
  }

  /** Reads every folder again (also called by the watchers, debounced). Concurrent calls coalesce. */
  async reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.reloadAgain = false;
        await this.loadOnce();
      } while (this.reloadAgain && this.running);
    })().finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  // ---------------------------------------------------------------- internals

  private loadDisabled(): string[] {
    try {
      return this.options.disabled?.load() ?? [];
    } catch (error) {
      this.logger.warn(`could not read which personas are disabled; every persona starts enabled: ${(error as Error).message}`);
      return [];
    }
  }

  private async loadOnce(): Promise<void> {
    const folders = this.folders();
    const files: ParsedPersonaFile[] = [];
    for (const folder of folders) files.push(...(await this.loadFolder(folder)));
    if (this.running) this.syncWatchers(folders);
    const duplicates = duplicateIdProblems(files);
    for (const file of files) file.problems.push(...(duplicates.get(file.file) ?? []));
    this.files = files;

    const next = new Map<string, LocalPersona>();
    for (const file of files) {
      const persona = file.persona && this.options.adopt ? this.options.adopt(file.persona) : file.persona;
      if (!persona || next.has(persona.id)) continue;
      next.set(persona.id, { persona, problems: file.problems, state: 'online' });
    }
    for (const [id, runtime] of this.runtime) {
      if (next.has(id)) continue;
      // Only the user's choice outlives the file (an editor that truncates before it writes would
      // otherwise enable the persona again); busy and brain problems belong to the brain, now gone.
      if (runtime.disabled) this.runtime.set(id, { busy: false, disabled: true });
      else this.runtime.delete(id);
    }
    this.personas = next;
    for (const id of next.keys()) this.refreshState(id);
    this.logger.debug(`loaded ${next.size} persona(s) from ${files.length} file(s) in ${folders.length} folder(s)`);
    this.emit('loaded', files);
    this.emit('changed', this.list());
  }

  private async loadFolder(folder: string): Promise<ParsedPersonaFile[]> {
    let names: string[];
    try {
      names = (await readdir(folder)).filter((n) => n.endsWith(personaFileSuffix)).sort();
    } catch {
      return [];
    }
    const maxFiles = this.options.maxFilesPerFolder ?? 200;
    if (names.length > maxFiles) {
      this.logger.warn(`${folder} holds ${names.length} persona files; only the first ${maxFiles} are loaded`);
      names = names.slice(0, maxFiles);
    }
    const maxBytes = this.options.maxFileBytes ?? 256 * 1024;
    const out: ParsedPersonaFile[] = [];
    for (const name of names) {
      const file = path.join(folder, name);
      try {
        const info = await stat(file);
        if (!info.isFile()) continue;
        if (info.size > maxBytes) {
          const zero = { line: 0, character: 0 };
          out.push({ file, problems: [{ range: { start: zero, end: zero }, severity: 'error', code: 'too-large', message: `the file is ${overLimit(info.size, maxBytes)}` }] });
          continue;
        }
        const text = await readFile(file, 'utf8');
        out.push(parsePersonaFile(text, { file, headless: this.options.headless ?? false }));
      } catch (error) {
        this.logger.warn(`could not read ${file}: ${(error as Error).message}`);
      }
    }
    return out;
  }

  /** Watches each folder, or its nearest existing parent when it does not exist yet. */
  private syncWatchers(folders: string[]): void {
    const wanted = new Set<string>();
    for (const folder of folders) {
      const target = nearestExisting(folder);
      if (target) wanted.add(target);
    }
    for (const [dir, watcher] of this.watchers) {
      if (!wanted.has(dir)) {
        watcher.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of wanted) {
      if (this.watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, () => this.scheduleReload());
        watcher.on('error', (error) => {
          this.logger.warn(`stopped watching ${dir}: ${error.message}`);
          watcher.close();
          this.watchers.delete(dir);
          this.scheduleReload();
        });
        this.watchers.set(dir, watcher);
      } catch (error) {
        this.logger.warn(`cannot watch ${dir}: ${(error as Error).message}`);
      }
    }
  }

  private scheduleReload(): void {
    if (!this.running) return;
    this.debounce?.cancel();
    this.debounce = this.clock.setTimeout(() => {
      this.debounce = undefined;
      if (this.running) this.reload().catch((error: unknown) => this.logger.error(`reloading personas failed: ${(error as Error).message}`));
    }, this.debounceMs);
  }

  private updateRuntime(id: string, change: (r: RuntimeState) => void): void {
    if (!this.personas.has(id)) return;
    const runtime = this.runtime.get(id) ?? { busy: false, disabled: false };
    change(runtime);
    this.runtime.set(id, runtime);
    const before = this.personas.get(id)!;
    const was = `${before.state}|${before.reason ?? ''}`;
    this.refreshState(id);
    const after = this.personas.get(id)!;
    if (`${after.state}|${after.reason ?? ''}` !== was) this.emit('changed', this.list());
  }

  private refreshState(id: string): void {
    const entry = this.personas.get(id)!;
    const runtime = this.runtime.get(id);
    const fileError = entry.problems.find((p) => p.severity === 'error');
    const headlessLm = entry.problems.find((p) => p.code === 'provider-unavailable');
    let state: PersonaState = 'online';
    let reason: string | undefined;
    if (runtime?.disabled) [state, reason] = ['disabled', 'disabled by the user'];
    else if (fileError) [state, reason] = ['degraded', `${path.basename(entry.persona.file)}:${fileError.range.start.line + 1}: ${fileError.message}`];
    else if (headlessLm) [state, reason] = ['degraded', headlessLm.message];
    else if (runtime?.brainProblem) [state, reason] = ['degraded', runtime.brainProblem];
    else if (runtime?.busy) state = 'busy';
    const next: LocalPersona = { persona: entry.persona, problems: entry.problems, state };
    if (reason) next.reason = reason;
    this.personas.set(id, next);
  }
}

function nearestExisting(folder: string): string | undefined {
  // Synchronous on purpose: called once per folder per reload, on short paths.
  let dir = folder;
  for (let depth = 0; depth < 4; depth++) {
    try {
      if (statSync(dir).isDirectory()) return dir;
    } catch {
      // not there yet
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
  return undefined;
}
