/**
 * Applying genomes to local personas. The persona file's `genomes` list is the record: applying
 * adds the id to it, removing takes it out, and the persona is rebuilt from its file and the
 * genomes held here each time the file or the set of local genomes changes, so removing a genome
 * gives back exactly the persona of the file.
 *
 * - `prompt` layers are appended to the system prompt;
 * - `lora` layers go to the `llama` brain as adapters (the blob file, named by its hash, with the
 *   persona file's `brain.loraScale`, else the manifest's scale, else 1), fixed when its context
 *   is created;
 * - `knowledge` layers are written out once as a folder the librarian indexes with the persona's
 *   own knowledge folders.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, normalize } from 'node:path';
import type { Logger } from '../kernel/log';
import { privateDirMode, privateFileMode } from '../kernel/privateFiles';
import type { LlamaAdapterSpec } from '../models/loraAdapter';
import type { KnowledgeLayerData, PromptLayerData } from '../../../protocol/genomes';
import type { PersonaDefinition } from '../../../protocol/personas';
import { GenomeError } from './errors';
import type { GenomeService } from './service';

export class GenomeApplier {
  constructor(
    private readonly genomes: GenomeService,
    private readonly logger: Logger,
  ) {}

  /** The persona as its file describes it plus the layers of its genomes held here. */
  adopt(persona: PersonaDefinition): PersonaDefinition {
    if (persona.genomes.length === 0) return persona;
    const prompts: string[] = [];
    const knowledge: string[] = [];
    for (const id of persona.genomes) {
      const manifest = this.genomes.isLocal(id) ? this.genomes.manifest(id) : undefined;
      if (!manifest) {
        this.logger.debug(`persona ${persona.id}: genome ${id.slice(0, 12)}… is not held here; the persona runs without it`);
        continue;
      }
      for (const layer of manifest.layers) {
        try {
          if (layer.kind === 'prompt') {
            const data = JSON.parse(readFileSync(this.genomes.blobs.path(layer.blob), 'utf8')) as PromptLayerData;
            if (typeof data.text === 'string' && data.text.trim()) prompts.push(data.text.trim());
          } else if (layer.kind === 'knowledge') {
            knowledge.push(this.knowledgeFolder(layer.blob));
          }
        } catch (error) {
          this.logger.warn(`persona ${persona.id}: the ${layer.kind} layer of genome "${manifest.name}" is unusable: ${(error as Error).message}`);
        }
      }
    }
    if (prompts.length === 0 && knowledge.length === 0) return persona;
    return {
      ...persona,
      systemPrompt: [persona.systemPrompt.trimEnd(), ...prompts].filter(Boolean).join('\n\n'),
      knowledge: [...persona.knowledge, ...knowledge],
    };
  }

  /** LoRA adapters of the persona's genomes held here. */
  adapters(persona: PersonaDefinition): LlamaAdapterSpec[] {
    const adapters: LlamaAdapterSpec[] = [];
    for (const id of persona.genomes) {
      const manifest = this.genomes.isLocal(id) ? this.genomes.manifest(id) : undefined;
      for (const layer of manifest?.layers ?? []) {
        if (layer.kind === 'lora') adapters.push({ path: this.genomes.blobs.path(layer.blob), scale: persona.brain.loraScale ?? layer.scale ?? 1 });
      }
    }
    return adapters;
  }

  /** Adds the genome to the persona file's `genomes` list (the registry reloads the persona). */
  async apply(personaFile: string, id: string, persona?: PersonaDefinition): Promise<void> {
    const manifest = this.genomes.manifest(id);
    if (!manifest || !this.genomes.isLocal(id)) throw new GenomeError('not-found', `genome ${id.slice(0, 12)}… is not held on this node: download it first`);
    if (persona && manifest.layers.some((layer) => layer.kind === 'lora') && persona.brain.provider !== 'llama') {
      throw new GenomeError('bad-adapter', `genome "${manifest.name}" has a LoRA layer, which only a llama persona can use (${persona.id} has the ${persona.brain.provider} brain)`);
    }
    await this.editGenomes(personaFile, (ids) => (ids.includes(id) ? ids : [...ids, id]));
  }

  /** Takes the genome out of the persona file's `genomes` list. */
  async unapply(personaFile: string, id: string): Promise<void> {
    await this.editGenomes(personaFile, (ids) => ids.filter((other) => other !== id));
  }

  private async editGenomes(file: string, change: (ids: string[]) => string[]): Promise<void> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new GenomeError('io', `cannot read the persona file ${file}: ${(error as Error).message}`);
    }
    const edited = setGenomesList(text, change);
    if (edited === undefined) throw new GenomeError('io', `${file} has no YAML front matter (--- … ---) to record the genome in`);
    if (edited !== text) await replaceFile(file, edited);
  }

  /** Writes a knowledge layer's documents out once, under the blob's name. */
  private knowledgeFolder(blob: string): string {
    const folder = join(this.genomes.blobs.root, 'knowledge', blob);
    if (existsSync(folder)) return folder;
    const data = JSON.parse(readFileSync(this.genomes.blobs.path(blob), 'utf8')) as KnowledgeLayerData;
    const temporary = `${folder}.tmp-${process.pid}`;
    for (const document of data.documents ?? []) {
      const relative = normalize(String(document.path)).replace(/^(\.\.(\/|\\|$))+/, '');
      // A peer's path must not leave the folder.
      if (!relative || relative.startsWith('/') || relative.includes('..')) continue;
      const target = join(temporary, relative);
      mkdirSync(dirname(target), { recursive: true, mode: privateDirMode });
      writeFileSync(target, String(document.text), { mode: privateFileMode });
    }
    mkdirSync(temporary, { recursive: true, mode: privateDirMode });
    renameSync(temporary, folder);
    return folder;
  }
}

