/**
 * Parses a `*.persona.md` file: YAML front matter between `---` lines (parsed with `yaml`, which
 * keeps the source range of every node) and a Markdown body, the system prompt. Never throws:
 * every mistake becomes a {@link PersonaProblem} with the range of the offending key or value,
 * and a persona is returned whenever the file has a usable id (its broken fields take defaults).
 */
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, type Node, type Pair } from 'yaml';
import {
  brainProviders,
  defaultParticipation,
  roomRoles,
  type BrainConfig,
  type BrainProvider,
  type ParticipationConfig,
  type PersonaDefinition,
  type PersonaProblem,
  type Position,
  type RoomRole,
} from '../../../protocol/personas';
import { roomIdPattern } from '../../../protocol/rooms';
import { readGgufHeader } from './modelFile';
import { brainKeys, closest, describeKind, participationKeys, personaIdPattern, personaKeys, type KeySpec } from './schema';

export const personaFileSuffix = '.persona.md';

/** Participant ids a node uses for its human and system participants. */
const reservedIds = new Set(['user', 'system']);

export interface ParseOptions {
  /** Absolute path of the file (model paths are relative to its folder). */
  file: string;
  /** Checks a `llama` model path; default: the file system. */
  fileExists?: (absolutePath: string) => boolean;
  /** A node without VS Code (CLI): `vscode-lm` cannot work there. */
  headless?: boolean;
  /** Checks an existing `llama` model file; default: its GGUF header (brains/gguf.ts). */
  modelProblem?: (absolutePath: string) => string | undefined;
}

export type Range = PersonaProblem['range'];

export interface ParsedPersonaFile {
  file: string;
  /** Undefined when the file has no usable front matter or id. */
  persona?: PersonaDefinition;
  problems: PersonaProblem[];
  /** Where the id's value is (duplicate-id problems point there). */
  idRange?: Range;
}

export interface FrontMatter {
  /** Offsets into the file text. */
  start: number;
  end: number;
  /** Start of the body (after the closing line), or the end of the text. */
  bodyStart: number;
  closed: boolean;
}

/** Finds the front matter block: the file starts with a `---` line and it ends at the next `---` (or `...`) line. */
export function splitFrontMatter(text: string): FrontMatter | undefined {
  const bom = text.startsWith('\uFEFF') ? 1 : 0;
  const firstEnd = lineEnd(text, bom);
  if (text.slice(bom, firstEnd.contentEnd).trimEnd() !== '---') return undefined;
  const start = firstEnd.next;
  let offset = start;
  while (offset < text.length) {
    const { contentEnd, next } = lineEnd(text, offset);
    const line = text.slice(offset, contentEnd).trimEnd();
    if (line === '---' || line === '...') return { start, end: offset, bodyStart: next, closed: true };
    offset = next;
  }
  return { start, end: text.length, bodyStart: text.length, closed: false };
}

function lineEnd(text: string, from: number): { contentEnd: number; next: number } {
  const newline = text.indexOf('\n', from);
  if (newline < 0) return { contentEnd: text.length, next: text.length };
  return { contentEnd: newline > from && text[newline - 1] === '\r' ? newline - 1 : newline, next: newline + 1 };
}

/** Offset ↔ LSP position in one text. */
export class LineIndex {
  private readonly starts: number[] = [0];
  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }
  position(offset: number): Position {
    const clamped = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= clamped) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: clamped - this.starts[lo]! };
  }
  offset(position: Position): number {
    const start = this.starts[Math.min(Math.max(position.line, 0), this.starts.length - 1)] ?? 0;
    return Math.min(start + Math.max(position.character, 0), this.text.length);
  }
  range(start: number, end: number): Range {
    return { start: this.position(start), end: this.position(Math.max(start, end)) };
  }
}

class ProblemSink {
  readonly problems: PersonaProblem[] = [];
  constructor(private readonly lines: LineIndex, private readonly base: number) {}

  /** A range of a YAML node (offsets relative to the front matter). */
  nodeRange(node: Node | null | undefined, fallback: Range): Range {
    const r = node?.range;
    if (!r) return fallback;
    return this.lines.range(this.base + r[0], this.base + r[1]);
  }

  add(range: Range, code: string, message: string, severity: PersonaProblem['severity'] = 'error'): void {
    this.problems.push({ range, code, message, severity });
  }
}

const wholeFirstLine: Range = { start: { line: 0, character: 0 }, end: { line: 0, character: 3 } };

