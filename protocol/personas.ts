/**
 * Personas between the extension (client) and the mesh server, declared once and imported by both.
 * Each comment says which way it travels. A persona is a `*.persona.md` file: YAML front matter
 * (see server/src/personas/schema.ts for every key) and a Markdown body, the system prompt.
 *
 * `personaParams` checks the params of the client's persona methods where they enter the server
 * (check.ts); the persona files themselves are checked by server/src/personas/schema.ts.
 */
import { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';
import { boolean, list, object, text, type Check } from './check';

/** The brains (LLM back ends) a persona can use. */
export const brainProviders = ['librarian', 'openai', 'llama', 'vscode-lm'] as const;
export type BrainProvider = (typeof brainProviders)[number];

/** Roles a persona can hold in a room. */
export const roomRoles = ['expert', 'learner', 'moderator', 'observer', 'member'] as const;
export type RoomRole = (typeof roomRoles)[number];

export interface BrainConfig {
  provider: BrainProvider;
  /** llama: a GGUF path (relative to the persona file) or `hf:<owner>/<repo>/<file>.gguf`; openai / vscode-lm: a model name. */
  model?: string;
  /** openai: an OpenAI-compatible endpoint, e.g. `http://localhost:11434/v1`. */
  baseUrl?: string;
  temperature?: number;
  maxTokens?: number;
  contextSize?: number;
  threads?: number;
  seed?: number;
  timeoutSeconds?: number;
  /** llama: scale of every genome LoRA adapter of the persona (else each manifest's scale, else 1). */
  loraScale?: number;
}

export interface ParticipationConfig {
  /** Answer only when @mentioned (never bid on other messages). */
  mentionsOnly: boolean;
  /** Replies of this persona per minute, in all rooms together. */
  maxRepliesPerMinute: number;
  /** Quiet time after a reply in the same room. Mentions by a human are answered anyway, once the minute allows. */
  cooldownSeconds: number;
  /** Longest chain of persona-to-persona replies this persona will extend. */
  maxChainDepth: number;
}

export const personaLimits = {
  /** A persona id (`^[a-z0-9][a-z0-9_-]{0,63}$`, server/src/personas/schema.ts). */
  maxIdChars: 64,
  /** A display name (as the mesh directory takes it). */
  maxNameChars: 200,
  /** Folders of each kind the client sends (workspace folders, `personaMesh.personaFolders`). */
  maxFolders: 1000,
  maxFolderChars: 4096,
} as const;

export const defaultParticipation: ParticipationConfig = { mentionsOnly: false, maxRepliesPerMinute: 6, cooldownSeconds: 5, maxChainDepth: 2 };

/** A persona as parsed from its file (with defaults filled in). */
export interface PersonaDefinition {
  id: string;
  name: string;
  description?: string;
  brain: BrainConfig;
  capabilities: string[];
  triggers: string[];
  /** room id → role. */
  rooms: Record<string, RoomRole>;
  participation: ParticipationConfig;
  genomes: string[];
  /** Folders (relative to the persona file, or absolute) the librarian indexes besides the workspace. */
  knowledge: string[];
  /** The Markdown body. */
  systemPrompt: string;
  /** Absolute path of the file. */
  file: string;
}

export interface Position {
  /** 0-based, as in LSP. */
  line: number;
  /** 0-based UTF-16 offset in the line, as in LSP. */
  character: number;
}

export interface PersonaProblem {
  range: { start: Position; end: Position };
  severity: 'error' | 'warning' | 'info';
  /** Stable code, e.g. `unknown-key`, `wrong-type`, `unknown-provider`, `missing-model`, `duplicate-id`. */
  code: string;
  message: string;
}

export type PersonaState = 'online' | 'busy' | 'degraded' | 'disabled';

/** What the Personas view shows of one persona, local or remote. */
export interface PersonaSummary {
  id: string;
  name: string;
  description?: string;
  /** Node hosting the persona (runs its brain). */
  nodeId: string;
  local: boolean;
  provider: BrainProvider;
  model?: string;
  capabilities: string[];
  rooms: string[];
  state: PersonaState;
  /** Why the persona is degraded or disabled, one line. */
  reason?: string;
  /** Local personas: the absolute path of the file. */
  file?: string;
}

/** client → server: every persona this node knows (local and remote). */
export namespace ListPersonasRequest {
  export const method = 'mesh/personas/list';
  export const type = new RequestType0<PersonaSummary[], void>(method);
}

/** server → client: the persona list or a persona's state changed. */
export namespace PersonasChangedNotification {
  export const method = 'mesh/personas/changed';
  export const type = new NotificationType<PersonaSummary[]>(method);
}

export interface PersonaFoldersParams {
  /** The workspace folders (absolute paths); `.mesh/personas/` under each is loaded. */
  workspaceFolders: string[];
  /** `personaMesh.personaFolders`, absolute. */
  extraFolders: string[];
}

/** client → server: where persona files live (at start and whenever folders or the setting change). */
export namespace SetPersonaFoldersNotification {
  export const method = 'mesh/personas/setFolders';
  export const type = new NotificationType<PersonaFoldersParams>(method);
}

/** client → server: disable or re-enable a local persona (it leaves or rejoins its rooms). */
export namespace SetPersonaEnabledRequest {
  export const method = 'mesh/personas/setEnabled';
  export const type = new RequestType<{ id: string; enabled: boolean }, PersonaSummary, void>(method);
}

/** client → server: the commented template the "New Persona" command writes. */
export namespace PersonaTemplateRequest {
  export const method = 'mesh/personas/template';
  export const type = new RequestType<{ id: string; name: string }, { text: string }, void>(method);
}

export interface LanguageModelChatParams {
  /** Chosen by the server; chunks and cancellation refer to it. */
  requestId: string;
  /** A vscode.lm selector family or id; empty picks the first available model. */
  model?: string;
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
}

/**
 * server → client: run a chat on one of the editor's models (the `vscode-lm` brain). The client
 * answers when the model is selected (or fails with a one-line reason) and streams the text with
 * {@link LanguageModelChunkNotification}.
 */
export namespace LanguageModelChatRequest {
  export const method = 'mesh/personas/lm/chat';
  export const type = new RequestType<LanguageModelChatParams, { model: string }, void>(method);
}

/** client → server: a piece of a `vscode-lm` reply; `done` closes it, `error` fails it. */
export namespace LanguageModelChunkNotification {
  export const method = 'mesh/personas/lm/chunk';
  export const type = new NotificationType<{ requestId: string; text: string; done?: boolean; error?: string }>(method);
}

/** server → client: stop a `vscode-lm` reply (the answer was cancelled). */
export namespace LanguageModelCancelNotification {
  export const method = 'mesh/personas/lm/cancel';
  export const type = new NotificationType<{ requestId: string }>(method);
}

/**
 * server → client: the API key of an `openai` persona's endpoint, kept in the editor's
 * SecretStorage (set with "Persona Mesh: Set Persona API Key"); undefined when none is set.
 */
export namespace PersonaApiKeyRequest {
  export const method = 'mesh/personas/apiKey';
  export const type = new RequestType<{ personaId: string; baseUrl?: string }, string | null, void>(method);
}

export interface ModelDownloadProgress {
  /** The persona file's reference, `hf:<owner>/<repo>/<file>.gguf`. */
  model: string;
  downloadedBytes: number;
  /** 0 while the size is not known yet. */
  totalBytes: number;
  state: 'downloading' | 'done' | 'failed' | 'cancelled';
  /** Failed or cancelled: why, in one line. */
  message?: string;
}

/** server → client: an `hf:` model is being downloaded for a llama persona (throttled), and how it ended. */
export namespace ModelDownloadNotification {
  export const method = 'mesh/personas/modelDownload';
  export const type = new NotificationType<ModelDownloadProgress>(method);
}

/** client → server: the user cancelled a model download (its partial file stays for a resume). */
export namespace CancelModelDownloadRequest {
  export const method = 'mesh/personas/cancelModelDownload';
  export const type = new RequestType<{ model: string }, { cancelled: boolean }, void>(method);
}

/** The params of CancelModelDownloadRequest (served by server/src/node/rpcHandlers.ts): the model as the persona file names it. */
export const modelDownloadParams = {
  cancel: object({ model: text({ max: 4096, singleLine: true }) }, { model: 'the model' }),
};

// ---------------------------------------------------------------- checkers of the params

const personaId = text({ max: personaLimits.maxIdChars, singleLine: true });
/** Paths as the editor gives them. An empty entry (an odd `personaFolders` setting) is let through: refusing it would drop the whole list. */
const folders = list(text({ max: personaLimits.maxFolderChars, allowEmpty: true }), personaLimits.maxFolders, 'a folder');

export const personaParams = {
  setEnabled: object({ id: personaId, enabled: boolean }, { id: 'the persona id' }),
  template: object({ id: personaId, name: text({ max: personaLimits.maxNameChars, allowEmpty: true }) }, { id: 'the persona id', name: 'the name' }),
  setFolders: object({ workspaceFolders: folders, extraFolders: folders }, { workspaceFolders: 'the workspace folders', extraFolders: 'the persona folders' }),
} satisfies { setEnabled: Check<{ id: string; enabled: boolean }>; template: Check<{ id: string; name: string }>; setFolders: Check<PersonaFoldersParams> };
