/** Checks of signals received from the mesh (untrusted input) and recorded locally. */
import { overLimit } from '../../../protocol/sizeLimit';
import { academyLimits, signalCategories, signalSources, type PersonaRef, type Signal } from '../../../protocol/academy';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function shortText(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length <= max;
}

const idPattern = /^[0-9a-f]{64}$/;

function personaProblem(value: unknown, name: string): string | undefined {
  if (!isRecord(value)) return `${name} is missing`;
  const persona = value as Partial<PersonaRef>;
  if (!shortText(persona.nodeId, 100) || persona.nodeId.length === 0) return `${name}.nodeId is not a node id`;
  if (!shortText(persona.personaId, 100) || persona.personaId.length === 0 || persona.personaId.includes('/')) return `${name}.personaId is not a persona id`;
  if (!shortText(persona.name, 200)) return `${name}.name is not a name`;
  return undefined;
}

/** Why a value is not a well-formed signal, or undefined when it is (signature not checked here). */
export function signalProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'not an object';
  const s = value as Partial<Signal>;
  if (typeof s.id !== 'string' || !idPattern.test(s.id)) return 'bad id';
  const persona = personaProblem(s.persona, 'persona');
  if (persona) return persona;
  if (!shortText(s.room, 200) || s.room.length === 0) return 'bad room';
  if (s.messageId !== undefined && !shortText(s.messageId, 200)) return 'bad messageId';
  if (s.promptId !== undefined && !shortText(s.promptId, 200)) return 'bad promptId';
  if (!(signalCategories as readonly unknown[]).includes(s.category)) return 'unknown category';
  if (!(signalSources as readonly unknown[]).includes(s.source)) return 'unknown source';
  if (typeof s.value !== 'number' || !Number.isFinite(s.value) || s.value < -1 || s.value > 1) return 'value outside [-1, 1]';
  if (s.reason !== undefined && !shortText(s.reason, academyLimits.maxReasonChars)) return 'reason too long';
  if (!isRecord(s.context) || typeof s.context.input !== 'string') return 'bad context';
  for (const field of ['input', 'expected', 'actual', 'suggestion'] as const) {
    const text = s.context[field];
    if (text !== undefined && !shortText(text, academyLimits.maxContextChars)) return `context.${field} too long`;
  }
  if (typeof s.ts !== 'number' || !Number.isSafeInteger(s.ts) || s.ts < 0) return 'bad ts';
  if (s.slot !== undefined && !shortText(s.slot, 400)) return 'bad slot';
  if (s.withdrawn !== undefined && typeof s.withdrawn !== 'boolean') return 'bad withdrawn';
  if (s.opponent !== undefined) {
    const opponent = personaProblem(s.opponent, 'opponent');
    if (opponent) return opponent;
  }
  if (!shortText(s.signer, 100) || !shortText(s.signerKey, 64) || !shortText(s.signature, 128)) return 'bad signer';
  const length = JSON.stringify(value).length;
  if (length > academyLimits.maxSignalBytes) return `too large: ${overLimit(length, academyLimits.maxSignalBytes, 'characters of JSON')}`;
  return undefined;
}

/** Cuts a context text to the limit (keeping its start). */
export function clip(text: string, max: number = academyLimits.maxContextChars): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
