/**
 * The keys of a persona file's front matter: what the parser accepts, what completion offers and
 * what hover explains. One table so the three never disagree.
 */
import { brainProviders, roomRoles } from '../../../protocol/personas';

export type ValueKind = 'string' | 'number' | 'integer' | 'boolean' | 'string-list' | 'role-map' | 'object';

export interface KeySpec {
  kind: ValueKind;
  /** Markdown, one or two sentences: shown by hover and completion. */
  description: string;
  /** Allowed values of a string (or of a map's values for `role-map`). */
  values?: readonly string[];
  /** Keys of an `object`. */
  children?: Readonly<Record<string, KeySpec>>;
  /** An `object` may also be written as this child's value alone (`brain: librarian`). */
  shorthand?: string;
  min?: number;
  max?: number;
  required?: boolean;
  /** The snippet completion inserts after `key: `. */
  snippet?: string;
}

export const personaIdPattern = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export const brainKeys: Readonly<Record<string, KeySpec>> = {
  provider: {
    kind: 'string',
    values: brainProviders,
    required: true,
    description:
      'Which brain answers: `librarian` (no model: snippets from a BM25 index of the workspace), `openai` (any OpenAI-compatible endpoint), `llama` (a local GGUF model) or `vscode-lm` (the editor\'s own models; not in headless nodes).',
  },
  model: {
    kind: 'string',
    description: '`llama`: a GGUF file (relative to this file, or absolute) or `hf:<owner>/<repo>/<file>.gguf`. `openai`: the model name at the endpoint. `vscode-lm`: a model family, e.g. `gpt-4o`.',
  },
  baseUrl: { kind: 'string', description: '`openai`: the endpoint, e.g. `http://localhost:11434/v1` (Ollama). The API key lives in VS Code SecretStorage, never in the file.' },
  temperature: { kind: 'number', min: 0, max: 2, description: 'Sampling temperature, 0 (deterministic) to 2.' },
  maxTokens: { kind: 'integer', min: 1, max: 32768, description: 'Longest reply, in tokens.' },
  contextSize: { kind: 'integer', min: 128, max: 131072, description: '`llama`: context window in tokens (the context builder keeps the prompt within it).' },
  threads: { kind: 'integer', min: 1, max: 64, description: '`llama`: CPU threads for decoding. 1 is often fastest on a busy machine.' },
  seed: { kind: 'integer', min: 0, max: 4294967295, description: 'Sampling seed: the same prompt and seed give the same reply.' },
  timeoutSeconds: { kind: 'number', min: 1, max: 600, description: 'Give up on a reply after this many seconds (the persona posts a short notice).' },
  loraScale: {
    kind: 'number',
    min: 0,
    max: 4,
    description: "`llama`: how strongly the LoRA adapters of this persona's genomes act, 0 (not at all) to 4. Default: each genome's own scale (from its manifest), else 1.",
  },
};

export const participationKeys: Readonly<Record<string, KeySpec>> = {
  mentionsOnly: { kind: 'boolean', description: 'Answer only when @mentioned; never bid to answer other messages. Default `false`.' },
  maxRepliesPerMinute: { kind: 'integer', min: 1, max: 60, description: 'Most replies this persona posts per minute, all rooms together. Default 6.' },
  cooldownSeconds: { kind: 'number', min: 0, max: 3600, description: 'Quiet time after a reply in the same room before it answers again. Default 5.' },
  maxChainDepth: { kind: 'integer', min: 0, max: 10, description: 'Longest chain of persona-to-persona replies it extends, so two personas cannot loop. Default 2.' },
};

export const personaKeys: Readonly<Record<string, KeySpec>> = {
  id: {
    kind: 'string',
    required: true,
    description: 'Stable id of the persona: lower-case letters, digits, `-` and `_` (up to 64). It is how the persona is @mentioned and must be unique among your persona files.',
  },
  name: { kind: 'string', description: 'Display name in rooms and in the Personas view. Defaults to the id.' },
  description: { kind: 'string', description: 'One line about what the persona is good at, shown in the Personas view and in @mention completion.' },
  brain: {
    kind: 'object',
    shorthand: 'provider',
    children: brainKeys,
    description: 'The LLM back end that writes the replies: a provider name (`brain: librarian`) or a map with `provider`, `model` and options.',
    snippet: '\n  provider: ${1|librarian,openai,llama,vscode-lm|}\n  model: $2',
  },
  capabilities: {
    kind: 'string-list',
    description: 'What the persona knows about (e.g. `typescript`, `code-review`). Used to pick who answers and to match genomes on the mesh.',
    snippet: '\n  - $1',
  },
  triggers: {
    kind: 'string-list',
    description: 'Words or `/regular expressions/` that make the persona bid to answer a message that does not mention it.',
    snippet: '\n  - $1',
  },
  rooms: {
    kind: 'role-map',
    values: roomRoles,
    description: 'Rooms the persona joins, each with its role: `expert` (answers), `learner` (asks), `moderator`, `observer` (reads only) or `member`.',
    snippet: '\n  ${1:general}: ${2|expert,learner,moderator,observer,member|}',
  },
  participation: {
    kind: 'object',
    children: participationKeys,
    description: 'Limits that keep the persona polite: mentions only, replies per minute, cooldown and a cap on persona-to-persona chains.',
    snippet: '\n  mentionsOnly: ${1|false,true|}\n  maxRepliesPerMinute: ${2:6}\n  cooldownSeconds: ${3:5}',
  },
  genomes: { kind: 'string-list', description: 'Genome ids adopted by this persona (prompt layers, LoRA adapters, knowledge packs).', snippet: '\n  - $1' },
  knowledge: {
    kind: 'string-list',
    description: 'Folders of documents (relative to this file, or absolute) the `librarian` indexes besides the workspace.',
    snippet: '\n  - $1',
  },
};

/** The spec of the key at `path` (e.g. `['brain', 'model']`), if the schema has it. */
export function specAt(path: readonly string[]): KeySpec | undefined {
  let keys: Readonly<Record<string, KeySpec>> | undefined = personaKeys;
  let spec: KeySpec | undefined;
  for (const part of path) {
    spec = keys?.[part];
    if (!spec) return undefined;
    keys = spec.children;
  }
  return spec;
}

/** The keys allowed under `path` (`[]` = top level). */
export function keysAt(path: readonly string[]): Readonly<Record<string, KeySpec>> | undefined {
  if (path.length === 0) return personaKeys;
  return specAt(path)?.children;
}

export function describeKind(spec: KeySpec): string {
  switch (spec.kind) {
    case 'string':
      return spec.values ? `one of ${spec.values.map((v) => `\`${v}\``).join(', ')}` : 'text';
    case 'number':
    case 'integer': {
      const range = spec.min !== undefined && spec.max !== undefined ? ` from ${spec.min} to ${spec.max}` : '';
      return `${spec.kind === 'integer' ? 'a whole number' : 'a number'}${range}`;
    }
    case 'boolean':
      return '`true` or `false`';
    case 'string-list':
      return 'a list of text';
    case 'role-map':
      return 'a map of room → role';
    case 'object':
      return spec.shorthand ? `a map (or just the ${spec.shorthand})` : 'a map';
  }
}

/** Edit distance, for "did you mean" suggestions. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = levenshtein(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
function levenshtein(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}