export function parsePersonaFile(text: string, options: ParseOptions): ParsedPersonaFile {
  const lines = new LineIndex(text);
  const fm = splitFrontMatter(text);
  const result: ParsedPersonaFile = { file: options.file, problems: [] };
  if (!fm) {
    result.problems.push({
      range: lines.range(0, lineEnd(text, 0).contentEnd),
      severity: 'error',
      code: 'no-front-matter',
      message: 'a persona file starts with YAML front matter: a `---` line, keys such as `id:` and `brain:`, and another `---` line',
    });
    return result;
  }
  const sink = new ProblemSink(lines, fm.start);
  if (!fm.closed) sink.add(lines.range(0, 3), 'unclosed-front-matter', 'the front matter is not closed: add a `---` line before the system prompt');

  const yamlText = text.slice(fm.start, fm.end);
  const doc = parseDocument(yamlText, { prettyErrors: false, uniqueKeys: true });
  for (const error of doc.errors) {
    sink.add(lines.range(fm.start + error.pos[0], fm.start + Math.max(error.pos[1], error.pos[0] + 1)), 'yaml-syntax', `YAML: ${error.message.split('\n')[0]}`);
  }
  const bodyRange = lines.range(fm.bodyStart, text.length);
  const systemPrompt = text.slice(fm.bodyStart).trim();

  const root = doc.contents;
  if (!isMap(root)) {
    if (doc.errors.length === 0) {
      sink.add(root ? sink.nodeRange(root, wholeFirstLine) : lines.range(0, 3), 'wrong-type', 'the front matter must be a map of keys (`id: reviewer`, `brain: librarian`, …)');
    }
    result.problems = sink.problems;
    return result;
  }

  const fields = new Map<string, Pair<Node, Node | null>>();
  for (const pair of root.items as Pair<Node, Node | null>[]) {
    const key = scalarString(pair.key);
    if (key === undefined) {
      sink.add(sink.nodeRange(pair.key, wholeFirstLine), 'wrong-type', 'keys of the front matter are plain names');
      continue;
    }
    if (!(key in personaKeys)) {
      unknownKey(sink, pair.key, key, personaKeys, 'the front matter');
      continue;
    }
    fields.set(key, pair);
  }
  const keyRange = (key: string) => sink.nodeRange(fields.get(key)?.key, wholeFirstLine);
  const valueRange = (key: string) => {
    const pair = fields.get(key);
    return pair?.value ? sink.nodeRange(pair.value, sink.nodeRange(pair.key, wholeFirstLine)) : sink.nodeRange(pair?.key, wholeFirstLine);
  };

  // id
  let id: string | undefined;
  const idPair = fields.get('id');
  if (!idPair) {
    sink.add(sink.nodeRange(root, wholeFirstLine), 'missing-key', 'the persona has no `id:` (lower-case letters, digits, `-` and `_`), so it cannot be mentioned or hosted');
  } else {
    const value = scalarString(idPair.value);
    result.idRange = valueRange('id');
    if (value === undefined || value === '') sink.add(valueRange('id'), 'wrong-type', '`id` must be text such as `reviewer`');
    else if (!personaIdPattern.test(value)) sink.add(valueRange('id'), 'bad-id', `\`${value}\` is not a valid id: use lower-case letters, digits, \`-\` and \`_\`, starting with a letter or digit (up to 64)`);
    else if (reservedIds.has(value)) sink.add(valueRange('id'), 'bad-id', `\`${value}\` is reserved (it names the human or system participant of a node): choose another id`);
    else id = value;
  }

  const name = stringField(sink, fields.get('name'), 'name') ?? id;
  const description = stringField(sink, fields.get('description'), 'description');
  const brain = parseBrain(sink, fields.get('brain'), options, fm.start === 0 ? wholeFirstLine : keyRange('brain'));
  const capabilities = stringList(sink, fields.get('capabilities'), 'capabilities');
  const triggers = stringList(sink, fields.get('triggers'), 'triggers');
  for (const [i, trigger] of triggers.entries()) {
    if (trigger.length > 2 && trigger.startsWith('/') && trigger.lastIndexOf('/') > 0) {
      const last = trigger.lastIndexOf('/');
      try {
        new RegExp(trigger.slice(1, last), trigger.slice(last + 1));
      } catch (error) {
        const seq = fields.get('triggers')?.value;
        const item = isSeq(seq) ? (seq.items[i] as Node | undefined) : undefined;
        sink.add(sink.nodeRange(item, valueRange('triggers')), 'bad-trigger', `the trigger ${trigger} is not a valid regular expression: ${(error as Error).message}`);
      }
    }
  }
  const genomes = stringList(sink, fields.get('genomes'), 'genomes');
  const knowledge = stringList(sink, fields.get('knowledge'), 'knowledge');
  const rooms = parseRooms(sink, fields.get('rooms'));
  const participation = parseParticipation(sink, fields.get('participation'));

  if (systemPrompt === '' && fm.closed) {
    sink.add(fm.bodyStart < text.length ? bodyRange : lines.range(fm.end, fm.bodyStart), 'empty-prompt', 'the body is empty: write the system prompt (who the persona is and how it answers) below the front matter', 'warning');
  }

  result.problems = sink.problems;
  if (id !== undefined) {
    result.persona = {
      id,
      name: name || id,
      ...(description ? { description } : {}),
      brain,
      capabilities,
      triggers,
      rooms,
      participation,
      genomes,
      knowledge,
      systemPrompt,
      file: options.file,
    };
  }
  return result;
}