/**
 * Rewrites the `genomes` key of a persona file's front matter with `change(current ids)`, keeping
 * every other line as it was. Undefined when the file has no front matter.
 */
export function setGenomesList(text: string, change: (ids: string[]) => string[]): string | undefined {
  const newline = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/\r?\n/);
  if (lines[0]?.trim() !== '---') return undefined;
  const end = lines.findIndex((line, i) => i > 0 && line.trim() === '---');
  if (end < 0) return undefined;
  let start = lines.findIndex((line, i) => i > 0 && i < end && /^genomes\s*:/.test(line));
  let ids: string[] = [];
  let stop: number;
  if (start >= 0) {
    const inline = lines[start]!.replace(/^genomes\s*:/, '').replace(/#.*$/, '').trim();
    if (inline.startsWith('[')) ids = inline.replace(/^\[|\]$/g, '').split(',').map(unquote).filter(Boolean);
    stop = start + 1;
    while (stop < end && /^\s+-\s*/.test(lines[stop]!)) {
      ids.push(unquote(lines[stop]!.replace(/^\s+-\s*/, '').replace(/\s#.*$/, '')));
      stop++;
    }
  } else {
    start = end;
    stop = end;
  }
  const next = change(ids.filter(Boolean));
  const block = next.length === 0 ? ['genomes: []'] : ['genomes:', ...next.map((id) => `  - ${id}`)];
  lines.splice(start, stop - start, ...block);
  return lines.join(newline);
}

function unquote(value: string): string {
  return value.trim().replace(/^["']|["']$/g, '');
}

/**
 * Writes a file next to itself and renames it over the original: the persona registry watches the
 * folder and would otherwise read a truncated file in between, see the persona vanish and lose its
 * state. The temporary name does not end in `.persona.md`, so the registry ignores it. A symbolic
 * link is followed, so the link stays a link.
 */
async function replaceFile(file: string, text: string): Promise<void> {
  const target = await realpath(file);
  const temporary = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  try {
    await writeFile(temporary, text, 'utf8');
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new GenomeError('io', `cannot write the persona file ${file}: ${(error as Error).message}`);
  }
}