/** `duplicate-id` problems for files that declare the same id as an earlier file (by path order). */
export function duplicateIdProblems(files: readonly ParsedPersonaFile[]): Map<string, PersonaProblem[]> {
  const byId = new Map<string, ParsedPersonaFile[]>();
  for (const file of files) {
    if (!file.persona) continue;
    const list = byId.get(file.persona.id) ?? [];
    list.push(file);
    byId.set(file.persona.id, list);
  }
  const problems = new Map<string, PersonaProblem[]>();
  for (const [id, list] of byId) {
    if (list.length < 2) continue;
    for (const file of list) {
      const others = list.filter((f) => f !== file).map((f) => f.file);
      const problem: PersonaProblem = {
        range: file.idRange ?? wholeFirstLine,
        severity: 'error',
        code: 'duplicate-id',
        message: `the id \`${id}\` is also used by ${others.map((o) => path.basename(o)).join(', ')}: persona ids must be unique`,
      };
      problems.set(file.file, [...(problems.get(file.file) ?? []), problem]);
    }
  }
  return problems;
}

// ---------------------------------------------------------------- fields

function scalarString(node: unknown): string | undefined {
  if (isScalar(node) && typeof node.value === 'string') return node.value;
  return undefined;
}

function unknownKey(sink: ProblemSink, keyNode: Node, key: string, keys: Readonly<Record<string, KeySpec>>, where: string): void {
  const names = Object.keys(keys);
  const guess = closest(key, names);
  const hint = guess ? `did you mean \`${guess}\`?` : `expected one of ${names.map((n) => `\`${n}\``).join(', ')}`;
  sink.add(sink.nodeRange(keyNode, wholeFirstLine), 'unknown-key', `unknown key \`${key}\` in ${where}: ${hint}`, 'warning');
}

function wrongType(sink: ProblemSink, node: Node | null | undefined, keyNode: Node, label: string, spec: KeySpec): void {
  sink.add(sink.nodeRange(node ?? keyNode, sink.nodeRange(keyNode, wholeFirstLine)), 'wrong-type', `\`${label}\` must be ${describeKind(spec)}`);
}

function stringField(sink: ProblemSink, pair: Pair<Node, Node | null> | undefined, key: string): string | undefined {
  if (!pair) return undefined;
  const value = scalarString(pair.value);
  if (value === undefined) {
    wrongType(sink, pair.value, pair.key, key, personaKeys[key]!);
    return undefined;
  }
  return value.trim();
}

function stringList(sink: ProblemSink, pair: Pair<Node, Node | null> | undefined, key: string): string[] {
  if (!pair || pair.value === null || (isScalar(pair.value) && pair.value.value === null)) return [];
  const seq = pair.value;
  if (!isSeq(seq)) {
    sink.add(sink.nodeRange(seq, sink.nodeRange(pair.key, wholeFirstLine)), 'wrong-type', `\`${key}\` must be a list of text, e.g. \`${key}: [a, b]\` or one \`- item\` per line`);
    return [];
  }
  const out: string[] = [];
  for (const item of seq.items as Node[]) {
    const value = isScalar(item) && (typeof item.value === 'string' || typeof item.value === 'number') ? String(item.value).trim() : undefined;
    if (value === undefined || value === '') sink.add(sink.nodeRange(item, sink.nodeRange(seq, wholeFirstLine)), 'wrong-type', `each item of \`${key}\` must be non-empty text`);
    else if (!out.includes(value)) out.push(value);
  }
  return out;
}

function parseBrain(sink: ProblemSink, pair: Pair<Node, Node | null> | undefined, options: ParseOptions, fallback: Range): BrainConfig {
  const brain: BrainConfig = { provider: 'librarian' };
  if (!pair) return brain;
  const value = pair.value;
  const providerNode = isScalar(value) ? value : undefined;
  let provider: string | undefined;
  let providerAt: Node | undefined;
  const fields = new Map<string, Pair<Node, Node | null>>();
  if (providerNode) {
    provider = scalarString(providerNode);
    providerAt = providerNode;
    if (provider === undefined) wrongType(sink, value, pair.key, 'brain', personaKeys.brain!);
  } else if (isMap(value)) {
    for (const item of value.items as Pair<Node, Node | null>[]) {
      const key = scalarString(item.key);
      if (key === undefined || !(key in brainKeys)) {
        unknownKey(sink, item.key, key ?? String(item.key), brainKeys, '`brain`');
        continue;
      }
      fields.set(key, item);
    }
    const providerPair = fields.get('provider');
    if (!providerPair) {
      sink.add(sink.nodeRange(pair.key, fallback), 'missing-key', `\`brain\` needs a \`provider\`: one of ${brainProviders.join(', ')}`);
    } else {
      provider = scalarString(providerPair.value);
      providerAt = providerPair.value ?? providerPair.key;
      if (provider === undefined) wrongType(sink, providerPair.value, providerPair.key, 'brain.provider', brainKeys.provider!);
    }
  } else {
    wrongType(sink, value, pair.key, 'brain', personaKeys.brain!);
  }
  if (provider !== undefined) {
    if ((brainProviders as readonly string[]).includes(provider)) brain.provider = provider as BrainProvider;
    else {
      const guess = closest(provider, brainProviders);
      sink.add(sink.nodeRange(providerAt, fallback), 'unknown-provider', `unknown brain provider \`${provider}\`: use ${brainProviders.map((p) => `\`${p}\``).join(', ')}${guess ? ` (did you mean \`${guess}\`?)` : ''}`);
      provider = undefined;
    }
  }
  for (const [key, item] of fields) {
    if (key === 'provider') continue;
    const spec = brainKeys[key]!;
    const v = scalarValue(sink, item, `brain.${key}`, spec);
    if (v === undefined) continue;
    (brain as unknown as Record<string, unknown>)[key] = v;
  }
  if (provider === undefined) return brain;

  const modelPair = fields.get('model');
  const brainRange = sink.nodeRange(pair.key, fallback);
  if (brain.provider === 'llama') {
    if (!brain.model) sink.add(brainRange, 'missing-model', 'the `llama` brain needs a `model`: a GGUF file path or `hf:<owner>/<repo>/<file>.gguf`');
    else if (brain.model.startsWith('hf:')) {
      if (!/^hf:[^/\s]+\/[^/\s]+\/.+\.gguf$/i.test(brain.model)) {
        sink.add(sink.nodeRange(modelPair?.value, brainRange), 'bad-model', `\`${brain.model}\` is not a Hugging Face model reference: write \`hf:<owner>/<repo>/<file>.gguf\``);
      }
    } else {
      const absolute = path.resolve(path.dirname(options.file), brain.model);
      const exists = options.fileExists ?? defaultFileExists;
      if (!exists(absolute)) sink.add(sink.nodeRange(modelPair?.value, brainRange), 'missing-model', `the model file ${absolute} does not exist`);
      else {
        const problem = (options.modelProblem ?? defaultModelProblem)(absolute);
        if (problem) sink.add(sink.nodeRange(modelPair?.value, brainRange), 'bad-model', problem);
      }
    }
  } else if (brain.provider === 'openai') {
    if (!brain.model) sink.add(brainRange, 'missing-model', 'the `openai` brain needs a `model` (the model name at the endpoint, e.g. `llama3.2`)');
    if (!brain.baseUrl) sink.add(brainRange, 'no-base-url', 'no `baseUrl`: the `openai` brain will call https://api.openai.com/v1', 'info');
    else if (!/^https?:\/\/[^\s]+$/.test(brain.baseUrl)) sink.add(sink.nodeRange(fields.get('baseUrl')?.value, brainRange), 'bad-base-url', `\`${brain.baseUrl}\` is not an http(s) URL`);
  } else if (brain.provider === 'vscode-lm' && options.headless) {
    sink.add(sink.nodeRange(providerAt, brainRange), 'provider-unavailable', 'the `vscode-lm` brain needs VS Code: this node runs headless, so the persona stays degraded', 'warning');
  }
  if (brain.loraScale !== undefined && brain.provider !== 'llama') {
    sink.add(sink.nodeRange(fields.get('loraScale')?.key, brainRange), 'unused-key', `\`loraScale\` only applies to the \`llama\` brain (LoRA adapters); the \`${brain.provider}\` brain ignores it`, 'warning');
  }
  return brain;
}

/** A scalar checked against its spec; a problem and undefined when it does not fit. */
function scalarValue(sink: ProblemSink, pair: Pair<Node, Node | null>, label: string, spec: KeySpec): string | number | boolean | undefined {
  const node = pair.value;
  const value = isScalar(node) ? node.value : undefined;
  const range = sink.nodeRange(node ?? pair.key, sink.nodeRange(pair.key, wholeFirstLine));
  switch (spec.kind) {
    case 'string':
      if (typeof value !== 'string') break;
      if (spec.values && !spec.values.includes(value)) {
        sink.add(range, 'bad-value', `\`${label}\` must be ${describeKind(spec)}, not \`${value}\``);
        return undefined;
      }
      return value;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      break;
    case 'number':
    case 'integer':
      if (typeof value !== 'number' || !Number.isFinite(value) || (spec.kind === 'integer' && !Number.isInteger(value))) break;
      if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) {
        sink.add(range, 'out-of-range', `\`${label}\` must be ${describeKind(spec)}; ${value} is out of range`);
        return undefined;
      }
      return value;
    default:
      break;
  }
  const shown = value === undefined ? (node ? 'a list or map' : 'empty') : `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;
  sink.add(range, 'wrong-type', `\`${label}\` must be ${describeKind(spec)}, not ${shown}`);
  return undefined;
}

function parseRooms(sink: ProblemSink, pair: Pair<Node, Node | null> | undefined): Record<string, RoomRole> {
  const rooms: Record<string, RoomRole> = {};
  if (!pair || pair.value === null || (isScalar(pair.value) && pair.value.value === null)) return rooms;
  const value = pair.value;
  if (isSeq(value)) {
    // `rooms: [general, reviews]` is accepted: every room as `member`.
    for (const item of value.items as Node[]) {
      const room = scalarString(item);
      if (room === undefined || !roomIdPattern.test(room)) sink.add(sink.nodeRange(item, wholeFirstLine), 'bad-room', `${room === undefined ? 'this item' : `\`${room}\``} is not a room id (lower-case letters, digits, \`-\` and \`_\`)`);
      else rooms[room] = 'member';
    }
    return rooms;
  }
  if (!isMap(value)) {
    sink.add(sink.nodeRange(value, wholeFirstLine), 'wrong-type', '`rooms` must be a map of room → role, e.g. `general: expert`');
    return rooms;
  }
  for (const item of value.items as Pair<Node, Node | null>[]) {
    const room = scalarString(item.key);
    if (room === undefined || !roomIdPattern.test(room)) {
      sink.add(sink.nodeRange(item.key, wholeFirstLine), 'bad-room', `${room === undefined ? 'this key' : `\`${room}\``} is not a room id (lower-case letters, digits, \`-\` and \`_\`)`);
      continue;
    }
    const role = item.value === null || (isScalar(item.value) && item.value.value === null) ? 'member' : scalarString(item.value);
    if (role === undefined || !(roomRoles as readonly string[]).includes(role)) {
      sink.add(sink.nodeRange(item.value, sink.nodeRange(item.key, wholeFirstLine)), 'bad-role', `the role in \`${room}\` must be one of ${roomRoles.map((r) => `\`${r}\``).join(', ')}`);
      rooms[room] = 'member';
    } else rooms[room] = role as RoomRole;
  }
  return rooms;
}

function parseParticipation(sink: ProblemSink, pair: Pair<Node, Node | null> | undefined): ParticipationConfig {
  const participation: ParticipationConfig = { ...defaultParticipation };
  if (!pair || pair.value === null || (isScalar(pair.value) && pair.value.value === null)) return participation;
  if (!isMap(pair.value)) {
    sink.add(sink.nodeRange(pair.value, wholeFirstLine), 'wrong-type', '`participation` must be a map: `mentionsOnly`, `maxRepliesPerMinute`, `cooldownSeconds`, `maxChainDepth`');
    return participation;
  }
  for (const item of pair.value.items as Pair<Node, Node | null>[]) {
    const key = scalarString(item.key);
    if (key === undefined || !(key in participationKeys)) {
      unknownKey(sink, item.key, key ?? String(item.key), participationKeys, '`participation`');
      continue;
    }
    const v = scalarValue(sink, item, `participation.${key}`, participationKeys[key]!);
    if (v !== undefined) (participation as unknown as Record<string, unknown>)[key] = v;
  }
  return participation;
}

function defaultModelProblem(absolute: string): string | undefined {
  const header = readGgufHeader(absolute);
  return typeof header === 'string' ? header : undefined;
}

function defaultFileExists(absolute: string): boolean {
  try {
    return statSync(absolute).isFile();
  } catch {
    return false;
  }
}
